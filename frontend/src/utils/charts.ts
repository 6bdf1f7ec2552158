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

/** Mean Phred quality per read position (1-based), on red / amber / green bands. */
export function qualityPerPositionOption(means: number[]): EChartsCoreOption {
  const top = Math.max(41, Math.ceil(Math.max(0, ...means)) + 1)
  const band = (from: number, to: number, color: string) => [
    { yAxis: from, itemStyle: { color } },
    { yAxis: to },
  ]
  return {
    animation: false,
    grid: GRID,
    tooltip: {
      trigger: 'axis',
      valueFormatter: (v: unknown) => (typeof v === 'number' ? v.toFixed(1) : String(v)),
    },
    xAxis: {
      type: 'category',
      data: means.map((_, i) => i + 1),
      ...axisName('Position in read (bp)'),
    },
    yAxis: { type: 'value', min: 0, max: top, ...axisName('Mean quality (Phred)', 36) },
    series: [
      {
        name: 'Mean quality',
        type: 'line',
        data: means,
        showSymbol: means.length <= 60,
        lineStyle: { width: 2 },
        markArea: {
          silent: true,
          data: [
            band(0, 20, 'rgba(245, 108, 108, 0.15)'),
            band(20, 30, 'rgba(230, 162, 60, 0.15)'),
            band(30, top, 'rgba(103, 194, 58, 0.15)'),
          ],
        },
      },
    ],
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
