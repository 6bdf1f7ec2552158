import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { flushPromises } from '@vue/test-utils'
import { FakeXHR, mockFetch, page } from '@/test/http'
import { dataFile, project } from '@/test/fixtures'
import { MAX_PARALLEL, useUploadsStore } from './uploads'
import { useWorkspaceStore } from './workspace'

vi.mock('element-plus', () => ({ ElMessage: { success: vi.fn(), error: vi.fn() } }))

beforeEach(() => {
  setActivePinia(createPinia())
  FakeXHR.install()
})

function files(n: number): File[] {
  return Array.from({ length: n }, (_, i) => new File(['x'.repeat(10)], `f${i}.fastq`))
}

describe('uploads store', () => {
  it('uploads into the given project/folder, tracking progress', async () => {
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, 10)
    const xhr = FakeXHR.last()
    expect((xhr.body as FormData).get('folder')).toBe('10')
    expect(uploads.items[0].status).toBe('uploading')
    expect(uploads.activeCount).toBe(1)
    xhr.progress(5, 10)
    expect(uploads.items[0].progress).toBe(50)
    expect(uploads.overallProgress).toBe(50)
    xhr.respond(201, dataFile({ name: 'f0.fastq' }))
    await flushPromises()
    expect(uploads.items[0].status).toBe('done')
    expect(uploads.items[0].result?.name).toBe('f0.fastq')
    expect(uploads.activeCount).toBe(0)
  })

  it(`runs at most ${MAX_PARALLEL} at once and starts the next when one ends`, async () => {
    const uploads = useUploadsStore()
    uploads.enqueue(files(3), 1, null)
    expect(FakeXHR.instances).toHaveLength(MAX_PARALLEL)
    expect(uploads.items[2].status).toBe('queued')
    FakeXHR.instances[0].respond(201, dataFile())
    await flushPromises()
    expect(FakeXHR.instances).toHaveLength(3)
  })

  it('keeps the API reason when an upload is refused', async () => {
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, null)
    FakeXHR.last().respond(400, {
      detail: 'Invalid input.',
      code: 'invalid',
      errors: { project: ['You cannot upload to this project.'] },
    })
    await flushPromises()
    expect(uploads.items[0]).toMatchObject({
      status: 'failed',
      error: 'Invalid input.',
      fieldErrors: { project: ['You cannot upload to this project.'] },
    })
  })

  it('cancels queued and running uploads', async () => {
    const uploads = useUploadsStore()
    uploads.enqueue(files(3), 1, null)
    uploads.cancel(uploads.items[2].id)
    uploads.cancel(uploads.items[0].id)
    await flushPromises()
    expect(uploads.items.map((i) => i.status)).toEqual(['cancelled', 'uploading', 'cancelled'])
    uploads.clearFinished()
    expect(uploads.items).toHaveLength(1)
  })

  it('refreshes the workspace listing when it shows the upload target', async () => {
    mockFetch({
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([dataFile({ name: 'f0.fastq' })]) },
    })
    const ws = useWorkspaceStore()
    await ws.loadLocation(1, null)
    const refresh = vi.spyOn(ws, 'refreshIfShowing')
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, null)
    FakeXHR.last().respond(201, dataFile({ name: 'f0.fastq' }))
    await flushPromises()
    expect(refresh).toHaveBeenCalledWith(1, null)
  })
})
