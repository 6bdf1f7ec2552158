import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import { mockFetch } from '@/test/http'
import type { CellxgeneStatus, Publication } from '@/api/cellxgene'
import CellxgeneView from './CellxgeneView.vue'

function publication(overrides: Partial<Publication> = {}): Publication {
  return {
    id: 1,
    file: 7,
    dataset: 'pbmc.h5ad',
    status: 'queued',
    url: '/cellxgene/1/',
    embedding: null,
    error: null,
    log_tail: null,
    restarts: 0,
    created_at: '2026-01-01T10:00:00Z',
    ready_at: null,
    finished_at: null,
    last_used_at: null,
    ...overrides,
  }
}

function status(overrides: Partial<CellxgeneStatus> = {}): CellxgeneStatus {
  return {
    running: false,
    ready: false,
    dataset: null,
    file: null,
    url: null,
    started_at: null,
    error: null,
    publication: null,
    ...overrides,
  }
}

async function mountAt(path: string) {
  setActivePinia(createPinia())
  const router = createRouter({ history: createMemoryHistory(), routes })
  await router.push(path)
  const wrapper = mount(CellxgeneView, {
    global: { plugins: [router, ElementPlus] },
    attachTo: document.body,
  })
  await flushPromises()
  return { wrapper, router }
}

beforeEach(() => {
  document.body.innerHTML = ''
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('CellxgeneView', () => {
  it('shows the mask with the current step while the publication runs', async () => {
    const { calls } = mockFetch({
      'GET /api/cellxgene/status/': {
        body: status({ publication: publication({ status: 'embedding' }) }),
      },
    })
    const { wrapper } = await mountAt('/cellxgene-app?file=7')
    expect(calls[0]!.url).toBe('/api/cellxgene/status/?file=7')
    const mask = wrapper.find('[role="status"]')
    expect(mask.exists()).toBe(true)
    expect(mask.attributes('aria-label')).toBe('Publishing progress')
    expect(mask.text()).toContain('Preparing pbmc.h5ad for cellxgene')
    const steps = wrapper.findAll('.el-step__title').map((s) => s.text())
    expect(steps).toEqual(['Copying', 'Embedding', 'Starting', 'Ready'])
    expect(wrapper.find('.el-step .is-success').exists()).toBe(true) // copying done
    expect(wrapper.find('iframe').exists()).toBe(false)
    wrapper.unmount()
  })

  it("polls until the dataset's own viewer names it, then embeds that viewer", async () => {
    vi.useFakeTimers()
    let viewerAnswers = false
    const { calls } = mockFetch({
      'GET /api/cellxgene/status/': {
        body: status({
          running: true,
          ready: true,
          dataset: 'pbmc.h5ad',
          file: 7,
          url: '/cellxgene/1/',
          publication: publication({ status: 'ready' }),
        }),
      },
      'GET /cellxgene/1/api/v0.2/config': () =>
        viewerAnswers
          ? { body: { config: { displayNames: { dataset: 'pbmc.h5ad' } } } }
          : { status: 503, body: { detail: 'starting', code: 'viewer_starting' } },
    })
    const { wrapper } = await mountAt('/cellxgene-app?file=7')
    expect(wrapper.find('iframe').exists()).toBe(false)
    expect(wrapper.find('[role="status"]').text()).toContain('Waiting for the viewer')
    viewerAnswers = true
    await vi.advanceTimersByTimeAsync(1100)
    await flushPromises()
    const frame = wrapper.find('iframe')
    expect(frame.exists()).toBe(true)
    expect(frame.attributes('src')).toBe('/cellxgene/1/')
    expect(frame.attributes('title')).toBe('Cellxgene viewer: pbmc.h5ad')
    expect(wrapper.find('[role="status"]').exists()).toBe(false)
    const configCalls = calls.filter((c) => c.url.startsWith('/cellxgene/')).length
    await vi.advanceTimersByTimeAsync(5000)
    expect(calls.filter((c) => c.url.startsWith('/cellxgene/')).length).toBe(configCalls) // stopped
    wrapper.unmount()
  })

  it('starts a stopped dataset again and shows the steps meanwhile', async () => {
    const { calls } = mockFetch({
      'GET /api/cellxgene/status/': {
        body: status({
          dataset: 'pbmc.h5ad',
          file: 7,
          publication: publication({ status: 'stopped' }),
        }),
      },
      'POST /api/cellxgene/publications/1/open/': {
        status: 202,
        body: publication({ status: 'queued', restarts: 1 }),
      },
    })
    const { wrapper } = await mountAt('/cellxgene-app?file=7')
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.url)).toEqual([
      '/api/cellxgene/publications/1/open/',
    ])
    const mask = wrapper.find('[role="status"]')
    expect(mask.text()).toContain('Preparing pbmc.h5ad for cellxgene')
    expect(mask.text()).toContain('Starting the viewer again')
    wrapper.unmount()
  })

  it('explains a failure and shows the log', async () => {
    mockFetch({
      'GET /api/cellxgene/status/': {
        body: status({
          dataset: 'pbmc.h5ad',
          file: 7,
          error: 'cellxgene exited (code 1) before serving the dataset.',
          publication: publication({
            status: 'failed',
            error: 'cellxgene exited (code 1) before serving the dataset.',
            log_tail: 'KeyError: Values in obs.index must be unique.',
          }),
        }),
      },
    })
    const { wrapper } = await mountAt('/cellxgene-app?file=7')
    const alert = wrapper.find('[role="alert"]')
    expect(alert.text()).toContain('Cellxgene could not show pbmc.h5ad')
    expect(alert.text()).toContain('cellxgene exited (code 1)')
    expect(wrapper.find('.log-tail pre').text()).toContain('must be unique')
    expect(wrapper.find('[role="status"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it("sends the top bar link to the user's latest publication", async () => {
    mockFetch({
      'GET /api/cellxgene/status/': (call) =>
        call.url.includes('file=')
          ? { body: status({ publication: publication({ status: 'starting' }) }) }
          : { body: status({ dataset: 'pbmc.h5ad', file: 7, publication: publication() }) },
    })
    const { wrapper, router } = await mountAt('/cellxgene-app')
    await flushPromises()
    expect(router.currentRoute.value.query.file).toBe('7')
    wrapper.unmount()
  })

  it('welcomes when nothing was published', async () => {
    mockFetch({ 'GET /api/cellxgene/status/': { body: status() } })
    const { wrapper } = await mountAt('/cellxgene-app')
    expect(wrapper.text()).toContain("You haven't sent a dataset to cellxgene yet.")
    expect(wrapper.text()).toContain('Send to Cellxgene')
    wrapper.unmount()
  })
})
