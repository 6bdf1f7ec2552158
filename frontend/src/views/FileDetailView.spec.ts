import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import { mockFetch, page } from '@/test/http'
import { accessInfo, dataFile, metadataFields, project, user, VIEW_ACTIONS } from '@/test/fixtures'
import { useAuthStore } from '@/stores/auth'
import FileDetailView from './FileDetailView.vue'

vi.mock('element-plus', async (importOriginal) => {
  const actual = await importOriginal<typeof import('element-plus')>()
  return { ...actual, ElMessage: { success: vi.fn(), error: vi.fn() } }
})

function routesFor(role: 'owner' | 'viewer') {
  const permissions = role === 'viewer' ? { my_permissions: VIEW_ACTIONS } : {}
  return {
    'GET /api/files/100/': { body: dataFile(permissions) },
    'GET /api/metadata/fields/': { body: { fields: metadataFields, access_levels: [] } },
    'GET /api/projects/1/': { body: project({ my_role: role }) },
    'GET /api/folders/': { body: page([]) },
    'GET /api/files/': { body: page([]) },
    'GET /api/files/100/access/': {
      body: accessInfo({ object_type: 'file', object: 100, name: 'sample1.fastq.gz' }),
    },
    'GET /api/grants/': { body: page([]) },
  }
}

async function mountFile(signedIn = true) {
  const pinia = createPinia()
  setActivePinia(pinia)
  const auth = useAuthStore()
  auth.user = signedIn ? user : null
  auth.checked = true
  const router = createRouter({ history: createMemoryHistory(), routes })
  await router.push('/files/100')
  const wrapper = mount(FileDetailView, {
    global: { plugins: [pinia, router, ElementPlus] },
    attachTo: document.body,
  })
  await flushPromises()
  return wrapper
}

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('FileDetailView', () => {
  it('has Activity and Access tabs and shares the file with project owners', async () => {
    mockFetch(routesFor('owner'))
    const wrapper = await mountFile()
    const tabs = wrapper.findAll('[role="tab"]').map((t) => t.text())
    expect(tabs).toEqual(['Metadata', 'Statistics', 'Activity', 'Access'])
    expect(wrapper.findAll('button').some((b) => b.text() === 'Analyse')).toBe(true)
    const share = wrapper.findAll('button').find((b) => b.text() === 'Share')!
    expect(share.attributes('disabled')).toBeUndefined()
    await share.trigger('click')
    await flushPromises()
    expect(document.body.textContent).toContain('Share “sample1.fastq.gz”')
    // the page behind the modal is hidden from assistive technology (one "Save" to find)
    expect(wrapper.find('section.file-detail').attributes('aria-hidden')).toBe('true')
    wrapper.unmount()
  })

  it('sends an .h5ad file to cellxgene and follows the publication', async () => {
    const routes = routesFor('viewer')
    routes['GET /api/files/100/'] = { body: dataFile({ name: 'pbmc.h5ad' }) }
    const { calls } = mockFetch({
      ...routes,
      'POST /api/cellxgene/publish/': {
        status: 202,
        body: {
          status: 'queued',
          dataset: 'pbmc.h5ad',
          url: '/cellxgene/1/',
          publication: 1,
          file: 100,
        },
      },
      'GET /api/cellxgene/status/': { body: { running: false, publication: null } },
    })
    const wrapper = await mountFile()
    const send = wrapper.findAll('button').find((b) => b.text() === 'Send to Cellxgene')!
    await send.trigger('click')
    await flushPromises()
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({ file: 100 })
    const router = (wrapper.vm as unknown as { $router: import('vue-router').Router }).$router
    // the lazily loaded viewer takes its time to import on a busy machine
    await vi.waitFor(
      () => expect(router.currentRoute.value.fullPath).toBe('/cellxgene-app?file=100'),
      { timeout: 15_000 },
    )
    wrapper.unmount()
  })

  it('shows the verdict of the last quality control', async () => {
    const routes = routesFor('viewer')
    routes['GET /api/files/100/'] = { body: dataFile({ tags: ['lane1', 'qc:warn'] }) }
    mockFetch(routes)
    const wrapper = await mountFile()
    expect(wrapper.find('.qc-flag').text()).toBe('QC warn')
    wrapper.unmount()
  })

  it('offers Send to Cellxgene only for .h5ad files', async () => {
    mockFetch(routesFor('owner'))
    const wrapper = await mountFile()
    expect(wrapper.findAll('button').some((b) => b.text() === 'Send to Cellxgene')).toBe(false)
    wrapper.unmount()
  })

  it('has a Genome view tab for BAM, CRAM and VCF files', async () => {
    mockFetch({
      ...routesFor('owner'),
      'GET /api/files/100/': { body: dataFile({ name: 'sample1.bam', file_format: 'bam' }) },
    })
    const wrapper = await mountFile()
    const tabs = wrapper.findAll('[role="tab"]').map((t) => t.text())
    expect(tabs).toEqual(['Metadata', 'Statistics', 'Genome view', 'Activity', 'Access'])
    wrapper.unmount()
  })

  it('keeps Share disabled, with the reason, for people who are not owners', async () => {
    mockFetch(routesFor('viewer'))
    const wrapper = await mountFile()
    const share = wrapper.findAll('button').find((b) => b.text() === 'Share')!
    expect(share.attributes('disabled')).toBeDefined()
    expect(share.attributes('title')).toBe("Only the project's owners can change this")
    // Save stays disabled, with the reason as its tooltip
    const save = wrapper.findAll('button').find((b) => b.text() === 'Save')!
    expect(save.attributes('disabled')).toBeDefined()
    expect(save.element.parentElement!.getAttribute('title')).toContain('You can only view this')
    wrapper.unmount()
  })

  it('shows a public file to anonymous visitors without the signed-in tools', async () => {
    mockFetch(routesFor('viewer'))
    const wrapper = await mountFile(false)
    expect(wrapper.find('h1').text()).toBe('sample1.fastq.gz')
    expect(wrapper.findAll('[role="tab"]').map((t) => t.text())).toEqual(['Metadata', 'Statistics'])
    expect(wrapper.findAll('button').some((b) => b.text() === 'Share')).toBe(false)
    expect(wrapper.find('a.download-button').attributes('href')).toBe('/api/files/100/download/')
    wrapper.unmount()
  })
})
