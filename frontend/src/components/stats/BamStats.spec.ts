import { describe, expect, it } from 'vitest'
import BamStats from './BamStats.vue'
import { factsOf, mountStats } from './testing'

describe('BamStats', () => {
  it('cuts long reference lists and counts what was left out', () => {
    const SQ = Array.from({ length: 60 }, (_, i) => ({ SN: `contig${i}`, LN: 1000 + i }))
    const wrapper = mountStats(BamStats, {
      header: { SQ },
      references: 60,
      reads: 0,
      mapped: 0,
    })
    expect(factsOf(wrapper)['Reference sequences']).toBe('60')
    expect(wrapper.findAll('table[aria-label="Reference sequences (SQ)"] tbody tr')).toHaveLength(
      50,
    )
    expect(wrapper.text()).toContain('and 10 more reference sequences.')
    // no reads: shares cannot be computed
    const mapped = wrapper.findAll('table[aria-labelledby="flag-counts"] tbody tr')[1]!
    expect(mapped.findAll('td').map((c) => c.text())).toEqual(['0', '—'])
  })
})
