import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { mockFetch, page } from '@/test/http'
import { project } from '@/test/fixtures'
import { useProjectsStore } from './projects'

beforeEach(() => setActivePinia(createPinia()))

describe('projects store', () => {
  it('fetches a page of projects', async () => {
    const { calls } = mockFetch({
      'GET /api/projects/': { body: page([project(), project({ id: 2, name: 'Other' })]) },
    })
    const store = useProjectsStore()
    await store.fetchProjects(1)
    expect(calls[0].url).toBe('/api/projects/?page=1&page_size=100')
    expect(store.projects.map((p) => p.name)).toEqual(['Liver atlas', 'Other'])
    expect(store.count).toBe(2)
    expect(store.byId.get(2)?.name).toBe('Other')
  })

  it('creates a project and reloads the list', async () => {
    const created = project({ id: 3, name: 'New one' })
    const { calls } = mockFetch({
      'POST /api/projects/': { status: 201, body: created },
      'GET /api/projects/': { body: page([created]) },
    })
    const store = useProjectsStore()
    const result = await store.createProject({ name: 'New one', access_level: 'restricted' })
    expect(result.id).toBe(3)
    expect(calls[0].body).toEqual({ name: 'New one', access_level: 'restricted' })
    expect(store.projects).toHaveLength(1)
  })

  it('passes on field errors from a refused create', async () => {
    mockFetch({
      'POST /api/projects/': {
        status: 400,
        body: { detail: 'Invalid input.', code: 'invalid', errors: { name: ['Required.'] } },
      },
    })
    const store = useProjectsStore()
    await expect(store.createProject({ name: '' })).rejects.toMatchObject({
      fieldErrors: { name: ['Required.'] },
    })
  })

  it('getProject uses the loaded list before asking the API', async () => {
    const { calls } = mockFetch({
      'GET /api/projects/': { body: page([project()]) },
      'GET /api/projects/5/': { body: project({ id: 5 }) },
    })
    const store = useProjectsStore()
    await store.fetchProjects()
    expect((await store.getProject(1)).name).toBe('Liver atlas')
    expect((await store.getProject(5)).id).toBe(5)
    expect(calls.map((c) => c.url.split('?')[0])).toEqual(['/api/projects/', '/api/projects/5/'])
  })
})
