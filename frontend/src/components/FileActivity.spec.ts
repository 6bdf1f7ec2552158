import { describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import { mockFetch } from '@/test/http'
import { auditEvent } from '@/test/fixtures'
import FileActivity from './FileActivity.vue'

describe('FileActivity', () => {
  it("lists the file's events and loads more pages", async () => {
    const { calls } = mockFetch({
      'GET /api/audit/': (call) =>
        call.url.includes('page=1&')
          ? {
              body: {
                count: 2,
                next: '/api/audit/?page=2',
                previous: null,
                results: [auditEvent()],
              },
            }
          : {
              body: {
                count: 2,
                next: null,
                previous: null,
                results: [auditEvent({ id: 40, action: 'file.upload', details: {} })],
              },
            },
    })
    const router = createRouter({ history: createMemoryHistory(), routes })
    const wrapper = mount(FileActivity, {
      props: { fileId: 100 },
      global: { plugins: [ElementPlus, router] },
    })
    await flushPromises()
    expect(calls[0].url).toBe('/api/audit/?object_type=file&object_id=100&page=1&page_size=25')
    expect(wrapper.findAll('tbody tr')).toHaveLength(1)
    const more = wrapper.findAll('button').find((b) => b.text() === 'Load more')!
    await more.trigger('click')
    await flushPromises()
    expect(calls[1].url).toContain('page=2')
    expect(wrapper.findAll('tbody tr').map((r) => r.text())).toEqual([
      expect.stringContaining('file.update'),
      expect.stringContaining('file.upload'),
    ])
    expect(wrapper.findAll('button').some((b) => b.text() === 'Load more')).toBe(false)
    wrapper.unmount()
  })
})
