import { request } from './client'
import type { Paginated, Project, ProjectCreate } from './types'

export function listProjects(page = 1, pageSize = 100): Promise<Paginated<Project>> {
  return request<Paginated<Project>>('/api/projects/', {
    query: { page, page_size: pageSize },
  })
}

export function getProject(id: number): Promise<Project> {
  return request<Project>(`/api/projects/${id}/`)
}

export function createProject(data: ProjectCreate): Promise<Project> {
  return request<Project>('/api/projects/', { method: 'POST', body: data })
}

export function updateProject(id: number, data: Partial<ProjectCreate>): Promise<Project> {
  return request<Project>(`/api/projects/${id}/`, { method: 'PATCH', body: data })
}

export function deleteProject(id: number): Promise<void> {
  return request<void>(`/api/projects/${id}/`, { method: 'DELETE' })
}
