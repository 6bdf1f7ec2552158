import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as projectsApi from '@/api/projects'
import type { Project, ProjectCreate } from '@/api/types'

export const PROJECT_PAGE_SIZE = 100

/** The projects the user can see, for the rail and the project list. */
export const useProjectsStore = defineStore('projects', () => {
  const projects = ref<Project[]>([])
  const count = ref(0)
  const page = ref(1)
  const loaded = ref(false)

  const byId = computed(() => new Map(projects.value.map((p) => [p.id, p])))

  async function fetchProjects(pageNumber = page.value): Promise<void> {
    const data = await projectsApi.listProjects(pageNumber, PROJECT_PAGE_SIZE)
    projects.value = data.results
    count.value = data.count
    page.value = pageNumber
    loaded.value = true
  }

  async function createProject(data: ProjectCreate): Promise<Project> {
    const project = await projectsApi.createProject(data)
    await fetchProjects(1)
    return project
  }

  /** A project from the loaded page, or fetched by id (and remembered). */
  async function getProject(id: number): Promise<Project> {
    const known = byId.value.get(id)
    if (known) return known
    return projectsApi.getProject(id)
  }

  /** Replace a project's row after something changed it (upload, rename). */
  function upsert(project: Project): void {
    const index = projects.value.findIndex((p) => p.id === project.id)
    if (index >= 0) projects.value.splice(index, 1, project)
  }

  return { projects, count, page, loaded, byId, fetchProjects, createProject, getProject, upsert }
})
