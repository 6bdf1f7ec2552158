import { defineStore } from 'pinia'
import { ElMessage } from 'element-plus'
import { computed, ref } from 'vue'
import { describeError, isApiError } from '@/api/client'
import * as filesApi from '@/api/files'
import type { DataFile } from '@/api/types'
import { useWorkspaceStore } from './workspace'

export type UploadStatus = 'queued' | 'uploading' | 'done' | 'failed' | 'cancelled'

export interface UploadItem {
  id: number
  name: string
  size: number
  projectId: number
  folderId: number | null
  status: UploadStatus
  /** 0–100 */
  progress: number
  loaded: number
  error: string
  fieldErrors: Record<string, string[]>
  result: DataFile | null
}

/** How many files go up at once; more only splits the same bandwidth. */
export const MAX_PARALLEL = 2

/**
 * The upload queue. Lives outside any view so uploads keep going while the user browses;
 * each finished upload refreshes the workspace listing if it is showing that folder.
 */
export const useUploadsStore = defineStore('uploads', () => {
  const items = ref<UploadItem[]>([])
  const panelOpen = ref(false)
  const files = new Map<number, File>()
  const aborts = new Map<number, () => void>()
  let nextId = 1

  const activeCount = computed(
    () => items.value.filter((i) => i.status === 'queued' || i.status === 'uploading').length,
  )
  const overallProgress = computed(() => {
    const active = items.value.filter((i) => i.status === 'queued' || i.status === 'uploading')
    const total = active.reduce((sum, i) => sum + i.size, 0)
    if (!total) return active.length ? 0 : 100
    return Math.round((active.reduce((sum, i) => sum + i.loaded, 0) / total) * 100)
  })

  function enqueue(fileList: Iterable<File>, projectId: number, folderId: number | null): void {
    for (const file of fileList) {
      const id = nextId++
      files.set(id, file)
      items.value.push({
        id,
        name: file.name,
        size: file.size,
        projectId,
        folderId,
        status: 'queued',
        progress: 0,
        loaded: 0,
        error: '',
        fieldErrors: {},
        result: null,
      })
    }
    panelOpen.value = true
    pump()
  }

  function item(id: number): UploadItem | undefined {
    return items.value.find((i) => i.id === id)
  }

  function pump(): void {
    let running = items.value.filter((i) => i.status === 'uploading').length
    for (const queued of items.value) {
      if (running >= MAX_PARALLEL) break
      if (queued.status !== 'queued') continue
      running += 1
      void start(queued.id)
    }
  }

  async function start(id: number): Promise<void> {
    const entry = item(id)
    const file = files.get(id)
    if (!entry || !file) return
    entry.status = 'uploading'
    const handle = filesApi.uploadFile(
      file,
      { project: entry.projectId, folder: entry.folderId },
      ({ loaded, percent }) => {
        const current = item(id)
        if (current) {
          current.loaded = loaded
          current.progress = percent
        }
      },
    )
    aborts.set(id, handle.abort)
    try {
      const created = await handle.promise
      const done = item(id)
      if (done) {
        done.status = 'done'
        done.progress = 100
        done.loaded = done.size
        done.result = created
      }
      ElMessage.success(`Uploaded ${created.name}`)
      await useWorkspaceStore()
        .refreshIfShowing(entry.projectId, entry.folderId)
        .catch(() => undefined)
    } catch (err) {
      const failed = item(id)
      if (failed) {
        if (isApiError(err) && err.code === 'aborted') {
          failed.status = 'cancelled'
        } else {
          failed.status = 'failed'
          failed.error = describeError(err)
          failed.fieldErrors = isApiError(err) ? err.fieldErrors : {}
        }
      }
    } finally {
      aborts.delete(id)
      files.delete(id)
      pump()
    }
  }

  function cancel(id: number): void {
    const entry = item(id)
    if (!entry) return
    if (entry.status === 'queued') {
      entry.status = 'cancelled'
      files.delete(id)
    } else if (entry.status === 'uploading') {
      aborts.get(id)?.()
    }
  }

  function clearFinished(): void {
    items.value = items.value.filter((i) => i.status === 'queued' || i.status === 'uploading')
  }

  return {
    items,
    panelOpen,
    activeCount,
    overallProgress,
    enqueue,
    cancel,
    clearFinished,
  }
})
