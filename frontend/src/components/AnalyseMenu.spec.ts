import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import { mockFetch } from '@/test/http'
import AnalyseMenu from './AnalyseMenu.vue'

vi.mock('element-plus', async (importOriginal) => {
  const actual = await importOriginal<typeof import('element-plus')>()
  return { ...actual, ElMessage: { success: vi.fn(), error: vi.fn() } }
})

describe('AnalyseMenu', () => {
  it('queues the chosen analysis and opens the task list on it', async () => {
    const { calls } = mockFetch({
      'POST /api/ml/trigger/': { status: 202, body: { task_id: 42, status: 'queued' } },
    })
    const router = createRouter({ history: createMemoryHistory(), routes })
    await router.push('/files/100')
    const wrapper = mount(AnalyseMenu, {
      props: { file: { id: 100, name: 'reads.fastq', file_format: 'fastq' } },
      global: { plugins: [router, ElementPlus] },
      attachTo: document.body,
    })
    expect(wrapper.find('button').text()).toBe('Analyse')
    await wrapper.find('button').trigger('click')
    await flushPromises()
    const items = [...document.body.querySelectorAll('.el-dropdown-menu__item')]
    expect(items.map((i) => i.textContent?.trim())).toEqual([
      'Quality control',
      'Suggest metadata',
      'Summarise text',
      'Find similar files',
      'Single-cell layout (UMAP)',
    ])
    expect(items[2]!.getAttribute('aria-disabled')).toBe('true')
    ;(items[0] as HTMLElement).click()
    await flushPromises()
    expect(calls.at(-1)).toMatchObject({
      method: 'POST',
      body: { task_type: 'qc', file_id: 100, params: {} },
    })
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/tasks?task=42'))
    wrapper.unmount()
  })
})
