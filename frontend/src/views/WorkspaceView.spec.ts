import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { FakeUpload } from '@/test/tus'
import { mountPageAt } from '@/test/mount'
import { mockFetch, page } from '@/test/http'
import { accessInfo, dataFile, folder, plainFolder, project } from '@/test/fixtures'
import { useUploadsStore } from '@/stores/uploads'
import WorkspaceView from './WorkspaceView.vue'

vi.mock('tus-js-client', async () => ({ Upload: (await import('@/test/tus')).FakeUpload }))

/** A dropped folder as webkitGetAsEntry() gives it: run1/ with a.fq and lane2/b.fq. */
function folderEntry(name: string, children: unknown[]) {
  let read = false
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader: () => ({
      readEntries: (ok: (entries: unknown[]) => void) => {
        ok(read ? [] : children)
        read = true
      },
    }),
  }
}

function fileEntry(file: File) {
  return {
    isFile: true,
    isDirectory: false,
    name: file.name,
    file: (ok: (f: File) => void) => ok(file),
  }
}

function mountAt(path: string) {
  return mountPageAt(WorkspaceView, path)
}

beforeEach(() => {
  document.body.innerHTML = ''
  FakeUpload.instances = []
  localStorage.clear()
})

describe('WorkspaceView', () => {
  it('shows breadcrumb, subfolders and files of the folder', async () => {
    mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/11/': {
        body: folder({ id: 11, parent: 10, name: 'run1', ancestors: [{ id: 10, name: 'raw' }] }),
      },
      'GET /api/folders/': { body: page([plainFolder({ id: 12, parent: 11, name: 'lane1' })]) },
      'GET /api/files/': { body: page([dataFile()]) },
    })
    const { wrapper } = await mountAt('/projects/1/folders/11')
    expect(wrapper.find('.breadcrumb').text()).toContain('Liver atlas›raw›run1')
    const folderLink = wrapper.findAll('table tbody a').find((a) => a.text() === 'lane1')!
    expect(folderLink.attributes('href')).toBe('/projects/1/folders/12')
    expect(wrapper.find('table tbody').text()).toContain('sample1.fastq.gz')
    wrapper.unmount()
  })

  it('says in words when the project cannot be seen', async () => {
    mockFetch({
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
    })
    const { wrapper } = await mountAt('/projects/9')
    expect(wrapper.text()).toContain("doesn't exist or you can't see it — ask its owner")
    wrapper.unmount()
  })

  it('uploads picked and dropped files into the current folder', async () => {
    mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/10/': { body: folder() },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
    })
    const { wrapper } = await mountAt('/projects/1/folders/10')
    const input = wrapper.find('input[type="file"]')
    const picker = vi.spyOn(input.element as HTMLInputElement, 'click')
    await wrapper
      .findAll('button')
      .find((b) => b.text() === 'Upload')!
      .trigger('click')
    expect(picker).toHaveBeenCalled()

    const uploads = useUploadsStore()
    const dropped = new File(['ACGT'], 'dropped.fa')
    await wrapper.find('.workspace').trigger('drop', {
      dataTransfer: { files: [dropped], types: ['Files'] },
    })
    await flushPromises()
    expect(uploads.items.map((i) => [i.name, i.projectId, i.folderId, i.target])).toEqual([
      ['dropped.fa', 1, 10, 'Liver atlas/raw'],
    ])
    expect(FakeUpload.instances[0].options.metadata).toMatchObject({
      filename: 'dropped.fa',
      project: '1',
      folder: '10',
    })
    wrapper.unmount()
  })

  it('asks for consent before uploading into a project holding human data', async () => {
    mockFetch({
      'GET /api/projects/1/': { body: project({ holds_human_data: true }) },
      'GET /api/folders/10/': { body: folder() },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
    })
    const { wrapper } = await mountAt('/projects/1/folders/10')
    const uploads = useUploadsStore()
    const drop = () =>
      wrapper.find('.workspace').trigger('drop', {
        dataTransfer: { files: [new File(['ACGT'], 'p.fa')], types: ['Files'] },
      })
    await drop()
    await flushPromises()
    expect(document.body.textContent).toContain('GDPR and HIPAA')
    ;(document.querySelector('.el-message-box__btns button') as HTMLButtonElement).click()
    await flushPromises()
    expect(uploads.items).toHaveLength(0) // cancelled: nothing queued

    await drop()
    await flushPromises()
    const buttons = [
      ...document.querySelectorAll('.el-message-box__btns button'),
    ] as HTMLButtonElement[]
    // the newest box (the cancelled one may still be fading out)
    buttons
      .filter((b) => b.textContent?.includes('I confirm'))
      .at(-1)!
      .click()
    await flushPromises()
    await vi.waitFor(() => expect(uploads.items).toHaveLength(1))
    expect(FakeUpload.instances[0].options.metadata).toMatchObject({ consent: 'confirmed' })
    wrapper.unmount()
  })

  it('re-creates a dropped folder under the current folder and uploads into it', async () => {
    const posted: unknown[] = []
    mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/10/': { body: folder() },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
      'POST /api/folders/': (call) => {
        const body = call.body as { name: string; parent: number }
        posted.push(body)
        const id = body.name === 'run1' ? 20 : 21
        return { status: 201, body: plainFolder({ id, name: body.name, parent: body.parent }) }
      },
    })
    const { wrapper } = await mountAt('/projects/1/folders/10')
    const a = new File(['A'], 'a.fq')
    const b = new File(['B'], 'b.fq')
    const entry = folderEntry('run1', [fileEntry(a), folderEntry('lane2', [fileEntry(b)])])
    await wrapper.find('.workspace').trigger('drop', {
      dataTransfer: {
        types: ['Files'],
        files: [],
        items: [{ kind: 'file', webkitGetAsEntry: () => entry, getAsFile: () => null }],
      },
    })
    await flushPromises()
    expect(posted).toEqual([
      { project: 1, parent: 10, name: 'run1' },
      { project: 1, parent: 20, name: 'lane2' },
    ])
    const uploads = useUploadsStore()
    expect(uploads.items.map((i) => [i.name, i.folderId, i.target])).toEqual([
      ['a.fq', 20, 'Liver atlas/raw/run1'],
      ['b.fq', 21, 'Liver atlas/raw/run1/lane2'],
    ])
    wrapper.unmount()
  })

  it("shows the folder's effective level and shares the folder with its owners", async () => {
    mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/10/': {
        body: folder({ access_level: 'inherit', effective_access_level: 'restricted' }),
      },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
      'GET /api/folders/10/access/': { body: accessInfo() },
      'GET /api/grants/': { body: page([]) },
    })
    const { wrapper } = await mountAt('/projects/1/folders/10')
    expect(wrapper.find('h1 .level-badge').text()).toBe('restricted')
    const share = wrapper.findAll('button').find((b) => b.text() === 'Share')!
    expect(share.attributes('disabled')).toBeUndefined()
    await share.trigger('click')
    await flushPromises()
    expect(document.body.textContent).toContain('Share “raw”')
    expect(document.body.textContent).toContain('Restricted — set on folder “raw”')
    wrapper.unmount()
  })

  it('keeps Share visible but disabled for people who are not owners', async () => {
    mockFetch({
      'GET /api/projects/1/': {
        body: project({
          my_role: 'editor',
          my_permissions: ['view', 'download', 'upload', 'edit', 'delete'],
        }),
      },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
    })
    const { wrapper } = await mountAt('/projects/1')
    const share = wrapper.findAll('button').find((b) => b.text() === 'Share')!
    expect(share.attributes('disabled')).toBeDefined()
    expect(share.attributes('title')).toBe("Only the project's owners can change this")
    wrapper.unmount()
  })
})
