/**
 * Test doubles for the network: a scripted `fetch` and a controllable XMLHttpRequest.
 */
import { vi } from 'vitest'

export interface Call {
  url: string
  method: string
  headers: Record<string, string>
  body: unknown
}

type Responder = (call: Call) => { status?: number; body?: unknown } | undefined

export function jsonResponse(status: number, body?: unknown): Response {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)
  return new Response(status === 204 ? null : text, {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

/**
 * Replaces fetch with a router of `"METHOD /path"` (query string ignored) to responses.
 * Returns the recorded calls.
 */
export function mockFetch(routes: Record<string, Responder | { status?: number; body?: unknown }>) {
  const calls: Call[] = []
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input)
    const method = (init.method ?? 'GET').toUpperCase()
    const headers = Object.fromEntries(new Headers(init.headers).entries())
    const body =
      typeof init.body === 'string' ? JSON.parse(init.body) : ((init.body as unknown) ?? undefined)
    const call = { url, method, headers, body }
    calls.push(call)
    const key = `${method} ${url.split('?')[0]}`
    const route = routes[key]
    const answer = typeof route === 'function' ? route(call) : route
    if (!answer) return jsonResponse(404, { detail: 'Not found.', code: 'not_found' })
    return jsonResponse(answer.status ?? 200, answer.body)
  })
  vi.stubGlobal('fetch', fn)
  return { calls, fn }
}

export function page<T>(results: T[]) {
  return { count: results.length, next: null, previous: null, results }
}

type Listener = ((event: ProgressEvent) => void) | null

/** A fake XMLHttpRequest the test drives: progress(), respond(), fail(). */
export class FakeXHR {
  static instances: FakeXHR[] = []
  method = ''
  url = ''
  headers: Record<string, string> = {}
  body: unknown = null
  status = 0
  responseText = ''
  withCredentials = false
  upload: { onprogress: Listener } = { onprogress: null }
  onload: (() => void) | null = null
  onerror: (() => void) | null = null
  onabort: (() => void) | null = null

  constructor() {
    FakeXHR.instances.push(this)
  }

  open(method: string, url: string): void {
    this.method = method
    this.url = url
  }

  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value
  }

  send(body: unknown): void {
    this.body = body
  }

  abort(): void {
    this.onabort?.()
  }

  progress(loaded: number, total: number): void {
    this.upload.onprogress?.({ loaded, total, lengthComputable: true } as ProgressEvent)
  }

  respond(status: number, body: unknown): void {
    this.status = status
    this.responseText = typeof body === 'string' ? body : JSON.stringify(body)
    this.onload?.()
  }

  static last(): FakeXHR {
    const xhr = FakeXHR.instances.at(-1)
    if (!xhr) throw new Error('no XMLHttpRequest was made')
    return xhr
  }

  static install(): void {
    FakeXHR.instances = []
    vi.stubGlobal('XMLHttpRequest', FakeXHR)
  }
}

export function setCookie(value: string): void {
  document.cookie = value
}
