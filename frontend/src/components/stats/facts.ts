/**
 * Reading a file's `stats` JSON for the per-format statistics components: every key is
 * optional (older files may lack some), numbers come out formatted for humans with the exact
 * value kept for the hover title.
 */
import type { EChartsCoreOption } from 'echarts/core'
import {
  barOption,
  gcHistogramOption,
  histogramBins,
  lengthHistogramOption,
  numbers,
} from '@/utils/charts'
import { formatDecimal, formatNumber, formatPercent } from '@/utils/format'

export type Stats = Record<string, unknown>

export interface Fact {
  label: string
  text: string
  exact?: string
}

export interface Chart {
  title: string
  option: EChartsCoreOption
}

export type FactKind = 'count' | 'decimal' | 'percent' | 'text' | 'yesno'

export function num(stats: Stats, key: string): number | null {
  const v = stats[key]
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}

export function list(stats: Stats, key: string): string[] {
  const v = stats[key]
  return Array.isArray(v) ? v.map(String) : []
}

export function has(stats: Stats, key: string): boolean {
  return stats[key] !== undefined && stats[key] !== null
}

export function fact(
  stats: Stats,
  label: string,
  key: string,
  kind: FactKind = 'count',
): Fact | null {
  const raw = stats[key]
  if (raw === undefined || raw === null || raw === '') return null
  if (kind === 'text') return { label, text: String(raw) }
  if (kind === 'yesno') return { label, text: raw ? 'yes' : 'no' }
  const value = num(stats, key)
  if (value === null) return { label, text: String(raw) }
  if (kind === 'percent') return { label, text: formatPercent(value), exact: String(value) }
  if (kind === 'decimal') return { label, text: formatDecimal(value), exact: String(value) }
  return { label, text: formatNumber(value), exact: String(value) }
}

export function facts(...items: (Fact | null)[]): Fact[] {
  return items.filter((f): f is Fact => f !== null)
}

/** The charts that have data to show, in order. */
export function charts(...items: (Chart | null)[]): Chart[] {
  return items.filter((c): c is Chart => c !== null)
}

/** A length histogram (`key` holds its bins), or null without bins. */
export function lengthChart(stats: Stats, key: string, title: string, xName: string): Chart | null {
  const bins = histogramBins(stats[key])
  return bins.length ? { title, option: lengthHistogramOption(bins, xName) } : null
}

/** A GC-content histogram (`key` holds counts per percent), or null without counts. */
export function gcChart(stats: Stats, key: string, title: string, yName: string): Chart | null {
  const counts = numbers(stats[key])
  return counts.length ? { title, option: gcHistogramOption(counts, yName) } : null
}

/** Bars of (label, count) pairs, or null without any. */
export function barChart(
  title: string,
  bars: [string, number][],
  xName: string,
  yName: string,
): Chart | null {
  if (!bars.length) return null
  const option = barOption(
    bars.map((b) => b[0]),
    bars.map((b) => b[1]),
    xName,
    yName,
  )
  return { title, option }
}

/** Which statistics component reads a file: by its format, else by the keys it has. */
export type StatsKind = 'fastq' | 'fasta' | 'vcf' | 'bam' | 'h5ad' | 'other'

export function statsKind(fileFormat: string | null | undefined, s: Stats): StatsKind {
  const fmt = (fileFormat || '').toUpperCase()
  if (fmt.startsWith('FASTQ') || 'per_position_mean_quality' in s || 'q30_percent' in s) {
    return 'fastq'
  }
  if (fmt.startsWith('FASTA') || 'n50' in s || 'sequences' in s) return 'fasta'
  if (fmt === 'VCF' || fmt === 'BCF' || 'ts_tv' in s || 'snps' in s) return 'vcf'
  if (['BAM', 'SAM', 'CRAM'].includes(fmt) || 'mapped' in s || 'sort_order' in s) return 'bam'
  if (fmt === 'H5AD' || 'n_obs' in s) return 'h5ad'
  return 'other'
}

/** Keys about the extraction itself, not about the content. */
export const BOOKKEEPING_KEYS = ['truncated', 'bytes_covered']
