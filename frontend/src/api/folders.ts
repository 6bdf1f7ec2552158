import { request } from './client'
import type { Folder, FolderCreate, FolderDetail, Paginated } from './types'

/** Direct children of `parent` (null: the project's top level). */
export function listFolders(
  project: number,
  parent: number | null,
  pageSize = 500,
): Promise<Paginated<Folder>> {
  return request<Paginated<Folder>>('/api/folders/', {
    query: { project, parent, page_size: pageSize },
  })
}

export function getFolder(id: number): Promise<FolderDetail> {
  return request<FolderDetail>(`/api/folders/${id}/`)
}

export function createFolder(data: FolderCreate): Promise<Folder> {
  return request<Folder>('/api/folders/', { method: 'POST', body: data })
}

export function updateFolder(
  id: number,
  patch: { name?: string; parent?: number | null },
): Promise<FolderDetail> {
  return request<FolderDetail>(`/api/folders/${id}/`, { method: 'PATCH', body: patch })
}

/** Deletes an empty folder (409 `not_empty` otherwise). */
export function deleteFolder(id: number): Promise<void> {
  return request<void>(`/api/folders/${id}/`, { method: 'DELETE' })
}
