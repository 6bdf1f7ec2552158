import { describe, expect, it } from 'vitest'
import FastqStats from './FastqStats.vue'
import { chartNames, chartOption, factsOf, mountStats } from './testing'

const boxes = {
  p10: [20, 22, 10],
  q1: [28, 30, 15],
  median: [32, 34, 20],
  q3: [36, 37, 30],
  p90: [38, 40, 36],
}

describe('FastqStats', () => {
  it('draws FastQC boxes per position with the mean line over them', () => {
    const wrapper = mountStats(FastqStats, {
      reads: 12,
      mean_length: 6280.64,
      per_position_mean_quality: [31.5, 33.2, 21.9],
      per_position_quality: boxes,
    })
    expect(factsOf(wrapper)['Mean length']).toBe('6,280.6')
    expect(chartNames(wrapper)).toEqual(['Quality per position'])
    const option = chartOption(wrapper, 'Quality per position')
    const [box, mean] = option.series
    expect(box.type).toBe('boxplot')
    // low whisker (10 %), Q1, median, Q3, high whisker (90 %) for position 1, 2, 3
    expect(box.data).toEqual([
      [20, 28, 32, 36, 38],
      [22, 30, 34, 37, 40],
      [10, 15, 20, 30, 36],
    ])
    expect(mean.type).toBe('line')
    expect(mean.data).toEqual([31.5, 33.2, 21.9])
    expect(option.xAxis.data).toEqual([1, 2, 3])
    // The axis ends on a tick: no "40" crowded by a "41" at the top.
    expect(option.yAxis.max % option.yAxis.interval).toBe(0)
    expect(option.yAxis.max).toBeGreaterThan(40)
  })

  it('falls back to the mean line alone for files read before the boxes existed', () => {
    const wrapper = mountStats(FastqStats, {
      per_position_mean_quality: [30, 31],
      per_position_quality: { ...boxes, p10: [1] },
    })
    const option = chartOption(wrapper, 'Quality per position')
    expect(option.series).toHaveLength(1)
    expect(option.series[0].type).toBe('line')
    expect(option.series[0].markArea.data).toHaveLength(3)
  })
})
