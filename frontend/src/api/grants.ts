import { request } from './client'
import type { Grant, GrantCreate, Paginated, Permission, ShareObjectType } from './types'

/** Grants set directly on one object (not those inherited from its parents). */
export function listGrants(
  objectType: ShareObjectType,
  object: number,
  pageSize = 200,
): Promise<Paginated<Grant>> {
  return request<Paginated<Grant>>('/api/grants/', {
    query: { object_type: objectType, object, page_size: pageSize },
  })
}

/**
 * Gives a user or group access. Fails with 400 (`errors.subject`) when they don't exist and
 * 409 (`code: "grant_exists"`) when they already have a grant on that object.
 */
export function createGrant(data: GrantCreate): Promise<Grant> {
  return request<Grant>('/api/grants/', { method: 'POST', body: data })
}

export function updateGrant(id: number, permission: Permission): Promise<Grant> {
  return request<Grant>(`/api/grants/${id}/`, { method: 'PATCH', body: { permission } })
}

export function deleteGrant(id: number): Promise<void> {
  return request<void>(`/api/grants/${id}/`, { method: 'DELETE' })
}
