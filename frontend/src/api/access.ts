import { request } from './client'
import type {
  AccessInfo,
  AccessLevel,
  FolderAccessLevel,
  GroupSummary,
  ShareObjectType,
  UserSummary,
} from './types'

/** `/api/projects/`, `/api/folders/` or `/api/files/` — the collection of an object type. */
export function objectPath(type: ShareObjectType, id: number): string {
  return `/api/${type}s/${id}/`
}

/**
 * Who can see the object and why. With `user`, the answer also says whether that user can
 * see it (`check`). Rejects with a 404 ApiError when the object is not visible.
 */
export function getAccess(type: ShareObjectType, id: number, user?: string): Promise<AccessInfo> {
  return request<AccessInfo>(`${objectPath(type, id)}access/`, {
    query: user ? { user } : undefined,
  })
}

/** Sets the object's own level (projects take public/internal/restricted only). */
export function setAccessLevel(
  type: ShareObjectType,
  id: number,
  level: AccessLevel | FolderAccessLevel,
): Promise<unknown> {
  return request<unknown>(objectPath(type, id), {
    method: 'PATCH',
    body: { access_level: level },
  })
}

/** Up to 20 users whose name matches `q` (for pickers). */
export function searchUsers(q: string): Promise<UserSummary[]> {
  return request<UserSummary[]>('/api/users/', { query: { q } })
}

/** Up to 20 groups whose name matches `q`. */
export function searchGroups(q: string): Promise<GroupSummary[]> {
  return request<GroupSummary[]>('/api/groups/', { query: { q } })
}
