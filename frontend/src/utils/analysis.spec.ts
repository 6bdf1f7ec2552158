import { describe, expect, it } from 'vitest'
import {
  analysesFor,
  formatOf,
  formatConfidence,
  formatMetric,
  isFinished,
  categoryColors,
  layoutOption,
  qcTagType,
  statusTagType,
  thresholdWords,
} from './analysis'

describe('analysesFor', () => {
  it('offers QC for reads and disables what does not fit', () => {
    const choices = analysesFor({ name: 'a.fastq.gz', file_format: 'fastq' })
    expect(choices.map((c) => c.taskType)).toEqual([
      'qc',
      'autotag',
      'summary',
      'embedding',
      'h5ad_vis',
    ])
    const enabled = choices.filter((c) => !c.disabledReason).map((c) => c.taskType)
    expect(enabled).toEqual(['qc', 'autotag', 'embedding'])
  })

  it('guesses from the name while the format is not detected yet', () => {
    const choices = analysesFor({ name: 'lane1_R1.fastq.gz', file_format: '' })
    expect(choices.filter((c) => !c.disabledReason).map((c) => c.taskType)).toEqual([
      'qc',
      'autotag',
      'embedding',
    ])
    expect(formatOf({ name: 'notes.md', file_format: '' })).toBe('text')
    expect(formatOf({ name: 'x.bin', file_format: '' })).toBe('')
  })

  it('offers summaries for text and layouts for h5ad', () => {
    const text = analysesFor({ name: 'README.md', file_format: 'text' })
    expect(text.find((c) => c.taskType === 'summary')!.disabledReason).toBe('')
    const h5ad = analysesFor({ name: 'pbmc.h5ad', file_format: 'h5ad' })
    expect(h5ad.find((c) => c.taskType === 'h5ad_vis')!.disabledReason).toBe('')
    expect(h5ad.find((c) => c.taskType === 'qc')!.disabledReason).not.toBe('')
  })
})

describe('status words and colours', () => {
  it('knows finished states and badge types', () => {
    expect(isFinished('done')).toBe(true)
    expect(isFinished('running')).toBe(false)
    expect(statusTagType('failed')).toBe('danger')
    expect(qcTagType('pass')).toBe('success')
    expect(qcTagType('warn')).toBe('warning')
    expect(qcTagType('fail')).toBe('danger')
  })

  it('formats metrics, thresholds and confidences', () => {
    expect(formatMetric({ value: 93.456, unit: '%' })).toBe('93.46 %')
    expect(formatMetric({ value: 2.1, unit: '' })).toBe('2.1')
    expect(formatMetric({ value: null, unit: '%' })).toBe('—')
    expect(thresholdWords({ warn: 28, fail: 20, better: 'higher', unit: 'Phred' })).toBe(
      'pass ≥ 28, fail < 20',
    )
    expect(thresholdWords({ warn: 1, fail: 5, better: 'lower', unit: '%' })).toBe(
      'pass ≤ 1 %, fail > 5 %',
    )
    expect(formatConfidence(0.854)).toBe('85 %')
  })
})

describe('layoutOption', () => {
  it('gives each of many categories its own colour', () => {
    const categories = Array.from({ length: 40 }, (_, i) => `cluster ${i}`)
    const option = layoutOption({
      embedding: 'X_umap',
      x: categories.map((_, i) => i),
      y: categories.map((_, i) => i),
      categories,
      label: categories.map((_, i) => i),
      colour_by: 'leiden',
      points: 40,
      cells: 40,
    }) as { color: string[] }
    expect(option.color).toHaveLength(40)
    expect(new Set(option.color).size).toBe(40)
    expect(categoryColors(3)).toEqual(['#f3c300', '#875692', '#f38400'])
  })

  it('makes one scatter series per category', () => {
    const option = layoutOption({
      embedding: 'X_umap',
      x: [1, 2, 3],
      y: [4, 5, 6],
      categories: ['B', 'T'],
      label: [0, 1, 1],
      colour_by: 'cell_type',
      points: 3,
      cells: 3,
    }) as { series: { name: string; data: number[][] }[]; xAxis: { name: string } }
    expect(option.series.map((s) => s.name)).toEqual(['B', 'T'])
    expect(option.series[1]!.data).toEqual([
      [2, 5],
      [3, 6],
    ])
    expect(option.xAxis.name).toBe('UMAP 1')
  })

  it('draws a single series without labels', () => {
    const option = layoutOption({
      embedding: 'X_umap',
      x: [1],
      y: [2],
      colour_by: null,
      points: 1,
      cells: 1,
    }) as { series: { data: number[][] }[] }
    expect(option.series).toHaveLength(1)
    expect(option.series[0]!.data).toEqual([[1, 2]])
  })
})
