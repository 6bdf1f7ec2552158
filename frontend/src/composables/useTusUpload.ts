import * as tus from 'tus-js-client'
import { errorFromBody } from '@/api/client'
import type { OnConflict } from '@/api/files'
import * as uploadsApi from '@/api/uploads'
import { formatBytes } from '@/utils/format'

/**
 * One upload's tus lifecycle over tus-js-client: create (or resume a stored upload of the same
 * file into the same place), send in chunks with retries, pause, cancel with termination. It
 * holds no queue and no UI state: it tells its owner what happened through `TusEvents` (the
 * upload store turns those into rows).
 *
 * Public surface: `useTusUpload`, `terminateUpload`, `CHUNK_SIZE`, `RETRY_DELAYS`,
 * `isRetryable`, `retryReason`, `describeUploadError`, `statusOf`, `bodyOf`.
 */

/** Bytes per PATCH request: a lost connection costs at most this much. */
export const CHUNK_SIZE = 8 * 1024 * 1024
export const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000]

/** Where and how a file goes up. */
export interface TusTarget {
  projectId: number
  folderId: number | null
  /** The upload's URL when it exists on the server already (resume after a reload). */
  uploadUrl: string | null
  /** The uploader confirmed consent / de-identification (projects holding human data). */
  consent?: boolean
  /** What to do when the name is taken, decided before the upload starts. */
  onConflict?: OnConflict
}

export interface TusProgress {
  /** Bytes the server has. */
  loaded: number
  /** 0–100 */
  progress: number
  /** Bytes per second, smoothed; null while unknown (keep the last figure). */
  speed: number | null
  /** Seconds left at the current speed; null while unknown. */
  eta: number | null
}

export interface TusEvents {
  /** The server created the upload: its URL (to remember for a resume after a reload). */
  url: (uploadUrl: string) => void
  progress: (progress: TusProgress) => void
  /** A request failed in a way worth trying again; tus tries again by itself. */
  retry: (attempt: number, status: number) => void
  /** The upload stopped for good (or until the user resumes it). */
  error: (err: Error, status: number) => void
  /** Every byte is on the server. */
  success: () => void
}

export interface TusUpload {
  /** Starts, or resumes after a pause or failure (tus asks the server's offset first). */
  start: () => Promise<void>
  /** Stops the running request; with `terminate`, deletes what the server has. */
  abort: (terminate: boolean) => Promise<void>
}

export function statusOf(err: unknown): number {
  const res = (err as tus.DetailedError | null)?.originalResponse
  return res ? res.getStatus() : 0
}

export function bodyOf(err: unknown): string {
  try {
    return (err as tus.DetailedError | null)?.originalResponse?.getBody() ?? ''
  } catch {
    return ''
  }
}

/**
 * Statuses worth trying again: no answer, server trouble, lock, damaged chunk. Never a 409: a
 * taken name is decided before the upload starts (Replace / Keep both / Skip), and an offset
 * race ends as a failed row whose Resume asks the server for its offset first.
 */
export function isRetryable(status: number): boolean {
  return status === 0 || status >= 500 || status === 423 || status === 460
}

export function retryReason(status: number): string {
  if (status === 0) return 'The connection dropped'
  if (status === 460) return 'A piece of the file arrived damaged'
  if (status === 423) return 'The server is still busy with the last piece'
  if (status === 409) return 'The server had a different position in the file'
  return 'The server ran into a problem'
}

/** Words for an upload that stopped for good. */
export function describeUploadError(err: unknown, maxSize: number | null = null): string {
  const status = statusOf(err)
  if (status === 413) {
    return maxSize
      ? `This file is larger than the server accepts (limit ${formatBytes(maxSize)}).`
      : 'This file is larger than the server accepts.'
  }
  if (status === 404 || status === 410) {
    return 'The upload expired or was cancelled — start it again.'
  }
  if (status === 460) return 'Pieces of the file kept arriving damaged — try again later.'
  if (status === 0) {
    return "Can't reach the server — check your connection, then press Resume."
  }
  if (status === 403 || status === 400 || status === 401 || status >= 500) {
    return errorFromBody(status, bodyOf(err)).detail
  }
  const parsed = errorFromBody(status, bodyOf(err))
  return parsed.detail !== 'The request could not be completed.'
    ? parsed.detail
    : 'The upload could not be completed.'
}

/** Deletes an upload on the server (tus termination) by its URL. */
export function terminateUpload(uploadUrl: string): Promise<void> {
  return tus.Upload.terminate(uploadUrl, {
    headers: uploadsApi.tusHeaders(),
    retryDelays: [0, 1000],
  })
}

function metadataFor(file: File, target: TusTarget): Record<string, string> {
  const metadata: Record<string, string> = {
    filename: file.name,
    project: String(target.projectId),
    filetype: file.type || 'application/octet-stream',
  }
  if (target.folderId != null) metadata.folder = String(target.folderId)
  if (target.consent) metadata.consent = 'confirmed'
  if (target.onConflict && target.onConflict !== 'refuse') metadata.on_conflict = target.onConflict
  return metadata
}

/** A stored upload of the same file (tus fingerprint) into the same place, to resume. */
function sameUpload(previous: tus.PreviousUpload[], target: TusTarget): tus.PreviousUpload | null {
  const folder = target.folderId == null ? '' : String(target.folderId)
  return (
    previous.find(
      (p) =>
        p.uploadUrl &&
        (target.uploadUrl
          ? p.uploadUrl === target.uploadUrl
          : p.metadata?.project === String(target.projectId) &&
            (p.metadata?.folder ?? '') === folder),
    ) ?? null
  )
}

/** Smoothed bytes per second from progress samples at least half a second apart. */
function throughput() {
  let last: { t: number; bytes: number } | null = null
  let speed = 0
  return {
    reset(): void {
      last = null
      speed = 0
    },
    sample(sent: number, total: number): Pick<TusProgress, 'speed' | 'eta'> {
      const now = Date.now()
      if (!last) {
        last = { t: now, bytes: sent }
        return { speed: null, eta: null }
      }
      const dt = (now - last.t) / 1000
      if (dt < 0.5) return { speed: null, eta: null }
      const rate = (sent - last.bytes) / dt
      last = { t: now, bytes: sent }
      if (rate < 0) return { speed: null, eta: null }
      // Exponential smoothing so the figure doesn't jump with every chunk.
      speed = speed ? 0.3 * rate + 0.7 * speed : rate
      return { speed, eta: speed > 0 ? Math.max(0, (total - sent) / speed) : null }
    },
  }
}

export function useTusUpload(file: File, target: TusTarget, on: TusEvents): TusUpload {
  const rate = throughput()
  let upload: tus.Upload | null = null
  /** Bumped by every start and abort: a start still looking for stored uploads then gives up. */
  let generation = 0

  const options: tus.UploadOptions = {
    endpoint: uploadsApi.tusEndpoint(),
    uploadUrl: target.uploadUrl,
    chunkSize: CHUNK_SIZE,
    retryDelays: RETRY_DELAYS,
    removeFingerprintOnSuccess: true,
    storeFingerprintForResuming: true,
    // The CSRF token changes when the user signs in again, so it is read on every request
    // (and only here: a header set both in `headers` and here would be sent twice, joined).
    onBeforeRequest: (req) => {
      for (const [name, value] of Object.entries(uploadsApi.tusHeaders())) {
        req.setHeader(name, value)
      }
    },
    metadata: metadataFor(file, target),
    onProgress: (sent, total) =>
      on.progress({
        loaded: sent,
        progress: total ? Math.floor((sent / total) * 100) : 0,
        ...rate.sample(sent, total),
      }),
    onUploadUrlAvailable: () => {
      if (upload?.url) on.url(upload.url)
    },
    onShouldRetry: (err, attempt) => {
      const status = statusOf(err)
      if (!isRetryable(status)) return false
      rate.reset()
      on.retry(attempt + 1, status)
      return true
    },
    onError: (err) => {
      rate.reset()
      on.error(err, statusOf(err))
    },
    onSuccess: () => {
      rate.reset()
      on.success()
    },
  }

  async function start(): Promise<void> {
    const run = ++generation
    rate.reset()
    if (upload) {
      upload.start()
      return
    }
    const created = new tus.Upload(file, options)
    upload = created
    try {
      const match = sameUpload(await created.findPreviousUploads(), target)
      if (match) created.resumeFromPreviousUpload(match)
    } catch {
      // No stored uploads to look at: start afresh.
    }
    // Paused or cancelled while looking.
    if (run !== generation) return
    created.start()
  }

  async function abort(terminate: boolean): Promise<void> {
    generation += 1
    rate.reset()
    if (upload) await upload.abort(terminate)
  }

  return { start, abort }
}
