import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import type { MLTask } from '@/api/ml'
import { mockFetch } from '@/test/http'
import { dataFile, task } from '@/test/fixtures'
import TaskResult from './TaskResult.vue'

vi.mock('element-plus', async (importOriginal) => {
  const actual = await importOriginal<typeof import('element-plus')>()
  return { ...actual, ElMessage: { success: vi.fn(), error: vi.fn() } }
})

function mountResult(t: MLTask) {
  const router = createRouter({ history: createMemoryHistory(), routes })
  return mount(TaskResult, { props: { task: t }, global: { plugins: [router, ElementPlus] } })
}

beforeEach(() => {
  vi.unstubAllGlobals()
})

describe('TaskResult', () => {
  it('shows the QC verdict badge and a row per metric', () => {
    const wrapper = mountResult(
      task({
        result: {
          format: 'fastq',
          verdict: 'fail',
          tag: 'qc:fail',
          metrics: [
            {
              metric: 'n_rate',
              label: 'N bases',
              unit: '%',
              value: 7.9,
              status: 'fail',
              warn: 1,
              fail: 5,
              better: 'lower',
            },
            {
              metric: 'mean_quality',
              label: 'Mean base quality',
              unit: 'Phred',
              value: 30,
              status: 'pass',
              warn: 28,
              fail: 20,
              better: 'higher',
            },
          ],
        },
      }),
    )
    expect(wrapper.find('.qc-verdict').text()).toBe('QC: fail')
    const rows = wrapper.findAll('tbody tr').map((r) => r.text())
    expect(rows[0]).toContain('N bases')
    expect(rows[0]).toContain('7.9 %')
    expect(rows[0]).toContain('fail')
    expect(rows[1]).toContain('pass ≥ 28, fail < 20')
  })

  it('applies a suggested value to the file', async () => {
    const { calls } = mockFetch({
      'PATCH /api/files/100/': { body: dataFile({ platform: 'Illumina' }) },
    })
    const wrapper = mountResult(
      task({
        task_type: 'autotag',
        result: {
          min_confidence: 0.8,
          applied: { read_length: 100 },
          suggestions: [
            {
              field: 'platform',
              label: 'Platform',
              value: 'Illumina',
              confidence: 0.9,
              source: 'read_names',
              evidence: ['read names'],
            },
            {
              field: 'read_length',
              label: 'Read length',
              value: 100,
              confidence: 0.95,
              source: 'content',
              evidence: ['longest read'],
            },
          ],
        },
      }),
    )
    // A value the task already wrote shows as applied; the other has its button.
    expect(wrapper.findAll('button').map((b) => b.attributes('aria-label'))).toEqual([
      'Apply Platform',
    ])
    await wrapper.find('button').trigger('click')
    await flushPromises()
    expect(calls.at(-1)).toMatchObject({ method: 'PATCH', body: { platform: 'Illumina' } })
    expect(wrapper.findAll('button')).toHaveLength(0)
    expect(wrapper.text()).toContain('Applied')
  })

  it('shows the evidence and the automatic value a suggestion would replace', () => {
    const wrapper = mountResult(
      task({
        task_type: 'autotag',
        result: {
          min_confidence: 0.8,
          applied: {},
          suggestions: [
            {
              field: 'organism',
              label: 'Organism',
              value: 'Homo sapiens',
              confidence: 0.8,
              source: 'gene_symbols',
              evidence: ['12 of 12 gene symbols in var_names are upper-case (e.g. CD3E)'],
            },
            {
              field: 'platform',
              label: 'Platform',
              value: 'Illumina',
              confidence: 0.85,
              source: 'text',
              evidence: ['the text names the instrument “NovaSeq 6000”'],
              replaces: 'PacBio',
            },
          ],
        },
      }),
    )
    const rows = wrapper.findAll('table[aria-label="Suggested metadata"] tbody tr')
    expect(rows[0].text()).toContain('Homo sapiens')
    expect(rows[0].text()).toContain('upper-case (e.g. CD3E)')
    expect(rows[0].text()).not.toContain('replaces')
    expect(rows[1].text()).toContain('replaces the automatic “PacBio”')
    expect(rows[1].text()).toContain('NovaSeq 6000')
  })

  it('shows the summary and the similar files', () => {
    const summary = mountResult(
      task({
        task_type: 'summary',
        result: {
          summary: 'We present a toolkit.',
          sentences: [{ index: 2, text: 'We present a toolkit.', score: 0.5 }],
          total_sentences: 7,
          method: 'TF-IDF',
        },
      }),
    )
    expect(summary.find('blockquote').text()).toBe('We present a toolkit.')
    const similar = mountResult(
      task({
        task_type: 'embedding',
        result: {
          model: 'sentence-transformers/all-MiniLM-L6-v2',
          backend: 'minilm',
          dimensions: 384,
          similar: [
            {
              score: 0.91,
              file: {
                id: 5,
                name: 'pbmc_b.h5ad',
                project: 1,
                project_name: 'Atlas',
                file_format: 'h5ad',
                organism: '',
                assay_type: '',
                description: '',
              },
            },
          ],
        },
      }),
    )
    const item = similar.find('ol li')
    expect(item.text()).toContain('pbmc_b.h5ad')
    expect(item.text()).toContain('0.91')
    expect(item.find('a').attributes('href')).toBe('/files/5')
  })
})
