/**
 * ECharts options for the statistics plots, built from the `stats` the backend extracts.
 * Pure functions (type-only echarts import), so they are tested without a canvas.
 */
import type { EChartsCoreOption } from 'echarts/core'

export interface HistogramBin {
  start: number
  end: number
  count: number
}

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 })

const GRID = { left: 56, right: 16, top: 16, bottom: 40, containLabel: false }

function axisName(name: string, gap = 28) {
  return { name, nameLocation: 'middle' as const, nameGap: gap }
}

/** Numbers only; anything else (null, strings) is left out. */
export function numbers(value: unknown): number[] {
  return Array.isArray(value) ? value.filter((v): v is number => typeof v === 'number') : []
}

export function histogramBins(value: unknown): HistogramBin[] {
  if (!Array.isArray(value)) return []
  return value.filter(
    (b): b is HistogramBin =>
      b != null &&
      typeof b === 'object' &&
      typeof (b as HistogramBin).start === 'number' &&
      typeof (b as HistogramBin).end === 'number' &&
      typeof (b as HistogramBin).count === 'number',
  )
}

/** Per position: the 10th, 25th, 50th, 75th and 90th percentile of the quality (FastQC's box). */
export interface QualityBoxes {
  p10: number[]
  q1: number[]
  median: number[]
  q3: number[]
  p90: number[]
}

const BOX_KEYS = ['p10', 'q1', 'median', 'q3', 'p90'] as const

/** The parser's `per_position_quality`, or null when it is missing or does not fit `length`. */
export function qualityBoxes(value: unknown, length: number): QualityBoxes | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null
  const v = value as Record<string, unknown>
  const out = {} as QualityBoxes
  for (const key of BOX_KEYS) {
    const column = numbers(v[key])
    if (column.length !== length) return null
    out[key] = column
  }
  return out
}

/** The top of the quality axis: a multiple of 5 above the data, so no tick label crowds another. */
export function qualityAxisTop(highest: number): number {
  return Math.max(40, Math.ceil((Math.max(0, highest) + 1) / 5) * 5)
}

/**
 * Phred quality per read position (1-based) on red / amber / green bands, as FastQC draws it:
 * a box per position (quartiles, the median as its middle line, whiskers from the 10th to the
 * 90th percentile) when the parser gave them, and the mean as a line.
 */
export function qualityPerPositionOption(
  means: number[],
  boxes: QualityBoxes | null = null,
): EChartsCoreOption {
  const top = qualityAxisTop(Math.max(0, ...means, ...(boxes?.p90 ?? [])))
  const band = (from: number, to: number, color: string) => [
    { yAxis: from, itemStyle: { color } },
    { yAxis: to },
  ]
  const bands = {
    silent: true,
    data: [
      band(0, 20, 'rgba(245, 108, 108, 0.15)'),
      band(20, 30, 'rgba(230, 162, 60, 0.15)'),
      band(30, top, 'rgba(103, 194, 58, 0.15)'),
    ],
  }
  const meanLine = {
    name: 'Mean quality',
    type: 'line',
    data: means,
    showSymbol: !boxes && means.length <= 60,
    lineStyle: { width: 2, color: '#409eff' },
    itemStyle: { color: '#409eff' },
    z: 3,
  }
  const series: Record<string, unknown>[] = []
  if (boxes) {
    series.push({
      name: 'Quality (10–90 %, quartiles, median)',
      type: 'boxplot',
      // ECharts draws [low whisker, Q1, median, Q3, high whisker].
      data: means.map((_, i) => BOX_KEYS.map((key) => boxes[key][i])),
      itemStyle: { color: '#f5d76e', borderColor: '#8a6d00' },
      boxWidth: [1, '70%'],
      markArea: bands,
    })
    series.push(meanLine)
  } else {
    series.push({ ...meanLine, markArea: bands })
  }
  const positionLabel = (i: number) => `Position ${i + 1}`
  return {
    animation: false,
    grid: { ...GRID, top: boxes ? 32 : GRID.top },
    legend: boxes ? { top: 0, right: 8, itemHeight: 10, textStyle: { fontSize: 11 } } : undefined,
    tooltip: {
      trigger: 'axis',
      formatter: (params: unknown) => {
        const items = (Array.isArray(params) ? params : [params]) as {
          dataIndex: number
          seriesType?: string
        }[]
        const i = items[0]?.dataIndex ?? 0
        const lines = [positionLabel(i), `Mean ${means[i]?.toFixed(1) ?? '—'}`]
        if (boxes) {
          lines.push(
            `Median ${boxes.median[i]}`,
            `Quartiles ${boxes.q1[i]}–${boxes.q3[i]}`,
            `10–90 % ${boxes.p10[i]}–${boxes.p90[i]}`,
          )
        }
        return lines.join('<br>')
      },
    },
    xAxis: {
      type: 'category',
      data: means.map((_, i) => i + 1),
      axisLabel: { hideOverlap: true },
      ...axisName('Position in read (bp)'),
    },
    yAxis: {
      type: 'value',
      min: 0,
      max: top,
      interval: top > 50 ? 10 : 5,
      axisLabel: { hideOverlap: true },
      ...axisName('Quality (Phred)', 36),
    },
    series,
  }
}

/** Label of a histogram bin: "150" for one value, "100–149" for a range. */
export function binLabel(bin: HistogramBin): string {
  return bin.end <= bin.start || bin.end - bin.start <= 1
    ? numberFormat.format(bin.start)
    : `${numberFormat.format(bin.start)}–${numberFormat.format(bin.end)}`
}

/** Counts per length bin. */
export function lengthHistogramOption(bins: HistogramBin[], xName: string): EChartsCoreOption {
  return barOption(
    bins.map(binLabel),
    bins.map((b) => b.count),
    xName,
    'Count',
  )
}

/** 101 counts for GC % 0 … 100. */
export function gcHistogramOption(counts: number[], yName: string): EChartsCoreOption {
  return barOption(
    counts.map((_, i) => i),
    counts,
    'GC content (%)',
    yName,
  )
}

export function barOption(
  labels: (string | number)[],
  values: number[],
  xName: string,
  yName: string,
): EChartsCoreOption {
  return {
    animation: false,
    grid: { ...GRID, left: 64 },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      valueFormatter: (v: unknown) => (typeof v === 'number' ? numberFormat.format(v) : String(v)),
    },
    xAxis: { type: 'category', data: labels, ...axisName(xName) },
    yAxis: { type: 'value', ...axisName(yName, 48) },
    series: [{ name: yName, type: 'bar', data: values, barMaxWidth: 40 }],
  }
}
