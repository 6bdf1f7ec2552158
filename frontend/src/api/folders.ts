import { isApiError, request } from './client'
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
  patch: { name?: string; parent?: number | null; on_conflict?: 'refuse' | 'keep_both' },
): Promise<FolderDetail> {
  return request<FolderDetail>(`/api/folders/${id}/`, { method: 'PATCH', body: patch })
}

/** Deletes an empty folder (409 `not_empty` otherwise). */
export function deleteFolder(id: number): Promise<void> {
  return request<void>(`/api/folders/${id}/`, { method: 'DELETE' })
}

/** A sub-folder by name: created, or the existing one when the name is taken (409). */
export async function ensureFolder(
  project: number,
  parent: number | null,
  name: string,
): Promise<Folder> {
  try {
    return await createFolder({ project, parent, name })
  } catch (err) {
    if (!isApiError(err) || (err.status !== 409 && err.status !== 400)) throw err
    const existing = await listFolders(project, parent)
    const found = existing.results.find((f) => f.name === name)
    if (!found) throw err
    return found
  }
}

/**
 * Folder ids for relative paths under `root` (a dropped folder's structure): each path is
 * ensured once, its parents first, however many files ask for it at once.
 */
export function folderPaths(
  project: number,
  root: number | null,
): (dirs: string[]) => Promise<number | null> {
  const known = new Map<string, Promise<number | null>>([['', Promise.resolve(root)]])
  function folderFor(dirs: string[]): Promise<number | null> {
    const key = dirs.join('/')
    let pending = known.get(key)
    if (!pending) {
      pending = folderFor(dirs.slice(0, -1)).then(
        async (parent) => (await ensureFolder(project, parent, dirs[dirs.length - 1])).id,
      )
      known.set(key, pending)
    }
    return pending
  }
  return folderFor
}
