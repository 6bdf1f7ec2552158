import { getCookie, request } from './client'
import type { TusUploadStatus } from './types'

/** Where tus uploads are created (tus 1.0.0: creation, termination, checksum, expiration). */
export const TUS_PATH = '/api/uploads/'

/**
 * The tus endpoint as an absolute URL: tus-js-client resolves the Location of a new upload
 * against it with `new URL()`, which refuses a bare path as its base.
 */
export function tusEndpoint(): string {
  return new URL(TUS_PATH, window.location.origin).toString()
}

/** Headers for every tus request: they carry no CSRF token otherwise, and Django wants one. */
export function tusHeaders(): Record<string, string> {
  const token = getCookie('csrftoken')
  return token ? { 'X-CSRFToken': token } : {}
}

/** The upload's id from its URL (`…/api/uploads/<uuid>/`), or null when it isn't one. */
export function uploadIdFromUrl(url: string | null | undefined): string | null {
  if (!url) return null
  const match = /\/api\/uploads\/([^/?#]+)\/?(?:[?#].*)?$/.exec(url)
  return match ? decodeURIComponent(match[1]) : null
}

export function getUploadStatus(id: string): Promise<TusUploadStatus> {
  return request<TusUploadStatus>(`${TUS_PATH}${encodeURIComponent(id)}/status/`)
}

/** The largest upload the server takes (`Tus-Max-Size` from OPTIONS), or null if it won't say. */
export async function fetchMaxUploadSize(): Promise<number | null> {
  try {
    const response = await fetch(TUS_PATH, { method: 'OPTIONS', credentials: 'same-origin' })
    const value = Number.parseInt(response.headers.get('Tus-Max-Size') ?? '', 10)
    return Number.isFinite(value) && value > 0 ? value : null
  } catch {
    return null
  }
}
