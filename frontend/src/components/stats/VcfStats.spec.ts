import { describe, expect, it } from 'vitest'
import VcfStats from './VcfStats.vue'
import { chartNames, factsOf, mountStats } from './testing'

describe('VcfStats', () => {
  it('lists at most 100 samples and says how many more there are', () => {
    const samples = Array.from({ length: 1234 }, (_, i) => `S${i}`)
    const wrapper = mountStats(VcfStats, { records: 5000, samples, snps: 4000, ts_tv: 2.1 })
    expect(factsOf(wrapper)).toMatchObject({ Records: '5,000', Samples: '1,234', 'Ts/Tv': '2.10' })
    expect(wrapper.findAll('.el-tag')).toHaveLength(100)
    expect(wrapper.text()).toContain('and 1,134 more')
    expect(chartNames(wrapper)).toEqual(['Variant types'])
  })
})
