import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus, { ElMessage } from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { controlByLabel } from '@/test/dom'
import { mockFetch, page, type Call } from '@/test/http'
import { dataFile, folder, project } from '@/test/fixtures'
import type { NcbiImport } from '@/api/ncbi'
import { useWorkspaceStore } from '@/stores/workspace'
import NcbiImportDialog from './NcbiImportDialog.vue'

vi.mock('element-plus', async (importOriginal) => {
  const actual = await importOriginal<typeof import('element-plus')>()
  return { ...actual, ElMessage: { success: vi.fn(), error: vi.fn() } }
})

function ncbiImport(overrides: Partial<NcbiImport> = {}): NcbiImport {
  return {
    id: 7,
    accession: '22294463',
    kind: 'pubmed',
    status: 'done',
    file: 100,
    files: [100],
    metadata: { data_type: 'document' },
    summary: {},
    progress: { bytes: 900, total: 900, percent: 100 },
    error: '',
    project: 1,
    folder: 10,
    source_url: 'PMID:22294463',
    status_url: '/api/files/ncbi/import/22294463/status/?kind=pubmed&project=1&folder=10',
    created_at: '2026-11-25T10:00:00Z',
    updated_at: '2026-11-25T10:00:00Z',
    ...overrides,
  }
}

const PUBMED_PREVIEW = {
  kind: 'pubmed',
  kind_label: 'PubMed',
  accession: '22294463',
  background: false,
  summary: {
    title: 'Known and potential roles of transferrin in iron biology.',
    journal: 'Biometals',
    authors: ['Bartnikas TB'],
  },
}

async function mountDialog(inFolder = true) {
  const pinia = createPinia()
  setActivePinia(pinia)
  const workspace = useWorkspaceStore()
  workspace.project = project()
  workspace.folder = inFolder ? folder() : null
  const wrapper = mount(NcbiImportDialog, {
    props: {
      modelValue: true,
      debounceMs: 0,
      pollMs: 0,
      'onUpdate:modelValue': (value: boolean) => wrapper.setProps({ modelValue: value }),
    },
    global: { plugins: [pinia, ElementPlus] },
    attachTo: document.body,
  })
  await flushPromises()
  return { wrapper, workspace }
}

function button(name: string): HTMLButtonElement {
  const found = Array.from(document.querySelectorAll('button')).find(
    (b) => b.textContent?.trim() === name,
  )
  if (!found) throw new Error(`no button "${name}"`)
  return found
}

async function paste(text: string): Promise<void> {
  const input = controlByLabel('NCBI link or accession')
  input.value = text
  input.dispatchEvent(new Event('input'))
  await flushPromises()
  await new Promise((resolve) => setTimeout(resolve, 5))
  await flushPromises()
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 2))
    await flushPromises()
  }
}

beforeEach(() => {
  document.body.innerHTML = ''
  vi.mocked(ElMessage.success).mockClear()
})

describe('NcbiImportDialog', () => {
  it('previews a pasted link, imports it into the folder and refreshes the table', async () => {
    const { calls } = mockFetch({
      'GET /api/files/ncbi/preview/': { body: PUBMED_PREVIEW },
      'POST /api/files/ncbi/import/': { status: 201, body: ncbiImport() },
      'GET /api/files/': { body: page([dataFile({ name: 'PMID_22294463.txt' })]) },
    })
    const { wrapper, workspace } = await mountDialog()
    expect(button('Import').disabled).toBe(true)
    await paste('https://pubmed.ncbi.nlm.nih.gov/22294463/')
    const preview = document.querySelector('[data-testid="ncbi-preview"]')!
    expect(preview.textContent).toContain('PubMed article')
    expect(preview.textContent).toContain('Known and potential roles of transferrin')
    expect(preview.textContent).toContain('Biometals')
    expect(button('Import').disabled).toBe(false)

    button('Import').click()
    await settle()
    const post = calls.find((c: Call) => c.method === 'POST')!
    expect(post.body).toEqual({
      url: 'https://pubmed.ncbi.nlm.nih.gov/22294463/',
      parent_folder: 10,
    })
    expect(workspace.files.map((f) => f.name)).toEqual(['PMID_22294463.txt'])
    expect(ElMessage.success).toHaveBeenCalledWith('Imported 22294463')
    expect(wrapper.props('modelValue')).toBe(false)
    wrapper.unmount()
  })

  it('imports into the project root when no folder is open', async () => {
    const { calls } = mockFetch({
      'GET /api/files/ncbi/preview/': { body: PUBMED_PREVIEW },
      'POST /api/files/ncbi/import/': { status: 201, body: ncbiImport({ folder: null }) },
      'GET /api/files/': { body: page([]) },
    })
    const { wrapper } = await mountDialog(false)
    await paste('PMID:22294463')
    button('Import').click()
    await settle()
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({
      url: 'PMID:22294463',
      project: 1,
    })
    wrapper.unmount()
  })

  it('says what is supported when the text is not a link', async () => {
    mockFetch({
      'GET /api/files/ncbi/preview/': {
        status: 400,
        body: { detail: 'This is not an NCBI link. Supported: PMID:…', code: 'unsupported_link' },
      },
    })
    const { wrapper } = await mountDialog()
    await paste('hello')
    expect(document.body.textContent).toContain('This is not an NCBI link. Supported: PMID:…')
    expect(button('Import').disabled).toBe(true)
    wrapper.unmount()
  })

  it('follows a background SRA download until its files are stored', async () => {
    const statuses = [
      ncbiImport({ kind: 'sra', accession: 'SRR25056225', status: 'downloading', file: null,
        files: [], progress: { bytes: 100, total: 500, percent: 20 } }),
      ncbiImport({ kind: 'sra', accession: 'SRR25056225', files: [100, 101] }),
    ] // prettier-ignore
    const { calls } = mockFetch({
      'GET /api/files/ncbi/preview/': {
        body: {
          kind: 'sra',
          kind_label: 'SRA',
          accession: 'SRR25056225',
          background: true,
          summary: { title: 'GSM7518069', platform: 'Illumina', runs: ['SRR25056225'] },
        },
      },
      'POST /api/files/ncbi/import/': {
        status: 202,
        body: ncbiImport({ kind: 'sra', accession: 'SRR25056225', status: 'pending', file: null,
          files: [], progress: { bytes: 0, total: null, percent: null } }), // prettier-ignore
      },
      'GET /api/files/ncbi/import/22294463/status/': () => ({ body: statuses.shift() }),
      'GET /api/files/': { body: page([]) },
    })
    const { wrapper } = await mountDialog()
    await paste('SRR25056225')
    expect(document.body.textContent).toContain('download in the background')
    button('Import').click()
    await settle()
    expect(calls.filter((c) => c.url.includes('/status/')).length).toBe(2)
    expect(ElMessage.success).toHaveBeenCalledWith('Imported SRR25056225 (2 files)')
    wrapper.unmount()
  })

  it('shows why an import failed', async () => {
    mockFetch({
      'GET /api/files/ncbi/preview/': { body: PUBMED_PREVIEW },
      'POST /api/files/ncbi/import/': {
        status: 502,
        body: {
          ...ncbiImport({ status: 'failed' }),
          detail: 'NCBI is down',
          code: 'ncbi_unavailable',
        },
      },
    })
    const { wrapper } = await mountDialog()
    await paste('PMID:22294463')
    button('Import').click()
    await settle()
    expect(document.body.textContent).toContain('NCBI is down')
    expect(wrapper.props('modelValue')).toBe(true)
    wrapper.unmount()
  })
})
