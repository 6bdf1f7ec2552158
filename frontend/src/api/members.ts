import { request } from './client'
import type { Member, MemberCreate, SubjectType } from './types'

/** The project's owner (id null) and its user and group members. */
export function listMembers(projectId: number): Promise<Member[]> {
  return request<Member[]>(`/api/projects/${projectId}/members/`)
}

/** Adds a member, or changes the role of an existing one (same kind and name). */
export function addMember(projectId: number, data: MemberCreate): Promise<Member> {
  return request<Member>(`/api/projects/${projectId}/members/`, { method: 'POST', body: data })
}

export function removeMember(projectId: number, kind: SubjectType, name: string): Promise<void> {
  return request<void>(`/api/projects/${projectId}/members/`, {
    method: 'DELETE',
    query: { kind, name },
  })
}
