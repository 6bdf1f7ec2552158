import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { flushPromises } from '@vue/test-utils'
import type { PreviousUpload, UploadOptions } from 'tus-js-client'
import { mockFetch, page, setCookie } from '@/test/http'
import { dataFile, plainFolder, project } from '@/test/fixtures'
import { CHUNK_SIZE, RETRY_DELAYS } from '@/composables/useTusUpload'
import { REGISTRY_KEY, readRegistry } from '@/utils/uploadRegistry'
import { FINISH_POLL_MS, FINISH_POLL_TRIES, MAX_PARALLEL, useUploadsStore } from './uploads'
import { useWorkspaceStore } from './workspace'

const tusMock = vi.hoisted(() => {
  /** Stands in for tus-js-client's Upload; the test plays the server through its callbacks. */
  class FakeUpload {
    static instances: FakeUpload[] = []
    static previous: PreviousUpload[] = []
    static terminated: { url: string; options: Record<string, unknown> }[] = []
    static terminateStatus = 204
    url: string | null = null
    starts = 0
    aborts: boolean[] = []
    resumedFrom: PreviousUpload | null = null

    constructor(
      public file: File,
      public options: UploadOptions,
    ) {
      FakeUpload.instances.push(this)
    }

    static terminate(url: string, options: Record<string, unknown>): Promise<void> {
      FakeUpload.terminated.push({ url, options })
      if (FakeUpload.terminateStatus === 204) return Promise.resolve()
      return Promise.reject(FakeUpload.error(FakeUpload.terminateStatus))
    }

    static error(status: number, body = '') {
      return Object.assign(new Error(`tus: status ${status}`), {
        originalRequest: {},
        originalResponse: status ? { getStatus: () => status, getBody: () => body } : null,
        causingError: null,
      })
    }

    findPreviousUploads(): Promise<PreviousUpload[]> {
      return Promise.resolve(FakeUpload.previous)
    }

    resumeFromPreviousUpload(previous: PreviousUpload): void {
      this.resumedFrom = previous
      this.url = previous.uploadUrl
    }

    start(): void {
      this.starts += 1
    }

    abort(shouldTerminate = false): Promise<void> {
      this.aborts.push(shouldTerminate)
      return Promise.resolve()
    }

    // ---- the "server" ----
    created(url: string): void {
      this.url = url
      this.options.onUploadUrlAvailable?.()
    }

    progress(sent: number, total: number): void {
      this.options.onProgress?.(sent, total)
    }

    succeed(): void {
      this.options.onSuccess?.({ lastResponse: {} as never })
    }

    fail(status: number, body = ''): void {
      this.options.onError?.(FakeUpload.error(status, body) as never)
    }

    shouldRetry(status: number, attempt: number): boolean | undefined {
      return this.options.onShouldRetry?.(FakeUpload.error(status) as never, attempt, this.options)
    }
  }
  return { FakeUpload }
})

vi.mock('tus-js-client', () => ({ Upload: tusMock.FakeUpload }))
vi.mock('element-plus', () => ({ ElMessage: { success: vi.fn(), error: vi.fn() } }))

const { FakeUpload } = tusMock
const URL_A = 'http://localhost:3000/api/uploads/aaaa/'

beforeEach(() => {
  setActivePinia(createPinia())
  FakeUpload.instances = []
  FakeUpload.previous = []
  FakeUpload.terminated = []
  FakeUpload.terminateStatus = 204
  localStorage.clear()
})

afterEach(() => {
  vi.useRealTimers()
})

function files(n: number, size = 10): File[] {
  return Array.from({ length: n }, (_, i) => new File(['x'.repeat(size)], `f${i}.fastq`))
}

function statusRoutes(fileId = 100, name = 'f0.fastq') {
  return {
    'GET /api/uploads/aaaa/status/': {
      body: {
        id: 'aaaa',
        filename: name,
        offset: 10,
        length: 10,
        state: 'completed',
        file: fileId,
        error: '',
        expires_at: null,
      },
    },
    [`GET /api/files/${fileId}/`]: { body: dataFile({ id: fileId, name }) },
  }
}

describe('uploads store (tus)', () => {
  it('creates a resumable upload with CSRF header, metadata and chunking', async () => {
    setCookie('csrftoken=tok123')
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, 10, 'Liver atlas/raw')
    await flushPromises()
    const up = FakeUpload.instances[0]
    expect(up.starts).toBe(1)
    expect(up.options).toMatchObject({
      endpoint: 'http://localhost:3000/api/uploads/',
      chunkSize: CHUNK_SIZE,
      retryDelays: RETRY_DELAYS,
      removeFingerprintOnSuccess: true,
      storeFingerprintForResuming: true,
      metadata: { filename: 'f0.fastq', project: '1', folder: '10' },
    })
    // The CSRF header is set once per request, never also through `headers` (XHR would join
    // the two values into one invalid token).
    expect(up.options.headers).toBeUndefined()
    const first = vi.fn()
    await up.options.onBeforeRequest?.({ setHeader: first } as never)
    expect(first).toHaveBeenCalledExactlyOnceWith('X-CSRFToken', 'tok123')
    expect(CHUNK_SIZE).toBe(8 * 1024 * 1024)
    // a token that changed since (signed in again) is what each request carries
    setCookie('csrftoken=tok456')
    const setHeader = vi.fn()
    await up.options.onBeforeRequest?.({ setHeader } as never)
    expect(setHeader).toHaveBeenCalledWith('X-CSRFToken', 'tok456')
    expect(uploads.items[0]).toMatchObject({ state: 'uploading', target: 'Liver atlas/raw' })
  })

  it('leaves the folder out of the metadata at the project root', async () => {
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, null)
    await flushPromises()
    expect(FakeUpload.instances[0].options.metadata).not.toHaveProperty('folder')
  })

  it('sends the consent confirmation only when the uploader gave it', async () => {
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, null, 'Clinic', true)
    uploads.enqueue(files(1), 2, null, 'Plain')
    await flushPromises()
    expect(FakeUpload.instances[0].options.metadata).toMatchObject({ consent: 'confirmed' })
    expect(FakeUpload.instances[1].options.metadata).not.toHaveProperty('consent')
  })

  it('tracks progress, then asks the server for the stored file and its checksums', async () => {
    const { calls } = mockFetch({
      ...statusRoutes(),
      'GET /api/projects/1/': { body: project() },
      'GET /api/folders/': { body: page([]) },
      'GET /api/files/': { body: page([]) },
    })
    const ws = useWorkspaceStore()
    await ws.loadLocation(1, null)
    const refresh = vi.spyOn(ws, 'refreshIfShowing')
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, null)
    await flushPromises()
    const up = FakeUpload.instances[0]
    up.created(URL_A)
    expect(readRegistry().map((e) => e.uploadUrl)).toEqual([URL_A])
    up.progress(5, 10)
    expect(uploads.items[0]).toMatchObject({ loaded: 5, progress: 50 })
    expect(uploads.overallProgress).toBe(50)
    expect(uploads.activeCount).toBe(1)
    up.succeed()
    await flushPromises()
    expect(calls.map((c) => c.url)).toContain('/api/uploads/aaaa/status/')
    expect(uploads.items[0].state).toBe('done')
    expect(uploads.items[0].result?.sha256).toBe('ab'.repeat(32))
    expect(uploads.finished).toHaveLength(1)
    expect(uploads.activeCount).toBe(0)
    expect(refresh).toHaveBeenCalledWith(1, null)
    // finished uploads leave nothing to resume
    expect(localStorage.getItem(REGISTRY_KEY)).toBeNull()
  })

  it('waits while the server verifies the file, however long, then shows its checksums', async () => {
    vi.useFakeTimers()
    const verifying = { ...statusRoutes()['GET /api/uploads/aaaa/status/'].body }
    Object.assign(verifying, { state: 'verifying', file: null })
    let polls = 0
    const { calls } = mockFetch({
      ...statusRoutes(),
      'GET /api/uploads/aaaa/status/': () => {
        polls += 1
        // longer than FINISH_POLL_TRIES polls: a large file takes a while to hash
        return polls <= FINISH_POLL_TRIES + 5
          ? { body: verifying }
          : statusRoutes()['GET /api/uploads/aaaa/status/']
      },
    })
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, null)
    await flushPromises()
    const up = FakeUpload.instances[0]
    up.created(URL_A)
    up.succeed()
    await flushPromises()
    expect(uploads.items[0]).toMatchObject({ state: 'finishing', progress: 100 })
    for (let i = 0; i < FINISH_POLL_TRIES + 5; i++) {
      await vi.advanceTimersByTimeAsync(FINISH_POLL_MS)
    }
    await flushPromises()
    expect(uploads.items[0].state).toBe('done')
    expect(uploads.items[0].error).toBe('')
    expect(uploads.items[0].result?.sha256).toBe('ab'.repeat(32))
    expect(calls.filter((c) => c.url === '/api/uploads/aaaa/status/')).toHaveLength(
      FINISH_POLL_TRIES + 6,
    )
  })

  it('says why when the server could not verify the file', async () => {
    const failed = {
      ...statusRoutes()['GET /api/uploads/aaaa/status/'].body,
      state: 'failed',
      file: null,
      error: `sha256 of the whole file was ${'1'.repeat(64)}, expected ${'2'.repeat(64)}`,
    }
    mockFetch({ 'GET /api/uploads/aaaa/status/': { body: failed } })
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, null)
    await flushPromises()
    FakeUpload.instances[0].created(URL_A)
    FakeUpload.instances[0].succeed()
    await flushPromises()
    expect(uploads.items[0]).toMatchObject({ state: 'failed', error: failed.error, result: null })
  })

  it(`runs at most ${MAX_PARALLEL} at once and starts the next when one ends`, async () => {
    mockFetch(statusRoutes())
    const uploads = useUploadsStore()
    uploads.enqueue(files(MAX_PARALLEL + 1), 1, null)
    await flushPromises()
    expect(MAX_PARALLEL).toBe(3)
    expect(FakeUpload.instances).toHaveLength(MAX_PARALLEL)
    expect(uploads.items[MAX_PARALLEL].state).toBe('queued')
    FakeUpload.instances[0].created(URL_A)
    FakeUpload.instances[0].succeed()
    await flushPromises()
    expect(FakeUpload.instances).toHaveLength(MAX_PARALLEL + 1)
    expect(uploads.items[MAX_PARALLEL].state).toBe('uploading')
  })

  it('pauses, resumes from the same upload, and cancels with termination', async () => {
    const uploads = useUploadsStore()
    uploads.enqueue(files(4), 1, null)
    await flushPromises()
    const [first, second] = FakeUpload.instances
    first.created(URL_A)
    const id = uploads.items[0].id

    uploads.pause(id)
    expect(uploads.items[0].state).toBe('paused')
    expect(first.aborts).toEqual([false])
    await flushPromises()
    // the freed slot goes to the queued fourth file
    expect(uploads.items[3].state).toBe('uploading')
    // a paused upload stays resumable after a reload
    expect(readRegistry()).toHaveLength(1)

    uploads.resume(id)
    expect(uploads.items[0].state).toBe('queued')
    uploads.pause(uploads.items[3].id)
    await flushPromises()
    expect(uploads.items[0].state).toBe('uploading')
    expect(first.starts).toBe(2)
    expect(FakeUpload.instances.filter((u) => u.file.name === 'f0.fastq')).toHaveLength(1)

    await uploads.cancel(id)
    expect(uploads.items[0].state).toBe('cancelled')
    expect(first.aborts).toEqual([false, true])
    expect(readRegistry()).toHaveLength(0)

    await uploads.cancel(uploads.items[1].id)
    expect(second.aborts).toEqual([true])
    uploads.clearFinished()
    expect(uploads.items.map((i) => i.name)).toEqual(['f2.fastq', 'f3.fastq'])
  })

  it('shows retries with their attempt and reason, and goes back to uploading', async () => {
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, null)
    await flushPromises()
    const up = FakeUpload.instances[0]
    expect(up.shouldRetry(0, 0)).toBe(true)
    expect(uploads.items[0]).toMatchObject({
      state: 'retrying',
      attempt: 1,
      retryReason: 'The connection dropped',
    })
    expect(up.shouldRetry(460, 1)).toBe(true)
    expect(uploads.items[0]).toMatchObject({
      attempt: 2,
      retryReason: 'A piece of the file arrived damaged',
    })
    up.progress(3, 10)
    expect(uploads.items[0].state).toBe('uploading')
    // refusals are not retried
    expect(up.shouldRetry(403, 0)).toBe(false)
    expect(up.shouldRetry(423, 0)).toBe(true)
  })

  it('says in words why an upload failed', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(null, { status: 204, headers: { 'Tus-Max-Size': '5000' } })),
    )
    const uploads = useUploadsStore()
    uploads.enqueue(files(3), 1, null)
    await flushPromises()
    const [big, gone, refused] = FakeUpload.instances
    big.fail(413)
    gone.created(URL_A)
    gone.fail(410)
    refused.fail(403, JSON.stringify({ detail: 'You can only view this project.' }))
    await flushPromises()
    expect(uploads.items.map((i) => [i.state, i.error])).toEqual([
      ['failed', 'This file is larger than the server accepts (limit 5.0 kB).'],
      ['failed', 'The upload expired or was cancelled — start it again.'],
      ['failed', 'You can only view this project.'],
    ])
    // an expired upload is forgotten and starts over on Resume
    expect(readRegistry()).toHaveLength(0)
    uploads.resume(uploads.items[1].id)
    await flushPromises()
    expect(FakeUpload.instances).toHaveLength(4)
    expect(FakeUpload.instances[3].options.uploadUrl).toBeNull()
  })

  it('resumes from a stored upload of the same file into the same place', async () => {
    FakeUpload.previous = [
      {
        size: 10,
        metadata: { project: '2', filename: 'f0.fastq' },
        creationTime: '',
        urlStorageKey: 'tus::x::1',
        uploadUrl: 'http://localhost:3000/api/uploads/other/',
        parallelUploadUrls: null,
      },
      {
        size: 10,
        metadata: { project: '1', folder: '10', filename: 'f0.fastq' },
        creationTime: '',
        urlStorageKey: 'tus::x::2',
        uploadUrl: URL_A,
        parallelUploadUrls: null,
      },
    ]
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, 10)
    await flushPromises()
    expect(FakeUpload.instances[0].resumedFrom?.urlStorageKey).toBe('tus::x::2')
    expect(FakeUpload.instances[0].starts).toBe(1)
  })
})

describe('interrupted uploads (after a reload)', () => {
  async function leaveUnfinished(): Promise<void> {
    const uploads = useUploadsStore()
    uploads.enqueue(files(1), 1, 10, 'Liver atlas/raw')
    await flushPromises()
    FakeUpload.instances[0].created(URL_A)
    localStorage.setItem('tus::tus-br-f0::7', JSON.stringify({ uploadUrl: URL_A, size: 10 }))
    // "reload": a fresh app with the same localStorage
    setActivePinia(createPinia())
    FakeUpload.instances = []
  }

  function activeStatus(offset = 4) {
    return {
      body: {
        id: 'aaaa',
        filename: 'f0.fastq',
        offset,
        length: 10,
        state: 'active',
        file: null,
        error: '',
        expires_at: null,
      },
    }
  }

  it('lists them with how far they got', async () => {
    await leaveUnfinished()
    mockFetch({ 'GET /api/uploads/aaaa/status/': activeStatus() })
    const uploads = useUploadsStore()
    await uploads.restoreInterrupted()
    expect(uploads.items).toHaveLength(1)
    expect(uploads.items[0]).toMatchObject({
      name: 'f0.fastq',
      state: 'interrupted',
      target: 'Liver atlas/raw',
      projectId: 1,
      folderId: 10,
      loaded: 4,
      progress: 40,
      uploadUrl: URL_A,
    })
    expect(uploads.interruptedCount).toBe(1)
  })

  it('waits for the ones whose last byte arrived while the server verifies them', async () => {
    await leaveUnfinished()
    const verifying = { body: { ...activeStatus(10).body, state: 'verifying' } }
    let polls = 0
    mockFetch({
      ...statusRoutes(),
      'GET /api/uploads/aaaa/status/': () =>
        ++polls <= 2 ? verifying : statusRoutes()['GET /api/uploads/aaaa/status/'],
    })
    vi.useFakeTimers()
    const uploads = useUploadsStore()
    await uploads.restoreInterrupted()
    expect(uploads.items[0]).toMatchObject({ state: 'finishing', progress: 100 })
    expect(readRegistry()).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(2 * FINISH_POLL_MS)
    await flushPromises()
    expect(uploads.items[0].state).toBe('done')
    expect(uploads.items[0].result?.sha256).toBe('ab'.repeat(32))
  })

  it('forgets the ones the server no longer has', async () => {
    await leaveUnfinished()
    mockFetch({
      'GET /api/uploads/aaaa/status/': { status: 404, body: { detail: 'Not found.' } },
    })
    const uploads = useUploadsStore()
    await uploads.restoreInterrupted()
    expect(uploads.items).toHaveLength(0)
    expect(readRegistry()).toHaveLength(0)
    expect(localStorage.getItem('tus::tus-br-f0::7')).toBeNull()
  })

  it('goes on from the server offset once the same file is chosen again', async () => {
    await leaveUnfinished()
    mockFetch({ 'GET /api/uploads/aaaa/status/': activeStatus() })
    const uploads = useUploadsStore()
    await uploads.restoreInterrupted()
    const id = uploads.items[0].id

    expect(uploads.resumeInterrupted(id, new File(['y'], 'other.fastq'))).toBe(false)
    expect(uploads.items[0].state).toBe('interrupted')
    expect(uploads.items[0].error).toContain('That is not the same file')

    expect(uploads.resumeInterrupted(id, files(1)[0])).toBe(true)
    await flushPromises()
    const up = FakeUpload.instances[0]
    // tus HEADs this URL for the offset instead of creating a new upload
    expect(up.options.uploadUrl).toBe(URL_A)
    expect(up.options.metadata).toMatchObject({ project: '1', folder: '10' })
    expect(up.starts).toBe(1)
    expect(uploads.items[0]).toMatchObject({ state: 'uploading', error: '' })
  })

  it('cancels them on the server and forgets them', async () => {
    setCookie('csrftoken=tok123')
    await leaveUnfinished()
    mockFetch({ 'GET /api/uploads/aaaa/status/': activeStatus() })
    const uploads = useUploadsStore()
    await uploads.restoreInterrupted()
    await uploads.cancel(uploads.items[0].id)
    expect(FakeUpload.terminated).toHaveLength(1)
    expect(FakeUpload.terminated[0]).toMatchObject({
      url: URL_A,
      options: { headers: { 'X-CSRFToken': 'tok123' } },
    })
    expect(uploads.items).toHaveLength(0)
    expect(readRegistry()).toHaveLength(0)
    expect(localStorage.getItem('tus::tus-br-f0::7')).toBeNull()
  })

  it('keeps them when the server refuses to cancel, and says why', async () => {
    await leaveUnfinished()
    mockFetch({ 'GET /api/uploads/aaaa/status/': activeStatus() })
    FakeUpload.terminateStatus = 500
    const uploads = useUploadsStore()
    await uploads.restoreInterrupted()
    await uploads.cancel(uploads.items[0].id)
    expect(uploads.items).toHaveLength(1)
    expect(uploads.items[0].error).toContain("Couldn't cancel the upload on the server")
    expect(readRegistry()).toHaveLength(1)
  })
})

describe('dropped folders', () => {
  it('creates the folder structure, reusing existing folders on 409', async () => {
    const created: unknown[] = []
    mockFetch({
      'POST /api/folders/': (call) => {
        const body = call.body as { name: string; parent: number | null }
        created.push(body)
        if (body.name === 'run1') {
          return {
            status: 409,
            body: { detail: 'A folder with this name exists.', code: 'conflict' },
          }
        }
        return { status: 201, body: plainFolder({ id: 31, name: body.name, parent: body.parent }) }
      },
      'GET /api/folders/': (call) =>
        call.url.includes('parent=10')
          ? { body: page([plainFolder({ id: 30, name: 'run1', parent: 10 })]) }
          : { body: page([]) },
    })
    const uploads = useUploadsStore()
    const [a, b, c, loose] = files(4)
    await uploads.enqueueTree(
      [
        { file: a, dirs: ['run1'] },
        { file: b, dirs: ['run1', 'lane2'] },
        { file: c, dirs: ['run1'] },
        { file: loose, dirs: [] },
      ],
      1,
      10,
      'Liver atlas/raw',
    )
    await flushPromises()
    expect(created).toEqual([
      { project: 1, parent: 10, name: 'run1' },
      { project: 1, parent: 30, name: 'lane2' },
    ])
    expect(uploads.items.map((i) => [i.name, i.folderId, i.target])).toEqual([
      ['f0.fastq', 30, 'Liver atlas/raw/run1'],
      ['f1.fastq', 31, 'Liver atlas/raw/run1/lane2'],
      ['f2.fastq', 30, 'Liver atlas/raw/run1'],
      ['f3.fastq', 10, 'Liver atlas/raw'],
    ])
  })

  it('shows files whose folder could not be created as failed rows', async () => {
    mockFetch({
      'POST /api/folders/': {
        status: 403,
        body: { detail: 'You can only view this project.', code: 'permission_denied' },
      },
    })
    const uploads = useUploadsStore()
    await uploads.enqueueTree([{ file: files(1)[0], dirs: ['run1'] }], 1, null, 'Liver atlas')
    expect(uploads.items[0].state).toBe('failed')
    expect(uploads.items[0].error).toBe(
      'The folder “run1” could not be created: You can only view this project.',
    )
    expect(FakeUpload.instances).toHaveLength(0)
  })
})
