import { describe, expect, it } from 'vitest'
import { accessInfo } from '@/test/fixtures'
import { describeEffectiveLevel, levelOptions } from './access'

describe('access words', () => {
  it('says where the effective level is set', () => {
    expect(describeEffectiveLevel(accessInfo())).toBe('Restricted — set on folder “raw”')
    expect(
      describeEffectiveLevel(
        accessInfo({
          access_level: 'inherit',
          effective_access_level: 'internal',
          source: { type: 'project', id: 1, name: 'Liver atlas', access_level: 'internal' },
        }),
      ),
    ).toBe('Internal — inherited from project “Liver atlas”')
  })

  it('offers "inherit" to folders and files only', () => {
    expect(levelOptions('project').map((o) => o.value)).toEqual([
      'public',
      'internal',
      'restricted',
    ])
    expect(levelOptions('file')[0]).toEqual({ value: 'inherit', label: 'Inherit from parent' })
  })
})
