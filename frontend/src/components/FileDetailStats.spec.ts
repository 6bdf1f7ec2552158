import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { mockFetch } from '@/test/http'
import { dataFile } from '@/test/fixtures'
import type { DataFile } from '@/api/types'
import FileDetailStats from './FileDetailStats.vue'
import { chartNames, chartOption, factsOf as facts, EChartStub } from './stats/testing'

afterEach(() => {
  vi.useRealTimers()
})

function mountStats(file: DataFile, canEdit = false) {
  return mount(FileDetailStats, {
    props: { file, canEdit },
    global: { plugins: [ElementPlus], stubs: { EChart: EChartStub } },
  })
}

const fastqStats = {
  reads: 3412908,
  bases: 512000000,
  min_length: 35,
  max_length: 151,
  mean_length: 150.2,
  gc_percent: 41.62,
  n_percent: 0.01,
  mean_quality: 35.4,
  q20_percent: 97.1,
  q30_percent: 91.3,
  quality_encoding: 'Sanger / Illumina 1.8+',
  per_position_mean_quality: [32, 33.5, 18, 25],
  length_histogram: [
    { start: 35, end: 100, count: 10 },
    { start: 150, end: 151, count: 3412898 },
  ],
  gc_content_histogram: Array.from({ length: 101 }, (_, i) => (i === 41 ? 100 : 0)),
}

describe('FileDetailStats', () => {
  it('shows FASTQ numbers for humans and its three plots', () => {
    const wrapper = mountStats(dataFile({ file_format: 'FASTQ', stats: fastqStats }))
    const f = facts(wrapper)
    expect(f.Reads).toBe('3,412,908')
    expect(f['GC content']).toBe('41.6 %')
    expect(f['Bases ≥ Q30']).toBe('91.3 %')
    expect(f['Quality encoding']).toBe('Sanger / Illumina 1.8+')
    expect(wrapper.find('.fact dd').attributes('title')).toBe('3412908')
    expect(chartNames(wrapper)).toEqual([
      'Quality per position',
      'Read length distribution',
      'GC content per read',
    ])
    const quality = chartOption(wrapper, 'Quality per position')
    expect(quality.xAxis.data).toEqual([1, 2, 3, 4])
    expect(quality.series[0].data).toEqual([32, 33.5, 18, 25])
    const bands = quality.series[0].markArea.data.map((b: { yAxis: number }[]) => [
      b[0].yAxis,
      b[1].yAxis,
    ])
    expect(bands.slice(0, 2)).toEqual([
      [0, 20],
      [20, 30],
    ])
    expect(bands[2][0]).toBe(30)
    const lengths = chartOption(wrapper, 'Read length distribution')
    expect(lengths.xAxis.data).toEqual(['35–100', '150'])
  })

  it('copes with a FASTQ that has only some of the keys', () => {
    const wrapper = mountStats(dataFile({ file_format: 'FASTQ', stats: { reads: 10 } }))
    expect(facts(wrapper)).toEqual({ Reads: '10' })
    expect(chartNames(wrapper)).toEqual([])
  })

  it('shows FASTA summary and histograms', () => {
    const wrapper = mountStats(
      dataFile({
        file_format: 'FASTA',
        stats: {
          sequences: 2,
          total_length: 3000,
          n50: 2000,
          gc_percent: 50,
          n_count: 4,
          length_histogram: [{ start: 1000, end: 2000, count: 2 }],
          gc_content_histogram: Array(101).fill(0),
        },
      }),
    )
    expect(facts(wrapper)).toMatchObject({ Sequences: '2', N50: '2,000', 'N bases': '4' })
    expect(chartNames(wrapper)).toEqual(['Sequence length distribution', 'GC content per sequence'])
  })

  it('shows VCF variant types, samples and records per contig', () => {
    const wrapper = mountStats(
      dataFile({
        file_format: 'VCF',
        stats: {
          records: 120,
          samples: ['NA12878', 'NA12891'],
          snps: 100,
          indels: 15,
          mnps: 3,
          others: 2,
          multiallelic: 4,
          pass: 110,
          contigs: { chr1: 70, chr2: 50 },
          ts_tv: 2.0512,
        },
      }),
    )
    expect(facts(wrapper)).toMatchObject({ Records: '120', Samples: '2', 'Ts/Tv': '2.05' })
    expect(wrapper.text()).toContain('NA12891')
    expect(chartNames(wrapper)).toEqual(['Variant types', 'Records per contig'])
    const contigs = chartOption(wrapper, 'Records per contig')
    expect(contigs.xAxis.data).toEqual(['chr1', 'chr2'])
    expect(contigs.series[0].data).toEqual([70, 50])
  })

  it('shows BAM header tables and flag counts with shares', () => {
    const wrapper = mountStats(
      dataFile({
        file_format: 'BAM',
        stats: {
          header: {
            HD: { VN: '1.6', SO: 'coordinate' },
            SQ: [
              { SN: 'chr1', LN: 248956422 },
              { SN: 'chr2', LN: 242193529 },
            ],
            RG: [{ ID: 'rg1', SM: 'S1' }],
            PG: [{ ID: 'bwa', PN: 'bwa', VN: '0.7.17' }],
            CO: ['made by hand'],
          },
          references: 2,
          reads: 1000,
          mapped: 950,
          unmapped: 50,
          duplicates: 10,
          sort_order: 'coordinate',
          indexed: true,
        },
      }),
    )
    expect(facts(wrapper)).toEqual({
      'Reference sequences': '2',
      'Sort order': 'coordinate',
      Indexed: 'yes',
    })
    const flags = wrapper
      .findAll('table[aria-labelledby="flag-counts"] tbody tr')
      .map((r) => r.findAll('th, td').map((c) => c.text()))
    expect(flags).toEqual([
      ['Reads', '1,000', '100.0 %'],
      ['Mapped', '950', '95.0 %'],
      ['Unmapped', '50', '5.0 %'],
      ['Duplicates', '10', '1.0 %'],
    ])
    expect(wrapper.find('table[aria-label="Reference sequences (SQ)"]').text()).toContain(
      '248,956,422',
    )
    expect(wrapper.find('table[aria-label="Header line (HD)"]').text()).toContain('coordinate')
    expect(wrapper.find('table[aria-label="Read groups (RG)"]').text()).toContain('rg1')
    expect(wrapper.find('table[aria-label="Programs (PG)"]').text()).toContain('0.7.17')
    expect(wrapper.text()).toContain('made by hand')
    expect(chartNames(wrapper)).toEqual([])
  })

  it('shows the shape and key lists of an H5AD file', () => {
    const wrapper = mountStats(
      dataFile({
        file_format: 'H5AD',
        stats: {
          n_obs: 2700,
          n_vars: 32738,
          obs_columns: ['n_genes', 'louvain'],
          var_columns: ['gene_ids'],
          obsm_keys: ['X_umap', 'X_pca'],
          layers: [],
          uns_keys: ['louvain_colors'],
        },
      }),
    )
    expect(facts(wrapper)['Shape (n_obs × n_vars)']).toBe('2,700 observations × 32,738 variables')
    const sections = wrapper.findAll('.stats-section').map((s) => s.text())
    expect(sections).toContain('Embeddings (obsm)X_umapX_pca')
    expect(sections).toContain('Layersnone')
  })

  it('says when the extraction failed or covered only part of the file', () => {
    const failed = mountStats(
      dataFile({ parse_status: 'failed', parse_error: 'This is not a valid BAM file.', stats: {} }),
    )
    expect(failed.text()).toContain('This is not a valid BAM file.')
    const partial = mountStats(
      dataFile({
        size: 5_000_000_000,
        stats: { ...fastqStats, truncated: true, bytes_covered: 1_000_000_000 },
      }),
    )
    expect(partial.text()).toContain(
      'These statistics cover only the first 1.0 GB of the file (5.0 GB in all)',
    )
  })

  it('re-runs the extraction and polls until the file is read', async () => {
    vi.useFakeTimers()
    let reads = 0
    const { calls } = mockFetch({
      'POST /api/files/100/reparse/': {
        status: 202,
        body: dataFile({ parse_status: 'pending', stats: {} }),
      },
      'GET /api/files/100/': () => {
        reads += 1
        return reads < 2
          ? { body: dataFile({ parse_status: 'running', stats: {} }) }
          : { body: dataFile({ parse_status: 'done', file_format: 'FASTQ', stats: fastqStats }) }
      },
    })
    const wrapper = mountStats(dataFile({ parse_status: 'done', stats: {} }), true)
    const button = wrapper.findAll('button').find((b) => b.text() === 'Re-run extraction')!
    await button.trigger('click')
    await flushPromises()
    expect(wrapper.find('.parse-status').text()).toBe('pending')
    expect(wrapper.emitted('updated')).toHaveLength(1)

    await vi.advanceTimersByTimeAsync(2000)
    await flushPromises()
    expect(wrapper.find('.parse-status').text()).toBe('running')
    await vi.advanceTimersByTimeAsync(2000)
    await flushPromises()
    expect(wrapper.find('.parse-status').text()).toBe('done')
    expect(chartNames(wrapper)).toContain('Quality per position')
    // no more polling once done
    await vi.advanceTimersByTimeAsync(10000)
    expect(calls.filter((c) => c.method === 'GET')).toHaveLength(2)
    expect(wrapper.emitted('updated')!.map((e) => (e[0] as DataFile).parse_status)).toEqual([
      'pending',
      'running',
      'done',
    ])
    wrapper.unmount()
  })

  it('counts the references and follows the index build after the parse', async () => {
    vi.useFakeTimers()
    const bam = {
      references: [
        { name: 'chr1', length: 248956422 },
        { name: 'chr2', length: 242193529 },
      ],
      reads: 1000,
      mapped: 950,
      sort_order: 'coordinate',
      indexed: false,
      index_status: 'pending',
    }
    let reads = 0
    const { calls } = mockFetch({
      'GET /api/files/100/': () => {
        reads += 1
        return reads < 2
          ? { body: dataFile({ file_format: 'BAM', stats: { ...bam, index_status: 'running' } }) }
          : {
              body: dataFile({
                file_format: 'BAM',
                stats: { ...bam, indexed: true, index_status: 'done' },
              }),
            }
      },
    })
    const wrapper = mountStats(dataFile({ file_format: 'BAM', parse_status: 'done', stats: bam }))
    expect(facts(wrapper)).toEqual({
      'Reference sequences': '2',
      'Sort order': 'coordinate',
      Indexed: 'being built…',
    })
    await vi.advanceTimersByTimeAsync(2000)
    await flushPromises()
    expect(facts(wrapper).Indexed).toBe('being built…')
    await vi.advanceTimersByTimeAsync(2000)
    await flushPromises()
    expect(facts(wrapper).Indexed).toBe('yes')
    await vi.advanceTimersByTimeAsync(10000)
    expect(calls).toHaveLength(2)
    expect(wrapper.emitted('updated')).toBeUndefined()
    wrapper.unmount()

    const failed = mountStats(
      dataFile({
        file_format: 'BAM',
        stats: {
          ...bam,
          index_status: 'failed',
          index_error: 'NO_COOR reads not in a single block',
        },
      }),
    )
    const dd = failed
      .findAll('.fact')
      .find((f) => f.find('dt').text() === 'Indexed')!
      .find('dd')
    expect(dd.text()).toBe('no (building it failed)')
    expect(dd.attributes('title')).toBe('NO_COOR reads not in a single block')
  })

  it('hides Re-run extraction from people who may not edit', () => {
    const wrapper = mountStats(dataFile(), false)
    expect(wrapper.findAll('button').some((b) => b.text() === 'Re-run extraction')).toBe(false)
  })
})
