/**
 * Pure helpers for the analysis gateway's SPA parts: which analyses fit a file, task and QC
 * status words and colours, metric formatting and the UMAP preview's ECharts option.
 */
import type { EChartsCoreOption } from 'echarts/core'
import type { LayoutPreview, QcMetric, QcStatus, TaskStatus, TaskType } from '@/api/ml'

export interface AnalysisChoice {
  taskType: TaskType
  label: string
  /** Why it is not offered for this file, or '' when it is. */
  disabledReason: string
}

const QC_FORMATS = new Set(['fastq', 'bam', 'sam', 'cram', 'vcf', 'bcf'])
const TEXT_FORMATS = new Set(['text', 'csv', 'tsv', 'json', ''])

const NAME_FORMATS: [RegExp, string][] = [
  [/\.(fastq|fq)(\.gz|\.bgz)?$/i, 'fastq'],
  [/\.(bam|sam|cram)$/i, 'bam'],
  [/\.(vcf|bcf)(\.gz|\.bgz)?$/i, 'vcf'],
  [/\.h5ad$/i, 'h5ad'],
  [/\.(txt|md|csv|tsv|json|log)$/i, 'text'],
]

/** The detected format, or (before detection ran) a guess from the name; the server decides. */
export function formatOf(file: { name: string; file_format: string }): string {
  if (file.file_format) return file.file_format.toLowerCase()
  return NAME_FORMATS.find(([pattern]) => pattern.test(file.name))?.[1] ?? ''
}

/** What the Analyse menu offers for a file (in menu order), with reasons for the rest. */
export function analysesFor(file: { name: string; file_format: string }): AnalysisChoice[] {
  const format = formatOf(file)
  const isH5ad = format === 'h5ad' || file.name.toLowerCase().endsWith('.h5ad')
  return [
    {
      taskType: 'qc',
      label: 'Quality control',
      disabledReason: QC_FORMATS.has(format)
        ? ''
        : 'Quality control reads FASTQ, BAM and VCF files',
    },
    { taskType: 'autotag', label: 'Suggest metadata', disabledReason: '' },
    {
      taskType: 'summary',
      label: 'Summarise text',
      disabledReason:
        TEXT_FORMATS.has(format) && !isH5ad ? '' : 'Summaries are made from text files',
    },
    { taskType: 'embedding', label: 'Find similar files', disabledReason: '' },
    {
      taskType: 'h5ad_vis',
      label: 'Single-cell layout (UMAP)',
      disabledReason: isH5ad ? '' : 'Layouts are computed for .h5ad files',
    },
  ]
}

export function isFinished(status: TaskStatus): boolean {
  return status === 'done' || status === 'failed'
}

const STATUS_WORDS: Record<TaskStatus, string> = {
  pending: 'Waiting',
  queued: 'Queued',
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
}

export function statusWord(status: TaskStatus): string {
  return STATUS_WORDS[status] ?? status
}

type TagType = 'success' | 'warning' | 'danger' | 'info' | 'primary'

export function statusTagType(status: TaskStatus): TagType {
  if (status === 'done') return 'success'
  if (status === 'failed') return 'danger'
  if (status === 'running') return 'primary'
  return 'info'
}

export function qcTagType(status: QcStatus): TagType {
  if (status === 'pass') return 'success'
  if (status === 'warn') return 'warning'
  if (status === 'fail') return 'danger'
  return 'info'
}

const metricNumber = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 })

export function formatMetric(metric: Pick<QcMetric, 'value' | 'unit'>): string {
  if (metric.value === null || metric.value === undefined) return '—'
  const number = metricNumber.format(metric.value)
  if (metric.unit === '%') return `${number} %`
  return metric.unit ? `${number} ${metric.unit}` : number
}

/** "pass ≥ 28, fail < 20"-style words for a metric's thresholds. */
export function thresholdWords(
  metric: Pick<QcMetric, 'warn' | 'fail' | 'better' | 'unit'>,
): string {
  const unit = metric.unit === '%' ? ' %' : ''
  return metric.better === 'higher'
    ? `pass ≥ ${metric.warn}${unit}, fail < ${metric.fail}${unit}`
    : `pass ≤ ${metric.warn}${unit}, fail > ${metric.fail}${unit}`
}

/** A confidence (0–1) as a whole percentage. */
export function formatConfidence(confidence: number): string {
  return `${Math.round(confidence * 100)} %`
}

/** Kelly's 20 colours of maximum contrast (white and black left out), then more by hue. */
const DISTINCT = [
  '#f3c300',
  '#875692',
  '#f38400',
  '#a1caf1',
  '#be0032',
  '#c2b280',
  '#848482',
  '#008856',
  '#e68fac',
  '#0067a5',
  '#f99379',
  '#604e97',
  '#f6a600',
  '#b3446c',
  '#dcd300',
  '#882d17',
  '#8db600',
  '#654522',
  '#e25822',
  '#2b3d26',
]

/** `n` colours, no two alike: the distinct palette first, then hues a golden angle apart. */
export function categoryColors(n: number): string[] {
  const colors = DISTINCT.slice(0, n)
  for (let i = colors.length; i < n; i++) {
    const hue = Math.round((i * 137.508) % 360)
    const light = [45, 62, 35][i % 3]
    colors.push(`hsl(${hue}, 70%, ${light}%)`)
  }
  return colors
}

/** ECharts scatter of a layout preview; one series per category when labels are present. */
export function layoutOption(preview: LayoutPreview): EChartsCoreOption {
  const categories = preview.categories ?? []
  const labels = preview.label ?? []
  const groups: number[][][] = categories.length ? categories.map(() => []) : [[]]
  preview.x.forEach((x, i) => {
    const group = categories.length ? (labels[i] ?? -1) : 0
    if (group >= 0 && group < groups.length) groups[group]!.push([x, preview.y[i]!])
  })
  const axis = (name: string) => ({
    type: 'value' as const,
    name,
    nameLocation: 'middle' as const,
    nameGap: 24,
    scale: true,
    axisLabel: { show: false },
    axisLine: { onZero: false },
    splitLine: { show: false },
  })
  const name = preview.embedding.replace(/^X_/, '').toUpperCase()
  return {
    animation: false,
    color: categoryColors(Math.max(1, categories.length)),
    grid: { left: 40, right: categories.length ? 230 : 16, top: 16, bottom: 40 },
    tooltip: { trigger: 'item' },
    legend: categories.length
      ? { type: 'scroll', orient: 'vertical', right: 0, top: 16, bottom: 16 }
      : undefined,
    xAxis: axis(`${name} 1`),
    yAxis: axis(`${name} 2`),
    series: groups.map((data, i) => ({
      name: categories[i] ?? 'cells',
      type: 'scatter',
      symbolSize: 4,
      large: data.length > 2000,
      data,
    })),
  }
}
