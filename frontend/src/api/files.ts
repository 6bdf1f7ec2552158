import { request, upload, type UploadHandle, type UploadProgress } from './client'
import type {
  DataFile,
  DataFilePatch,
  NameConflicts,
  Paginated,
  Restored,
  SignedLink,
  TrashedFile,
} from './types'

/** Files directly in `folder` (null: the project root). */
export function listFiles(
  project: number,
  folder: number | null,
  pageSize = 100,
): Promise<Paginated<DataFile>> {
  return request<Paginated<DataFile>>('/api/files/', {
    query: { project, folder, page_size: pageSize, ordering: 'name' },
  })
}

export function getFile(id: number): Promise<DataFile> {
  return request<DataFile>(`/api/files/${id}/`)
}

export function updateFile(id: number, patch: DataFilePatch): Promise<DataFile> {
  return request<DataFile>(`/api/files/${id}/`, { method: 'PATCH', body: patch })
}

export function deleteFile(id: number): Promise<void> {
  return request<void>(`/api/files/${id}/`, { method: 'DELETE' })
}

export interface UploadFields {
  project: number
  folder?: number | null
  tags?: string[]
  description?: string
  onConflict?: OnConflict
}

export function uploadFile(
  file: File,
  fields: UploadFields,
  onProgress?: (progress: UploadProgress) => void,
): UploadHandle<DataFile> {
  const form = new FormData()
  form.append('file', file, file.name)
  form.append('project', String(fields.project))
  if (fields.folder != null) form.append('folder', String(fields.folder))
  if (fields.tags?.length) form.append('tags', fields.tags.join(','))
  if (fields.description) form.append('description', fields.description)
  if (fields.onConflict) form.append('on_conflict', fields.onConflict)
  return upload<DataFile>('/api/files/', form, onProgress)
}

export function downloadUrl(file: Pick<DataFile, 'id' | 'download_url'>): string {
  return file.download_url || `/api/files/${file.id}/download/`
}

/** A link anyone can use to download the file until it expires (`expiresIn` seconds). */
export function createSignedLink(id: number, expiresIn?: number): Promise<SignedLink> {
  return request<SignedLink>(`/api/files/${id}/download-url/`, {
    method: 'POST',
    body: expiresIn === undefined ? {} : { expires_in: expiresIn },
  })
}

/** Runs the content extraction again (answers 202 with the file, parse_status pending). */
export function reparseFile(id: number): Promise<DataFile> {
  return request<DataFile>(`/api/files/${id}/reparse/`, { method: 'POST' })
}

export type OnConflict = 'refuse' | 'replace' | 'keep_both'

/** Moves a file into `folder` (null: the root of `project`). */
export function moveFile(
  id: number,
  target: { project: number; folder: number | null },
  onConflict: OnConflict = 'refuse',
): Promise<DataFile> {
  return request<DataFile>(`/api/files/${id}/move/`, {
    method: 'POST',
    body: { project: target.project, folder: target.folder, on_conflict: onConflict },
  })
}

/** Which of `names` already exist in the target folder (asked once before an upload batch). */
export function checkConflicts(
  project: number,
  folder: number | null,
  names: string[],
): Promise<NameConflicts> {
  return request<NameConflicts>('/api/files/conflicts/', {
    method: 'POST',
    body: { project, folder, names },
  })
}

/** Out of the Trash, into its old folder (the top level when that is gone); `wholeFolder`
 * brings back everything deleted with the same folder, re-creating its folders. */
export function restoreFile(id: number, wholeFolder = false): Promise<Restored> {
  return request<Restored>(`/api/files/${id}/restore/`, {
    method: 'POST',
    body: wholeFolder ? { whole_folder: true } : {},
  })
}

/** The Trash, newest first; `deletedFolder`: only the files deleted with that (former) folder. */
export function listTrash(pageSize = 200, deletedFolder?: number): Promise<Paginated<TrashedFile>> {
  return request<Paginated<TrashedFile>>('/api/trash/', {
    query: { page_size: pageSize, deleted_folder: deletedFolder },
  })
}

/** The address of one streamed zip of these files and folders (whole subtrees). */
export function zipUrl(fileIds: number[], folderIds: number[]): string {
  const params = new URLSearchParams()
  if (fileIds.length) params.set('files', fileIds.join(','))
  if (folderIds.length) params.set('folders', folderIds.join(','))
  return `/api/zip/?${params.toString()}`
}
