import { describe, expect, it } from 'vitest'
import FastaStats from './FastaStats.vue'
import { chartNames, chartOption, factsOf, mountStats } from './testing'

describe('FastaStats', () => {
  it('shows the summary with separators and the two histograms', () => {
    const wrapper = mountStats(FastaStats, {
      sequences: 1200,
      total_length: 3_100_000,
      mean_length: 2583.33,
      n50: 4000,
      length_histogram: [{ start: 1000, end: 5000, count: 1200 }],
      gc_content_histogram: Array(101).fill(1),
    })
    expect(factsOf(wrapper)).toMatchObject({
      Sequences: '1,200',
      'Total length': '3,100,000',
      'Mean length': '2,583.3',
      N50: '4,000',
    })
    expect(chartNames(wrapper)).toEqual(['Sequence length distribution', 'GC content per sequence'])
    expect(chartOption(wrapper, 'Sequence length distribution').xAxis.data).toEqual(['1,000–5,000'])
  })
})
