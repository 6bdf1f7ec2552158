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
