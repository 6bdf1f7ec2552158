import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import { mockFetch, page } from '@/test/http'
import { task } from '@/test/fixtures'
import TaskListView from './TaskListView.vue'

async function mountList(path = '/tasks') {
  const router = createRouter({ history: createMemoryHistory(), routes })
  await router.push(path)
  const wrapper = mount(TaskListView, { global: { plugins: [router, ElementPlus] } })
  await flushPromises()
  return wrapper
}

const qcResult = {
  format: 'fastq',
  verdict: 'pass',
  tag: 'qc:pass',
  metrics: [
    {
      metric: 'n_rate',
      label: 'N bases',
      unit: '%',
      value: 0,
      status: 'pass',
      warn: 1,
      fail: 5,
      better: 'lower',
    },
  ],
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('TaskListView', () => {
  it('polls while a task runs and opens the result of ?task= when it is done', async () => {
    let polls = 0
    const { calls } = mockFetch({
      'GET /api/ml/tasks/': () => {
        polls += 1
        return {
          body: page([
            polls < 2
              ? task({ status: 'running', finished_at: null })
              : task({ status: 'done', result: qcResult }),
          ]),
        }
      },
    })
    const wrapper = await mountList('/tasks?task=7')
    expect(wrapper.find('.status').text()).toBe('Running')
    expect(wrapper.text()).toContain('Updating live')
    await vi.advanceTimersByTimeAsync(2100)
    await flushPromises()
    expect(wrapper.find('.status').text()).toBe('Done')
    expect(wrapper.find('.qc-verdict').text()).toBe('QC: pass')
    // Nothing is running any more: polling stops.
    await vi.advanceTimersByTimeAsync(10000)
    expect(calls.filter((c) => c.url.startsWith('/api/ml/tasks/'))).toHaveLength(2)
    wrapper.unmount()
  })

  it('shows a failed task’s reason and an empty list’s hint', async () => {
    mockFetch({
      'GET /api/ml/tasks/': {
        body: page([task({ status: 'failed', error: 'The file is empty.' })]),
      },
    })
    const wrapper = await mountList()
    const toggle = wrapper.findAll('button').find((b) => b.text() === 'Show result')!
    await toggle.trigger('click')
    expect(wrapper.text()).toContain('The file is empty.')
    wrapper.unmount()
    mockFetch({ 'GET /api/ml/tasks/': { body: page([]) } })
    const empty = await mountList()
    expect(empty.text()).toContain('No analyses yet')
  })
})
