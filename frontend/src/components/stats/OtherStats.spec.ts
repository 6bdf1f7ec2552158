import { describe, expect, it } from 'vitest'
import OtherStats from './OtherStats.vue'
import { mountStats } from './testing'

describe('OtherStats', () => {
  it('shows every key but the bookkeeping ones, numbers with separators', () => {
    const wrapper = mountStats(OtherStats, {
      line_count: 123456,
      encoding: 'utf-8',
      empty: '',
      truncated: true,
      bytes_covered: 10,
    })
    const rows = wrapper.findAll('tr').map((r) => [r.find('th').text(), r.find('td').text()])
    expect(rows).toEqual([
      ['Line count', '123,456'],
      ['Encoding', 'utf-8'],
      ['Empty', '—'],
    ])
  })
})
