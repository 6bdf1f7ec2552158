import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus, { ElMessage } from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { mockFetch, page } from '@/test/http'
import { dataFile } from '@/test/fixtures'
import TrashView from './TrashView.vue'

vi.mock('element-plus', async (importOriginal) => {
  const actual = await importOriginal<typeof import('element-plus')>()
  return { ...actual, ElMessage: { success: vi.fn(), error: vi.fn(), warning: vi.fn() } }
})

beforeEach(() => {
  vi.clearAllMocks()
  setActivePinia(createPinia())
})

function trashed(
  id: number,
  name: string,
  deletedFolder: { id: number; path: string; files: number } | null,
) {
  return {
    id,
    project: 1,
    project_name: 'Atlas',
    folder: null,
    name,
    size: 10,
    sha256: 'x',
    owner: 'alice',
    deleted_at: '2026-12-01T10:00:00Z',
    purge_after: '2026-12-31T10:00:00Z',
    folder_path: deletedFolder ? `${deletedFolder.path}/` : null,
    deleted_folder: deletedFolder,
  }
}

describe('TrashView', () => {
  it('shows a deleted folder as one item with its count and restores it as a whole', async () => {
    const raw = { id: 10, path: '/raw', files: 2 }
    let rows = [
      trashed(1, 'a.fastq', raw),
      trashed(2, 'b.fastq', raw),
      trashed(3, 'notes.txt', null),
    ]
    const { calls } = mockFetch({
      'GET /api/trash/': () => ({ body: page(rows) }),
      'POST /api/files/1/restore/': () => {
        rows = [rows[2]!]
        return {
          body: {
            ...dataFile({ id: 1 }),
            restored_count: 2,
            to_top_level: [],
            message: 'Restored 2 files.',
          },
        }
      },
    })
    const wrapper = mount(TrashView, { global: { plugins: [ElementPlus] } })
    await flushPromises()
    const names = wrapper.findAll('tbody tr').map((r) => r.text())
    expect(names).toHaveLength(2)
    expect(names[0]).toContain('raw — folder, 2 files')
    expect(names[1]).toContain('notes.txt')
    await wrapper
      .findAll('button')
      .find((b) => b.text() === 'Restore')!
      .trigger('click')
    await flushPromises()
    expect(calls.find((c) => c.url === '/api/files/1/restore/')?.body).toEqual({
      whole_folder: true,
    })
    expect(ElMessage.success).toHaveBeenCalledWith('“raw” is back in Atlas')
    expect(wrapper.findAll('tbody tr')).toHaveLength(1)
    wrapper.unmount()
  })

  it('says when a file went to the top level because its folder is gone', async () => {
    mockFetch({
      'GET /api/trash/': { body: page([trashed(3, 'notes.txt', null)]) },
      'POST /api/files/3/restore/': {
        body: {
          ...dataFile({ id: 3 }),
          restored_count: 1,
          to_top_level: ['notes.txt'],
          message: "Restored 1 file to the project's top level: its folder no longer exists.",
        },
      },
    })
    const wrapper = mount(TrashView, { global: { plugins: [ElementPlus] } })
    await flushPromises()
    await wrapper
      .findAll('button')
      .find((b) => b.text() === 'Restore')!
      .trigger('click')
    await flushPromises()
    expect(ElMessage.warning).toHaveBeenCalledWith(
      "Restored 1 file to the project's top level: its folder no longer exists.",
    )
    wrapper.unmount()
  })
})
