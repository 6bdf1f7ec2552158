/**
 * The one way the SPA talks to the backend.
 *
 * `request()` wraps fetch (same origin, session cookie, CSRF header on unsafe methods, JSON in
 * and out); `upload()` does the same over XMLHttpRequest, which unlike fetch reports upload
 * progress. Every failure becomes an `ApiError`; a 401 additionally calls the handler set with
 * `setUnauthorizedHandler` (the app sends the user to /login), so no view handles it itself.
 */

export const BASE_URL = ''

export type FieldErrors = Record<string, string[]>

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly detail: string
  readonly fieldErrors: FieldErrors

  constructor(status: number, detail: string, code = '', fieldErrors: FieldErrors = {}) {
    super(detail)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.detail = detail
    this.fieldErrors = fieldErrors
  }

  get isNotFound(): boolean {
    return this.status === 404
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError
}

type UnauthorizedHandler = () => void
let onUnauthorized: UnauthorizedHandler | null = null

/** Set what happens when the session has ended (a 401 from any call but the ones that opt out). */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  onUnauthorized = handler
}

export function getCookie(name: string): string | null {
  for (const part of document.cookie ? document.cookie.split(';') : []) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return decodeURIComponent(rest.join('='))
  }
  return null
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** The CSRF header Django wants on unsafe methods (none for safe ones). */
export function csrfHeaders(method: string): Record<string, string> {
  if (SAFE_METHODS.has(method)) return {}
  const token = getCookie('csrftoken')
  return token ? { 'X-CSRFToken': token } : {}
}

/** Words for failures whose body carries no `detail` (proxies, crashes, network). */
export function fallbackMessage(status: number): string {
  if (status === 0) return "Can't reach the server — check your connection and try again."
  if (status === 401) return 'Your session has ended — please sign in again.'
  if (status === 403) return "You don't have permission to do that — ask the project's owner."
  if (status === 404) return "This item doesn't exist or you can't see it — ask its owner."
  if (status === 413) return 'The file is too large for the server to accept.'
  if (status >= 500) return 'The server ran into a problem. Please try again in a moment.'
  return 'The request could not be completed.'
}

/** Builds an ApiError from a status and the (possibly non-JSON) response body text. */
export function errorFromBody(status: number, bodyText: string): ApiError {
  let body: unknown = null
  try {
    body = bodyText ? JSON.parse(bodyText) : null
  } catch {
    body = null
  }
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const obj = body as Record<string, unknown>
    const detail = typeof obj.detail === 'string' && obj.detail ? obj.detail : ''
    const code = typeof obj.code === 'string' ? obj.code : ''
    const fieldErrors: FieldErrors = {}
    const errors = obj.errors
    if (errors && typeof errors === 'object' && !Array.isArray(errors)) {
      for (const [field, msgs] of Object.entries(errors as Record<string, unknown>)) {
        fieldErrors[field] = Array.isArray(msgs) ? msgs.map(String) : [String(msgs)]
      }
    }
    // The API's detail names the fields ("name: …; folder: …") for scripts; people read the
    // messages alone, each once (forms also show them beside their inputs).
    const messages = [...new Set(Object.values(fieldErrors).flat())]
    const sentence = messages.length ? messages.join(' ') : detail
    return new ApiError(status, sentence || fallbackMessage(status), code, fieldErrors)
  }
  return new ApiError(status, fallbackMessage(status))
}

export interface RequestOptions {
  method?: string
  body?: unknown
  query?: Record<string, string | number | null | undefined>
  /** For calls where 401 is an expected answer (who am I?) rather than an ended session. */
  skipUnauthorizedHandler?: boolean
  signal?: AbortSignal
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  let url = BASE_URL + path
  if (query) {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(query)) {
      // null is meaningful to the API (folder=null means "project root"); undefined is omitted.
      if (value === undefined) continue
      params.append(key, value === null ? 'null' : String(value))
    }
    const qs = params.toString()
    if (qs) url += (url.includes('?') ? '&' : '?') + qs
  }
  return url
}

/** Tells the app the session ended when `status` is 401 (unless the caller opted out). */
export function handleUnauthorized(status: number, skip?: boolean): void {
  if (status === 401 && !skip && onUnauthorized) onUnauthorized()
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = (options.method ?? 'GET').toUpperCase()
  const headers: Record<string, string> = { Accept: 'application/json', ...csrfHeaders(method) }
  let body: BodyInit | undefined
  if (options.body instanceof FormData) {
    body = options.body
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  let response: Response
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal,
    })
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, fallbackMessage(0), 'network_error')
  }
  if (!response.ok) {
    handleUnauthorized(response.status, options.skipUnauthorizedHandler)
    throw errorFromBody(response.status, await response.text())
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  return (text ? JSON.parse(text) : undefined) as T
}

export interface UploadProgress {
  loaded: number
  total: number
  /** 0–100 */
  percent: number
}

export interface UploadHandle<T> {
  promise: Promise<T>
  abort: () => void
}

/**
 * POSTs a multipart form with upload progress. Returns the promise and an abort function
 * (an aborted upload rejects with an ApiError of code "aborted").
 */
export function upload<T>(
  path: string,
  form: FormData,
  onProgress?: (progress: UploadProgress) => void,
): UploadHandle<T> {
  const xhr = new XMLHttpRequest()
  const promise = new Promise<T>((resolve, reject) => {
    xhr.open('POST', buildUrl(path))
    xhr.withCredentials = false // same origin: cookies go anyway
    xhr.setRequestHeader('Accept', 'application/json')
    for (const [key, value] of Object.entries(csrfHeaders('POST'))) {
      xhr.setRequestHeader(key, value)
    }
    xhr.upload.onprogress = (event: ProgressEvent) => {
      if (!onProgress || !event.lengthComputable) return
      const percent = event.total ? Math.round((event.loaded / event.total) * 100) : 0
      onProgress({ loaded: event.loaded, total: event.total, percent })
    }
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve((xhr.responseText ? JSON.parse(xhr.responseText) : undefined) as T)
        } catch {
          reject(new ApiError(xhr.status, 'The server sent an answer the app could not read.'))
        }
        return
      }
      handleUnauthorized(xhr.status)
      reject(errorFromBody(xhr.status, xhr.responseText))
    }
    xhr.onerror = () => reject(new ApiError(0, fallbackMessage(0), 'network_error'))
    xhr.onabort = () => reject(new ApiError(0, 'Upload cancelled.', 'aborted'))
    xhr.send(form)
  })
  return { promise, abort: () => xhr.abort() }
}

/** A sentence for the user; `notFound` lets a view say what it is that can't be seen. */
export function describeError(err: unknown, notFound?: string): string {
  if (isApiError(err)) {
    if (err.status === 404 && notFound) return notFound
    return err.detail
  }
  return 'Something went wrong in the app. Please reload the page and try again.'
}
