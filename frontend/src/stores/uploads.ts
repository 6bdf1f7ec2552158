import { defineStore } from 'pinia'
import { ElMessage } from 'element-plus'
import { computed, ref } from 'vue'
import { describeError, errorFromBody, handleUnauthorized, isApiError } from '@/api/client'
import * as filesApi from '@/api/files'
import type { OnConflict } from '@/api/files'
import * as foldersApi from '@/api/folders'
import * as uploadsApi from '@/api/uploads'
import type { DataFile } from '@/api/types'
import { POLL_MS, usePoll } from '@/composables/usePoll'
import {
  bodyOf,
  statusOf,
  describeUploadError,
  retryReason,
  terminateUpload,
  useTusUpload,
  type TusUpload,
} from '@/composables/useTusUpload'
import type { DroppedFile } from '@/utils/dropEntries'
import { formatBytes } from '@/utils/format'
import { forgetUpload, readRegistry, rememberUpload } from '@/utils/uploadRegistry'
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
/**
 * How often to ask for the stored file after the last byte went up, and how many times while the
 * server does not say it is verifying the file (while it is, as long as that takes: hashing a
 * large file takes a while).
 */
export const FINISH_POLL_MS = POLL_MS.progress
export const FINISH_POLL_TRIES = 15

const RUNNING: UploadState[] = ['uploading', 'retrying']
const ACTIVE: UploadState[] = ['queued', 'uploading', 'retrying', 'paused', 'finishing']

/**
 * The upload queue and its rows: which uploads run (at most MAX_PARALLEL), what each row
 * shows, and what happens after the last byte. One upload's tus lifecycle is `useTusUpload`;
 * the localStorage records are `utils/uploadRegistry`. Lives outside any view so
 * uploads keep going while the user browses; each finished upload refreshes the workspace
 * listing if it is showing that folder. Unfinished uploads are remembered in localStorage so
 * that after a reload they show as "interrupted" and go on from the server's offset once the
 * user picks the same file again.
 */
export const useUploadsStore = defineStore('uploads', () => {
  const items = ref<UploadItem[]>([])
  const panelOpen = ref(false)
  const files = new Map<number, File>()
  const uploads = new Map<number, TusUpload>()
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

  function remember(entry: UploadItem): void {
    if (!entry.uploadUrl) return
    rememberUpload({
      uploadUrl: entry.uploadUrl,
      filename: entry.name,
      size: entry.size,
      type: entry.type,
      project: entry.projectId,
      folder: entry.folderId,
      target: entry.target,
    })
  }

  /** Forgets an upload (registry and tus entries) and takes its row off the panel. */
  function drop(row: UploadItem): void {
    forgetUpload(row.uploadUrl)
    items.value = items.value.filter((i) => i.id !== row.id)
  }

  // ---- interrupted uploads (left by an earlier visit) -----------------------------------------

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
        forgetUpload(row.uploadUrl)
        row.state = 'finishing'
        row.loaded = row.size
        row.progress = 100
        await fetchResult(row, status.file, false)
        return
      }
      if (status.state === 'verifying') {
        // Every byte arrived before the page closed; the server is still verifying the file.
        forgetUpload(row.uploadUrl)
        row.state = 'finishing'
        row.loaded = row.size
        row.progress = 100
        void finish(row)
        return
      }
      // Terminated, expired or failed on the server: nothing left to resume.
      drop(row)
    } catch (err) {
      if (isApiError(err) && (err.status === 404 || err.status === 410)) drop(row)
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
      if (entry.uploadUrl) await terminateUpload(entry.uploadUrl)
    } catch (err) {
      const status = statusOf(err)
      if (status !== 404 && status !== 410) {
        entry.error = `Couldn't cancel the upload on the server: ${describeUploadError(err)}`
        return
      }
    }
    drop(entry)
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

  /** Idle speed and time left: nothing is moving. */
  function still(entry: UploadItem, eta: number | null = null): void {
    entry.speed = 0
    entry.eta = eta
  }

  function tusFor(id: number, entry: UploadItem, file: File): TusUpload {
    return useTusUpload(file, entry, {
      url: (url) => {
        const current = item(id)
        if (!current) return
        current.uploadUrl = url
        remember(current)
      },
      progress: ({ loaded, progress, speed, eta }) => {
        const current = item(id)
        if (!current) return
        if (current.state === 'retrying') {
          current.state = 'uploading'
          current.retryReason = ''
        }
        current.loaded = loaded
        current.progress = progress
        if (speed !== null) {
          current.speed = speed
          current.eta = eta
        }
      },
      retry: (attempt, status) => {
        const current = item(id)
        if (!current) return
        current.state = 'retrying'
        current.attempt = attempt
        current.retryReason = retryReason(status)
        still(current)
      },
      error: (err, status) => void onError(id, err, status),
      success: () => void onSuccess(id),
    })
  }

  function start(id: number): void {
    const entry = item(id)
    const file = files.get(id)
    if (!entry || !file) return
    entry.state = 'uploading'
    entry.error = ''
    entry.fieldErrors = {}
    entry.attempt = 0
    entry.retryReason = ''
    still(entry)
    let upload = uploads.get(id)
    if (!upload) {
      upload = tusFor(id, entry, file)
      uploads.set(id, upload)
    }
    // A new upload looks for a stored one of the same file first; an existing one (after a
    // pause or a failure) asks the server for its offset (HEAD).
    void upload.start()
  }

  /** The browser lets go of the upload: it can't go on (a new one would start). */
  function release(entry: UploadItem): void {
    uploads.delete(entry.id)
    forgetUpload(entry.uploadUrl)
    entry.uploadUrl = null
  }

  async function onError(id: number, err: Error, status: number): Promise<void> {
    const entry = item(id)
    if (!entry || entry.state === 'cancelled' || entry.state === 'paused') return
    entry.state = 'failed'
    still(entry)
    if (status === 401) handleUnauthorized(401)
    // The server forgot the upload: Resume starts it over.
    if (status === 404 || status === 410) release(entry)
    const parsed = errorFromBody(status, bodyOf(err))
    if (status === 400 || status === 403) entry.fieldErrors = parsed.fieldErrors
    if (status === 403 || (status === 409 && parsed.code === 'name_conflict')) {
      // Refused for good: trying the same request again would be refused again.
      entry.refused = true
      entry.hasFile = false
      release(entry)
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
    still(entry, 0)
    uploads.delete(id)
    files.delete(id)
    entry.hasFile = false
    forgetUpload(entry.uploadUrl)
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
    let attempt = 0
    const poll = usePoll(
      async () => {
        attempt += 1
        try {
          const status = await uploadsApi.getUploadStatus(uuid)
          if (status.file != null) {
            await fetchResult(entry, status.file, true)
            return false
          }
          if (['failed', 'terminated', 'expired'].includes(status.state)) {
            entry.state = 'failed'
            entry.error = status.error || 'The server could not store the file — upload it again.'
            return false
          }
          if (status.state === 'verifying' || attempt < FINISH_POLL_TRIES) return
          entry.error =
            'Uploaded; the server is still storing the file — it appears in the list soon.'
        } catch (err) {
          entry.error = `Uploaded, but its checksums could not be fetched: ${describeError(err)}`
        }
        entry.state = 'done'
        return false
      },
      { interval: FINISH_POLL_MS, autoStart: false },
    )
    await poll.start()
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
    still(entry)
    entry.retryReason = ''
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
    still(entry)
    entry.error = ''
    const upload = uploads.get(id)
    const url = entry.uploadUrl
    uploads.delete(id)
    files.delete(id)
    entry.hasFile = false
    forgetUpload(url)
    pump()
    try {
      if (upload) await upload.abort(true)
      else if (url) await terminateUpload(url)
    } catch {
      // Already gone, or the server is unreachable: it expires the partial upload itself.
    }
  }

  function clearFinished(): void {
    items.value = items.value.filter((i) => ACTIVE.includes(i.state) || i.state === 'interrupted')
  }

  // ---- dropped folders ------------------------------------------------------------------------

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
    const folderFor = foldersApi.folderPaths(projectId, folderId)
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
