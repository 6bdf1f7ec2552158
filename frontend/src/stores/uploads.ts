import { defineStore } from 'pinia'
import { ElMessage } from 'element-plus'
import { computed, ref } from 'vue'
import * as tus from 'tus-js-client'
import { describeError, errorFromBody, handleUnauthorized, isApiError } from '@/api/client'
import * as filesApi from '@/api/files'
import type { OnConflict } from '@/api/files'
import * as foldersApi from '@/api/folders'
import * as uploadsApi from '@/api/uploads'
import type { DataFile, Folder } from '@/api/types'
import type { DroppedFile } from '@/utils/dropEntries'
import { formatBytes } from '@/utils/format'
import { useWorkspaceStore } from './workspace'

export type UploadState =
  | 'queued'
  | 'uploading'
  | 'paused'
  | 'retrying'
  /**
   * All bytes are on the server; it verifies them (SHA-256, MD5, the optional checksum) and
   * stores the file, then the stored file and its checksums are fetched.
   */
  | 'finishing'
  | 'done'
  | 'failed'
  | 'cancelled'
  /** Known from an earlier visit (localStorage); needs the file chosen again to go on. */
  | 'interrupted'

export interface UploadItem {
  id: number
  name: string
  size: number
  type: string
  projectId: number
  folderId: number | null
  /** Where the file goes, for people: "Liver atlas/raw/run1". */
  target: string
  state: UploadState
  /** Bytes the server has. */
  loaded: number
  /** 0–100 */
  progress: number
  /** Bytes per second, smoothed; 0 while unknown. */
  speed: number
  /** Seconds left at the current speed; null while unknown. */
  eta: number | null
  /** Retry attempt (1-based) while state is "retrying". */
  attempt: number
  retryReason: string
  error: string
  fieldErrors: Record<string, string[]>
  /** The tus upload's URL once the server created it. */
  uploadUrl: string | null
  /** Whether the browser still holds the file (so the upload can go on or be tried again). */
  hasFile: boolean
  result: DataFile | null
  /** The uploader confirmed consent / de-identification (projects holding human data). */
  consent?: boolean
  /** What to do when the name is taken, decided before the upload starts. */
  onConflict?: OnConflict
  /** The server refused the upload itself (403, 409 name taken): Resume can't help. */
  refused?: boolean
}

/** How many files go up at once; more only splits the same bandwidth. */
export const MAX_PARALLEL = 3
/** Bytes per PATCH request: a lost connection costs at most this much. */
export const CHUNK_SIZE = 8 * 1024 * 1024
export const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000]
/** localStorage key of the unfinished uploads this browser started (to resume after a reload). */
export const REGISTRY_KEY = 'bfm:uploads'
/**
 * How often to ask for the stored file after the last byte went up, and how many times while the
 * server does not say it is verifying the file (while it is, as long as that takes: hashing a
 * large file takes a while).
 */
export const FINISH_POLL_MS = 1000
export const FINISH_POLL_TRIES = 15

/** What the registry keeps of an unfinished upload. */
export interface RegistryEntry {
  uploadUrl: string
  filename: string
  size: number
  type: string
  project: number
  folder: number | null
  target: string
  createdAt: string
}

export function readRegistry(): RegistryEntry[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(REGISTRY_KEY) ?? '[]')
    return Array.isArray(parsed)
      ? (parsed as RegistryEntry[]).filter(
          (e) => e && typeof e.uploadUrl === 'string' && typeof e.filename === 'string',
        )
      : []
  } catch {
    return []
  }
}

function writeRegistry(entries: RegistryEntry[]): void {
  try {
    if (entries.length) localStorage.setItem(REGISTRY_KEY, JSON.stringify(entries))
    else localStorage.removeItem(REGISTRY_KEY)
  } catch {
    // Storage full or disabled: uploads still work, they just can't be resumed after a reload.
  }
}

/** Drops tus-js-client's own resume entries (`tus::<fingerprint>::<n>`) for an upload URL. */
function forgetTusEntries(uploadUrl: string): void {
  try {
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const key = localStorage.key(i)
      if (!key?.startsWith('tus::')) continue
      try {
        if (JSON.parse(localStorage.getItem(key) ?? '{}').uploadUrl === uploadUrl) {
          localStorage.removeItem(key)
        }
      } catch {
        // not ours to judge
      }
    }
  } catch {
    // storage unavailable
  }
}

function statusOf(err: unknown): number {
  const res = (err as tus.DetailedError | null)?.originalResponse
  return res ? res.getStatus() : 0
}

function bodyOf(err: unknown): string {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

const RUNNING: UploadState[] = ['uploading', 'retrying']
const ACTIVE: UploadState[] = ['queued', 'uploading', 'retrying', 'paused', 'finishing']

/**
 * The upload queue, over tus (resumable, 8 MiB chunks, retries). Lives outside any view so
 * uploads keep going while the user browses; each finished upload refreshes the workspace
 * listing if it is showing that folder. Unfinished uploads are remembered in localStorage so
 * that after a reload they show as "interrupted" and go on from the server's offset once the
 * user picks the same file again.
 */
export const useUploadsStore = defineStore('uploads', () => {
  const items = ref<UploadItem[]>([])
  const panelOpen = ref(false)
  const files = new Map<number, File>()
  const uploads = new Map<number, tus.Upload>()
  const samples = new Map<number, { t: number; bytes: number }>()
  let maxSize: Promise<number | null> | null = null
  let restored = false
  let nextId = 1

  const activeCount = computed(() => items.value.filter((i) => ACTIVE.includes(i.state)).length)
  const interruptedCount = computed(
    () => items.value.filter((i) => i.state === 'interrupted').length,
  )
  const overallProgress = computed(() => {
    const active = items.value.filter((i) => ACTIVE.includes(i.state))
    const total = active.reduce((sum, i) => sum + i.size, 0)
    if (!total) return active.length ? 0 : 100
    return Math.floor((active.reduce((sum, i) => sum + i.loaded, 0) / total) * 100)
  })
  const finished = computed(() => items.value.filter((i) => i.state === 'done' && i.result))

  function item(id: number): UploadItem | undefined {
    return items.value.find((i) => i.id === id)
  }

  function newItem(fields: Partial<UploadItem> & Pick<UploadItem, 'name' | 'size'>): UploadItem {
    return {
      id: nextId++,
      type: '',
      projectId: 0,
      folderId: null,
      target: '',
      state: 'queued',
      loaded: 0,
      progress: 0,
      speed: 0,
      eta: null,
      attempt: 0,
      retryReason: '',
      error: '',
      fieldErrors: {},
      uploadUrl: null,
      hasFile: false,
      result: null,
      ...fields,
    }
  }

  // ---- registry of unfinished uploads (localStorage) ----------------------------------------

  function remember(entry: UploadItem): void {
    if (!entry.uploadUrl) return
    const others = readRegistry().filter((e) => e.uploadUrl !== entry.uploadUrl)
    others.push({
      uploadUrl: entry.uploadUrl,
      filename: entry.name,
      size: entry.size,
      type: entry.type,
      project: entry.projectId,
      folder: entry.folderId,
      target: entry.target,
      createdAt: new Date().toISOString(),
    })
    writeRegistry(others)
  }

  function forget(uploadUrl: string | null): void {
    if (!uploadUrl) return
    writeRegistry(readRegistry().filter((e) => e.uploadUrl !== uploadUrl))
    forgetTusEntries(uploadUrl)
  }

  /**
   * Shows the uploads an earlier visit left unfinished as "interrupted" rows, with how far
   * they got; ones the server no longer has are forgotten. Runs once per page load.
   */
  async function restoreInterrupted(): Promise<void> {
    if (restored) return
    restored = true
    const known = new Set(items.value.map((i) => i.uploadUrl))
    const rows: UploadItem[] = []
    for (const e of readRegistry()) {
      if (known.has(e.uploadUrl)) continue
      const row = newItem({
        name: e.filename,
        size: e.size,
        type: e.type ?? '',
        projectId: e.project,
        folderId: e.folder ?? null,
        target: e.target ?? '',
        state: 'interrupted',
        uploadUrl: e.uploadUrl,
      })
      items.value.push(row)
      rows.push(items.value[items.value.length - 1])
    }
    await Promise.all(rows.map((row) => refreshInterrupted(row)))
  }

  async function refreshInterrupted(row: UploadItem): Promise<void> {
    const uuid = uploadsApi.uploadIdFromUrl(row.uploadUrl)
    if (!uuid) return
    try {
      const status = await uploadsApi.getUploadStatus(uuid)
      if (status.state === 'active') {
        row.loaded = status.offset
        row.progress = status.length ? Math.floor((status.offset / status.length) * 100) : 0
        return
      }
      if (status.state === 'completed' && status.file != null) {
        // It did finish: the page closed before it could say so.
        forget(row.uploadUrl)
        row.state = 'finishing'
        row.loaded = row.size
        row.progress = 100
        await fetchResult(row, status.file, false)
        return
      }
      if (status.state === 'verifying') {
        // Every byte arrived before the page closed; the server is still verifying the file.
        forget(row.uploadUrl)
        row.state = 'finishing'
        row.loaded = row.size
        row.progress = 100
        void finish(row)
        return
      }
      // Terminated, expired or failed on the server: nothing left to resume.
      forget(row.uploadUrl)
      items.value = items.value.filter((i) => i.id !== row.id)
    } catch (err) {
      if (isApiError(err) && (err.status === 404 || err.status === 410)) {
        forget(row.uploadUrl)
        items.value = items.value.filter((i) => i.id !== row.id)
      }
      // Otherwise keep the row: the server may just be unreachable right now.
    }
  }

  /**
   * Goes on with an interrupted upload once the user chose its file again. Returns false (and
   * says why on the row) when the chosen file is not the same one (name and size).
   */
  function resumeInterrupted(id: number, file: File): boolean {
    const entry = item(id)
    if (!entry || entry.state !== 'interrupted') return false
    if (file.name !== entry.name || file.size !== entry.size) {
      entry.error =
        `That is not the same file: “${file.name}” (${formatBytes(file.size)}) was chosen, ` +
        `but this upload is “${entry.name}” (${formatBytes(entry.size)}).`
      return false
    }
    files.set(id, file)
    entry.hasFile = true
    entry.type = file.type
    entry.error = ''
    entry.state = 'queued'
    pump()
    return true
  }

  /** Deletes an interrupted upload on the server (tus termination) and forgets it. */
  async function discardInterrupted(id: number): Promise<void> {
    const entry = item(id)
    if (!entry) return
    try {
      if (entry.uploadUrl) await terminate(entry.uploadUrl)
    } catch (err) {
      const status = statusOf(err)
      if (status !== 404 && status !== 410) {
        entry.error = `Couldn't cancel the upload on the server: ${describeUploadError(err)}`
        return
      }
    }
    forget(entry.uploadUrl)
    items.value = items.value.filter((i) => i.id !== id)
  }

  function terminate(uploadUrl: string): Promise<void> {
    return tus.Upload.terminate(uploadUrl, {
      headers: uploadsApi.tusHeaders(),
      retryDelays: [0, 1000],
    })
  }

  // ---- queue ----------------------------------------------------------------------------------

  function enqueue(
    fileList: Iterable<File>,
    projectId: number,
    folderId: number | null,
    target = '',
    consent = false,
    choices: Map<string, OnConflict> = new Map(),
  ): void {
    for (const file of fileList) {
      const entry = newItem({
        name: file.name,
        size: file.size,
        type: file.type,
        projectId,
        folderId,
        target,
        hasFile: true,
        consent,
        onConflict: choices.get(file.name),
      })
      files.set(entry.id, file)
      items.value.push(entry)
    }
    panelOpen.value = true
    pump()
  }

  function pump(): void {
    let running = items.value.filter((i) => RUNNING.includes(i.state)).length
    for (const queued of items.value) {
      if (running >= MAX_PARALLEL) break
      if (queued.state !== 'queued') continue
      running += 1
      void start(queued.id)
    }
  }

  function uploadOptions(id: number, entry: UploadItem, file: File): tus.UploadOptions {
    const metadata: Record<string, string> = {
      filename: file.name,
      project: String(entry.projectId),
      filetype: file.type || 'application/octet-stream',
    }
    if (entry.folderId != null) metadata.folder = String(entry.folderId)
    if (entry.consent) metadata.consent = 'confirmed'
    if (entry.onConflict && entry.onConflict !== 'refuse') metadata.on_conflict = entry.onConflict
    return {
      endpoint: uploadsApi.tusEndpoint(),
      uploadUrl: entry.uploadUrl,
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
      metadata,
      onProgress: (sent, total) => onProgress(id, sent, total),
      onUploadUrlAvailable: () => {
        const current = item(id)
        const url = uploads.get(id)?.url ?? null
        if (!current || !url) return
        current.uploadUrl = url
        remember(current)
      },
      onShouldRetry: (err, attempt) => onShouldRetry(id, err, attempt),
      onError: (err) => void onError(id, err),
      onSuccess: () => void onSuccess(id),
    }
  }

  async function start(id: number): Promise<void> {
    const entry = item(id)
    const file = files.get(id)
    if (!entry || !file) return
    entry.state = 'uploading'
    entry.error = ''
    entry.fieldErrors = {}
    entry.attempt = 0
    entry.retryReason = ''
    entry.speed = 0
    entry.eta = null
    samples.delete(id)
    const existing = uploads.get(id)
    if (existing) {
      // Resume after a pause or a failure: tus asks the server for its offset (HEAD) first.
      existing.start()
      return
    }
    const upload = new tus.Upload(file, uploadOptions(id, entry, file))
    uploads.set(id, upload)
    try {
      const previous = await upload.findPreviousUploads()
      const match = previous.find(
        (p) =>
          p.uploadUrl &&
          (entry.uploadUrl
            ? p.uploadUrl === entry.uploadUrl
            : p.metadata?.project === String(entry.projectId) &&
              (p.metadata?.folder ?? '') ===
                (entry.folderId == null ? '' : String(entry.folderId))),
      )
      if (match) upload.resumeFromPreviousUpload(match)
    } catch {
      // No stored uploads to look at: start afresh.
    }
    // Paused or cancelled while looking.
    if (item(id)?.state !== 'uploading' || uploads.get(id) !== upload) return
    upload.start()
  }

  function onProgress(id: number, sent: number, total: number): void {
    const entry = item(id)
    if (!entry) return
    if (entry.state === 'retrying') {
      entry.state = 'uploading'
      entry.retryReason = ''
    }
    entry.loaded = sent
    entry.progress = total ? Math.floor((sent / total) * 100) : 0
    const now = Date.now()
    const last = samples.get(id)
    if (!last) {
      samples.set(id, { t: now, bytes: sent })
      return
    }
    const dt = (now - last.t) / 1000
    if (dt < 0.5) return
    const rate = (sent - last.bytes) / dt
    samples.set(id, { t: now, bytes: sent })
    if (rate < 0) return
    // Exponential smoothing so the figure doesn't jump with every chunk.
    entry.speed = entry.speed ? 0.3 * rate + 0.7 * entry.speed : rate
    entry.eta = entry.speed > 0 ? Math.max(0, (total - sent) / entry.speed) : null
  }

  function onShouldRetry(id: number, err: tus.DetailedError, attempt: number): boolean {
    const status = statusOf(err)
    if (!isRetryable(status)) return false
    const entry = item(id)
    if (entry) {
      entry.state = 'retrying'
      entry.attempt = attempt + 1
      entry.retryReason = retryReason(status)
      entry.speed = 0
      entry.eta = null
      samples.delete(id)
    }
    return true
  }

  async function onError(id: number, err: Error): Promise<void> {
    const entry = item(id)
    if (!entry || entry.state === 'cancelled' || entry.state === 'paused') return
    const status = statusOf(err)
    entry.state = 'failed'
    entry.speed = 0
    entry.eta = null
    samples.delete(id)
    if (status === 401) handleUnauthorized(401)
    if (status === 404 || status === 410) {
      // The server forgot the upload: Resume starts it over.
      forget(entry.uploadUrl)
      entry.uploadUrl = null
      uploads.delete(id)
    }
    if (status === 400 || status === 403) {
      entry.fieldErrors = errorFromBody(status, bodyOf(err)).fieldErrors
    }
    const code = errorFromBody(status, bodyOf(err)).code
    if (status === 403 || (status === 409 && code === 'name_conflict')) {
      // Refused for good: trying the same request again would be refused again.
      entry.refused = true
      entry.hasFile = false
      uploads.delete(id)
      forget(entry.uploadUrl)
      entry.uploadUrl = null
    }
    pump()
    if (status === 413) {
      maxSize ??= uploadsApi.fetchMaxUploadSize()
      entry.error = describeUploadError(err, await maxSize)
    } else {
      entry.error = describeUploadError(err)
    }
  }

  async function onSuccess(id: number): Promise<void> {
    const entry = item(id)
    if (!entry) return
    entry.state = 'finishing'
    entry.loaded = entry.size
    entry.progress = 100
    entry.speed = 0
    entry.eta = 0
    samples.delete(id)
    uploads.delete(id)
    files.delete(id)
    entry.hasFile = false
    forget(entry.uploadUrl)
    pump()
    await finish(entry)
  }

  /**
   * After the last byte: the server verifies and stores the file in the background
   * (`verifying`); poll until it says which file it stored (or why it could not), then fetch
   * the file and its checksums.
   */
  async function finish(entry: UploadItem): Promise<void> {
    const uuid = uploadsApi.uploadIdFromUrl(entry.uploadUrl)
    if (!uuid) {
      entry.state = 'done'
      return
    }
    try {
      for (let attempt = 1; ; attempt++) {
        const status = await uploadsApi.getUploadStatus(uuid)
        if (status.file != null) {
          await fetchResult(entry, status.file, true)
          return
        }
        if (
          status.state === 'failed' ||
          status.state === 'terminated' ||
          status.state === 'expired'
        ) {
          entry.state = 'failed'
          entry.error = status.error || 'The server could not store the file — upload it again.'
          return
        }
        if (status.state !== 'verifying' && attempt >= FINISH_POLL_TRIES) break
        await sleep(FINISH_POLL_MS)
      }
      entry.state = 'done'
      entry.error = 'Uploaded; the server is still storing the file — it appears in the list soon.'
    } catch (err) {
      entry.state = 'done'
      entry.error = `Uploaded, but its checksums could not be fetched: ${describeError(err)}`
    }
  }

  async function fetchResult(entry: UploadItem, fileId: number, announce: boolean): Promise<void> {
    try {
      entry.result = await filesApi.getFile(fileId)
      entry.error = ''
    } catch (err) {
      entry.error = `Uploaded, but its checksums could not be fetched: ${describeError(err)}`
    }
    entry.state = 'done'
    if (announce) ElMessage.success(`Uploaded ${entry.result?.name ?? entry.name}`)
    await useWorkspaceStore()
      .refreshIfShowing(entry.projectId, entry.folderId)
      .catch(() => undefined)
  }

  // ---- user actions ---------------------------------------------------------------------------

  function pause(id: number): void {
    const entry = item(id)
    if (!entry || !['queued', 'uploading', 'retrying'].includes(entry.state)) return
    entry.state = 'paused'
    entry.speed = 0
    entry.eta = null
    entry.retryReason = ''
    samples.delete(id)
    void uploads.get(id)?.abort(false)
    pump()
  }

  /** Resumes a paused upload, or tries a failed one again (from the server's offset). */
  function resume(id: number): void {
    const entry = item(id)
    if (!entry || (entry.state !== 'paused' && entry.state !== 'failed')) return
    if (!files.has(id)) return
    entry.state = 'queued'
    entry.error = ''
    pump()
  }

  /** Stops an upload and deletes what the server already has (tus termination). */
  async function cancel(id: number): Promise<void> {
    const entry = item(id)
    if (!entry) return
    if (entry.state === 'interrupted') return discardInterrupted(id)
    if (!['queued', 'uploading', 'retrying', 'paused', 'failed'].includes(entry.state)) return
    entry.state = 'cancelled'
    entry.speed = 0
    entry.eta = null
    entry.error = ''
    const upload = uploads.get(id)
    const url = entry.uploadUrl
    uploads.delete(id)
    files.delete(id)
    entry.hasFile = false
    samples.delete(id)
    forget(url)
    pump()
    try {
      if (upload) await upload.abort(true)
      else if (url) await terminate(url)
    } catch {
      // Already gone, or the server is unreachable: it expires the partial upload itself.
    }
  }

  function clearFinished(): void {
    items.value = items.value.filter((i) => ACTIVE.includes(i.state) || i.state === 'interrupted')
  }

  // ---- dropped folders ------------------------------------------------------------------------

  /** A sub-folder by name: created, or the existing one when the name is taken (409). */
  async function ensureFolder(projectId: number, parent: number | null, name: string) {
    try {
      return await foldersApi.createFolder({ project: projectId, parent, name })
    } catch (err) {
      if (!isApiError(err) || (err.status !== 409 && err.status !== 400)) throw err
      const existing = await foldersApi.listFolders(projectId, parent)
      const found = existing.results.find((f: Folder) => f.name === name)
      if (!found) throw err
      return found
    }
  }

  /**
   * Queues dropped files, creating their folder structure under `folderId` first (reusing
   * folders that already exist). Files whose folder can't be created show as failed rows.
   */
  async function enqueueTree(
    dropped: DroppedFile[],
    projectId: number,
    folderId: number | null,
    target = '',
    consent = false,
  ): Promise<void> {
    const folders = new Map<string, Promise<number | null>>([['', Promise.resolve(folderId)]])
    function folderFor(dirs: string[]): Promise<number | null> {
      const key = dirs.join('/')
      let pending = folders.get(key)
      if (!pending) {
        const parentDirs = dirs.slice(0, -1)
        pending = folderFor(parentDirs).then(async (parent) => {
          const created = await ensureFolder(projectId, parent, dirs[dirs.length - 1])
          return created.id
        })
        folders.set(key, pending)
      }
      return pending
    }
    let createdAny = false
    for (const { file, dirs } of dropped) {
      const label = dirs.length ? `${target}/${dirs.join('/')}` : target
      try {
        const id = await folderFor(dirs)
        if (dirs.length) createdAny = true
        enqueue([file], projectId, id, label, consent)
      } catch (err) {
        items.value.push(
          newItem({
            name: file.name,
            size: file.size,
            type: file.type,
            projectId,
            folderId,
            target: label,
            state: 'failed',
            error: `The folder “${dirs.join('/')}” could not be created: ${describeError(err)}`,
          }),
        )
        panelOpen.value = true
      }
    }
    if (createdAny) {
      await useWorkspaceStore()
        .refreshFoldersIfShowing(projectId, folderId)
        .catch(() => undefined)
    }
  }

  return {
    items,
    panelOpen,
    activeCount,
    interruptedCount,
    overallProgress,
    finished,
    enqueue,
    enqueueTree,
    pause,
    resume,
    cancel,
    clearFinished,
    restoreInterrupted,
    resumeInterrupted,
    discardInterrupted,
  }
})
