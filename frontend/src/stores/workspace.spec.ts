import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { mockFetch, page } from '@/test/http'
import { dataFile, folder, plainFolder, project } from '@/test/fixtures'
import { useWorkspaceStore } from './workspace'

beforeEach(() => setActivePinia(createPinia()))

describe('workspace store', () => {
  it('loads the project root: folders with parent=null and files with folder=null', async () => {
    const { calls } = mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/': { body: page([plainFolder()]) },
      'GET /api/files/': { body: page([dataFile()]) },
    })
    const ws = useWorkspaceStore()
    await ws.loadLocation(1, null)
    expect(ws.project?.name).toBe('Liver atlas')
    expect(ws.folder).toBeNull()
    expect(ws.subfolders.map((f) => f.name)).toEqual(['raw'])
    expect(ws.files.map((f) => f.name)).toEqual(['sample1.fastq.gz'])
    const urls = calls.map((c) => c.url)
    expect(urls).toContain('/api/folders/?project=1&parent=null&page_size=500')
    expect(urls).toContain('/api/files/?project=1&folder=null&page_size=100&ordering=name')
    expect(ws.treeVersion).toBe(1)
  })

  it('loads a folder with its ancestors', async () => {
    const sub = folder({ id: 11, parent: 10, name: 'run1', ancestors: [{ id: 10, name: 'raw' }] })
    const { calls } = mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/11/': { body: sub },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
    })
    const ws = useWorkspaceStore()
    await ws.loadLocation(1, 11)
    expect(ws.folder?.ancestors).toEqual([{ id: 10, name: 'raw' }])
    expect(calls.map((c) => c.url)).toContain(
      '/api/files/?project=1&folder=11&page_size=100&ordering=name',
    )
  })

  it('rejects a folder of another project as not found', async () => {
    mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/99/': { body: folder({ id: 99, project: 2 }) },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
    })
    await expect(useWorkspaceStore().loadLocation(1, 99)).rejects.toMatchObject({ status: 404 })
  })

  it('propagates a 404 for a project the user cannot see', async () => {
    mockFetch({
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
    })
    await expect(useWorkspaceStore().loadLocation(7, null)).rejects.toMatchObject({ status: 404 })
  })

  it('creates a folder under the current one and reloads subfolders and tree', async () => {
    let folders = [] as ReturnType<typeof plainFolder>[]
    const { calls } = mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/10/': { body: folder() },
      'GET /api/folders/': () => ({ body: page(folders) }),
      'GET /api/files/': { body: page([]) },
      'POST /api/folders/': (call) => {
        const created = plainFolder({
          id: 12,
          parent: 10,
          name: (call.body as { name: string }).name,
        })
        folders = [created]
        return { status: 201, body: created }
      },
    })
    const ws = useWorkspaceStore()
    await ws.loadLocation(1, 10)
    const version = ws.treeVersion
    await ws.createFolder('run2')
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      project: 1,
      parent: 10,
      name: 'run2',
    })
    expect(ws.subfolders.map((f) => f.name)).toEqual(['run2'])
    expect(ws.treeVersion).toBe(version + 1)
  })

  it('refreshes files only when showing the given location', async () => {
    let files = [dataFile()]
    const { calls } = mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': () => ({ body: page(files) }),
    })
    const ws = useWorkspaceStore()
    await ws.loadLocation(1, null)
    files = [dataFile(), dataFile({ id: 101, name: 'b.bam' })]
    const before = calls.length
    await ws.refreshIfShowing(1, 10)
    expect(calls.length).toBe(before)
    await ws.refreshIfShowing(1, null)
    expect(ws.files).toHaveLength(2)
  })

  it('undoes a folder delete by restoring the folder as a whole', async () => {
    const { calls } = mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/': { body: page([plainFolder({ id: 10, name: 'raw' })]) },
      'GET /api/files/': { body: page([]) },
      'DELETE /api/folders/10/': { status: 204 },
      'GET /api/trash/': { body: page([{ id: 55, name: 'a.fastq' }]) },
      'POST /api/files/55/restore/': {
        body: {
          ...dataFile({ id: 55 }),
          restored_count: 2,
          to_top_level: [],
          message: 'Restored 2 files.',
        },
      },
    })
    const ws = useWorkspaceStore()
    await ws.loadLocation(1, null)
    const deleted = await ws.deleteItems(['folder:10'])
    expect(deleted.folders).toEqual([{ id: 10, project: 1, parent: null, name: 'raw' }])
    expect(await ws.undoDelete(deleted)).toBe('Restored')
    expect(calls.map((c) => c.url)).toContain('/api/trash/?page_size=1&deleted_folder=10')
    expect(calls.find((c) => c.url === '/api/files/55/restore/')?.body).toEqual({
      whole_folder: true,
    })
    expect(calls.some((c) => c.method === 'POST' && c.url === '/api/folders/')).toBe(false)
  })

  it('says when an undone file went to the top level', async () => {
    mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
      'POST /api/files/7/restore/': {
        body: { ...dataFile({ id: 7 }), restored_count: 1, to_top_level: ['a.fastq'], message: '' },
      },
    })
    const ws = useWorkspaceStore()
    await ws.loadLocation(1, null)
    const said = await ws.undoDelete({ files: [7], folders: [], errors: [] })
    expect(said).toContain("a.fastq went to the project's top level")
  })
})
