import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import { FakeUpload } from '@/test/tus'
import { mockFetch } from '@/test/http'
import { useUploadsStore } from '@/stores/uploads'
import { REGISTRY_KEY } from '@/utils/uploadRegistry'
import UploadPanel from './UploadPanel.vue'

vi.mock('tus-js-client', async () => ({ Upload: (await import('@/test/tus')).FakeUpload }))

const URL_A = 'http://localhost:3000/api/uploads/aaaa/'

async function mountPanel() {
  const pinia = createPinia()
  setActivePinia(pinia)
  const router = createRouter({ history: createMemoryHistory(), routes })
  const wrapper = mount(UploadPanel, {
    global: { plugins: [pinia, router, ElementPlus] },
    attachTo: document.body,
  })
  await flushPromises()
  return wrapper
}

function row(wrapper: Awaited<ReturnType<typeof mountPanel>>, name: string) {
  const found = wrapper.findAll('[role="listitem"]').find((li) => li.text().includes(name))
  if (!found) throw new Error(`no row for ${name}`)
  return found
}

function buttons(li: ReturnType<typeof row>): string[] {
  return li.findAll('button').map((b) => b.text())
}

beforeEach(() => {
  document.body.innerHTML = ''
  localStorage.clear()
  FakeUpload.instances = []
})

describe('UploadPanel', () => {
  it('shows one list item per file with Pause / Resume / Cancel by state', async () => {
    mockFetch({})
    const wrapper = await mountPanel()
    const uploads = useUploadsStore()
    uploads.enqueue(
      [new File(['abc'], 'reads_1.fq'), new File(['de'], 'reads_2.fq')],
      1,
      10,
      'Liver atlas/raw',
    )
    await flushPromises()
    const first = row(wrapper, 'reads_1.fq')
    expect(first.text()).toContain('to Liver atlas/raw')
    expect(first.text()).toContain('Uploading')
    expect(buttons(first)).toEqual(['Pause', 'Cancel'])

    await first.findAll('button')[0].trigger('click')
    expect(row(wrapper, 'reads_1.fq').text()).toContain('Paused')
    expect(buttons(row(wrapper, 'reads_1.fq'))).toEqual(['Resume', 'Cancel'])

    FakeUpload.instances[1].options.onShouldRetry!(
      { originalRequest: {}, originalResponse: null },
      1,
      {},
    )
    await flushPromises()
    expect(row(wrapper, 'reads_2.fq').text()).toContain('Retrying (attempt 2 of 5)')
    expect(row(wrapper, 'reads_2.fq').text()).toContain('The connection dropped; retrying.')
    wrapper.unmount()
  })

  it('lists interrupted uploads and resumes one with the file chosen again', async () => {
    localStorage.setItem(
      REGISTRY_KEY,
      JSON.stringify([
        {
          uploadUrl: URL_A,
          filename: 'big.bam',
          size: 3,
          type: '',
          project: 1,
          folder: null,
          target: 'Liver atlas',
          createdAt: '',
        },
      ]),
    )
    mockFetch({
      'GET /api/uploads/aaaa/status/': {
        body: { id: 'aaaa', offset: 1, length: 3, state: 'active', file: null, error: '' },
      },
    })
    const wrapper = await mountPanel()
    useUploadsStore().panelOpen = true
    await flushPromises()
    const li = row(wrapper, 'big.bam')
    expect(li.text()).toContain('Interrupted')
    expect(li.text()).toContain('33 %')
    expect(buttons(li)).toEqual(['Resume', 'Cancel'])

    const input = li.find('input[type="file"]')
    const chooser = vi.spyOn(input.element as HTMLInputElement, 'click')
    await li.findAll('button')[0].trigger('click')
    expect(chooser).toHaveBeenCalled()

    Object.defineProperty(input.element, 'files', {
      value: [new File(['xyz'], 'big.bam')],
      configurable: true,
    })
    await input.trigger('change')
    await flushPromises()
    expect(FakeUpload.instances[0].options.uploadUrl).toBe(URL_A)
    expect(row(wrapper, 'big.bam').text()).toContain('Uploading')
    wrapper.unmount()
  })
})
