import { describe, expect, it } from 'vitest'
import { auditFiltersFromQuery, dayBound, describeObject, summariseDetails } from './audit'

describe('audit utils', () => {
  it('summarises changes and other details', () => {
    expect(summariseDetails({ changes: { access_level: ['internal', 'restricted'] } })).toBe(
      'access_level: internal → restricted',
    )
    expect(summariseDetails({ size: 12, name: 'a.fq' })).toBe('size: 12; name: a.fq')
    expect(summariseDetails({})).toBe('')
    expect(summariseDetails(null)).toBe('')
  })

  it('describes the object of an event', () => {
    expect(describeObject({ object_type: 'file', object_id: '3', object_repr: 'a.fq' })).toBe(
      'file “a.fq” (#3)',
    )
    expect(describeObject({ object_type: 'project', object_id: '1', object_repr: '' })).toBe(
      'project #1',
    )
    expect(describeObject({ object_type: '', object_id: '', object_repr: '' })).toBe('')
  })

  it('turns URL days into whole local days and keeps datetimes', () => {
    expect(dayBound('2026-01-31', false)).toBe(new Date(2026, 0, 31, 0, 0, 0).toISOString())
    expect(dayBound('2026-01-31', true)).toBe(new Date(2026, 0, 31, 23, 59, 59, 999).toISOString())
    expect(dayBound('2026-01-31T10:00:00Z', true)).toBe('2026-01-31T10:00:00Z')
    expect(
      auditFiltersFromQuery({ actor: 'bob', action: '', object_type: ['file', 'x'], page: '2' }),
    ).toEqual({ actor: 'bob', object_type: 'file' })
  })
})
