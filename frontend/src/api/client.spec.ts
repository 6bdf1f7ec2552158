import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeXHR, jsonResponse, mockFetch, setCookie } from '@/test/http'
import {
  ApiError,
  buildUrl,
  describeError,
  errorFromBody,
  isApiError,
  request,
  setUnauthorizedHandler,
  upload,
} from './client'
import { uploadFile } from './files'

beforeEach(() => {
  setCookie('csrftoken=tok%2B123; path=/')
})

afterEach(() => {
  setUnauthorizedHandler(null)
  setCookie('csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/')
})

describe('request', () => {
  it('sends the CSRF token on unsafe methods only', async () => {
    const { calls } = mockFetch({
      'GET /api/things/': { body: [] },
      'POST /api/things/': { status: 201, body: { id: 1 } },
    })
    await request('/api/things/')
    await request('/api/things/', { method: 'POST', body: { name: 'x' } })
    expect(calls[0].headers['x-csrftoken']).toBeUndefined()
    expect(calls[1].headers['x-csrftoken']).toBe('tok+123')
    expect(calls[1].headers['content-type']).toBe('application/json')
    expect(calls[1].body).toEqual({ name: 'x' })
  })

  it('uses the same origin with the session cookie', async () => {
    const { fn } = mockFetch({ 'GET /api/things/': { body: {} } })
    await request('/api/things/', { query: { project: 3, folder: null, skip: undefined } })
    const [url, init] = fn.mock.calls[0]
    expect(url).toBe('/api/things/?project=3&folder=null')
    expect(init?.credentials).toBe('same-origin')
  })

  it('returns undefined for 204', async () => {
    mockFetch({ 'DELETE /api/things/1/': { status: 204 } })
    await expect(request('/api/things/1/', { method: 'DELETE' })).resolves.toBeUndefined()
  })

  it('turns JSON errors into ApiError with field errors', async () => {
    mockFetch({
      'POST /api/folders/': {
        status: 400,
        body: {
          detail: 'Invalid input.',
          code: 'invalid',
          errors: { name: ['A folder with this name already exists.'] },
        },
      },
    })
    const err = await request('/api/folders/', { method: 'POST', body: {} }).catch((e) => e)
    expect(isApiError(err)).toBe(true)
    expect(err).toMatchObject({
      status: 400,
      code: 'invalid',
      detail: 'A folder with this name already exists.',
      fieldErrors: { name: ['A folder with this name already exists.'] },
    })
  })

  it('says each field message once, without the field names the API puts in its detail', () => {
    const err = errorFromBody(
      400,
      JSON.stringify({
        detail: 'project: This field is required.; folder: This field is required.',
        code: 'required',
        errors: {
          project: ['This field is required.'],
          folder: ['This field is required.'],
          non_field_errors: ['Choose a project first.'],
        },
      }),
    )
    expect(err.detail).toBe('This field is required. Choose a project first.')
  })

  it('gives human words when the body is not JSON', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('<html>Bad gateway</html>', { status: 502 })),
    )
    const err = (await request('/api/x/').catch((e) => e)) as ApiError
    expect(err.status).toBe(502)
    expect(err.detail).toMatch(/server ran into a problem/)
    expect(err.detail).not.toMatch(/html/)
  })

  it('reports network failures as status 0', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw new TypeError('Failed to fetch')
      }),
    )
    const err = (await request('/api/x/').catch((e) => e)) as ApiError
    expect(err.status).toBe(0)
    expect(err.detail).toMatch(/reach the server/)
  })

  it('calls the 401 handler, unless the call opts out', async () => {
    const handler = vi.fn()
    setUnauthorizedHandler(handler)
    mockFetch({
      'GET /api/projects/': {
        status: 401,
        body: { detail: 'Not signed in.', code: 'not_authenticated' },
      },
      'GET /api/auth/me/': { status: 401, body: { detail: 'Not signed in.' } },
    })
    await expect(request('/api/projects/')).rejects.toBeInstanceOf(ApiError)
    expect(handler).toHaveBeenCalledTimes(1)
    await expect(request('/api/auth/me/', { skipUnauthorizedHandler: true })).rejects.toThrow()
    expect(handler).toHaveBeenCalledTimes(1)
  })
})

describe('errors', () => {
  it('falls back to words for a status when detail is missing', () => {
    expect(errorFromBody(404, '{}').detail).toMatch(/doesn't exist or you can't see it/)
    expect(errorFromBody(403, '').detail).toMatch(/permission/)
  })

  it('describeError prefers a view-specific not-found message', () => {
    const err = new ApiError(404, 'Not found.')
    expect(describeError(err, 'This file is gone')).toBe('This file is gone')
    expect(describeError(new ApiError(400, 'Bad'))).toBe('Bad')
    expect(describeError(new Error('boom'))).not.toMatch(/boom/)
  })

  it('buildUrl appends to an existing query', () => {
    expect(buildUrl('/a/?x=1', { y: 2 })).toBe('/a/?x=1&y=2')
  })
})

describe('upload', () => {
  beforeEach(() => FakeXHR.install())

  it('POSTs multipart FormData with CSRF and reports progress', async () => {
    const progress = vi.fn()
    const file = new File(['ACGT'], 'reads.fastq', { type: 'text/plain' })
    const handle = uploadFile(file, { project: 7, folder: 9, tags: ['a', 'b'] }, progress)
    const xhr = FakeXHR.last()
    expect(xhr.method).toBe('POST')
    expect(xhr.url).toBe('/api/files/')
    expect(xhr.headers['X-CSRFToken']).toBe('tok+123')
    const form = xhr.body as FormData
    expect(form).toBeInstanceOf(FormData)
    expect((form.get('file') as File).name).toBe('reads.fastq')
    expect(form.get('project')).toBe('7')
    expect(form.get('folder')).toBe('9')
    expect(form.get('tags')).toBe('a,b')

    xhr.progress(2, 4)
    expect(progress).toHaveBeenLastCalledWith({ loaded: 2, total: 4, percent: 50 })
    xhr.respond(201, { id: 5, name: 'reads.fastq' })
    await expect(handle.promise).resolves.toEqual({ id: 5, name: 'reads.fastq' })
  })

  it('omits the folder at the project root', () => {
    uploadFile(new File(['x'], 'a.txt'), { project: 7, folder: null })
    expect((FakeXHR.last().body as FormData).has('folder')).toBe(false)
  })

  it('rejects with ApiError on error statuses and handles 401 once', async () => {
    const handler = vi.fn()
    setUnauthorizedHandler(handler)
    const tooBig = upload('/api/files/', new FormData())
    FakeXHR.last().respond(413, { detail: 'File too large.', code: 'too_large' })
    await expect(tooBig.promise).rejects.toMatchObject({ status: 413, detail: 'File too large.' })

    const expired = upload('/api/files/', new FormData())
    FakeXHR.last().respond(401, { detail: 'Not signed in.' })
    await expect(expired.promise).rejects.toMatchObject({ status: 401 })
    expect(handler).toHaveBeenCalledTimes(1)
  })

  it('aborts', async () => {
    const handle = upload('/api/files/', new FormData())
    handle.abort()
    await expect(handle.promise).rejects.toMatchObject({ code: 'aborted' })
  })
})

describe('jsonResponse helper', () => {
  it('builds empty 204 bodies', async () => {
    expect(await jsonResponse(204).text()).toBe('')
  })
})
