import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import { mockFetch } from '@/test/http'
import { user } from '@/test/fixtures'
import { installGuards, routes, safeNext } from './index'

function makeRouter() {
  const router = createRouter({ history: createMemoryHistory(), routes })
  installGuards(router)
  return router
}

const ANONYMOUS = { status: 401, body: { detail: 'Not signed in.' } }

/** A router with the app's guards, for a visitor whom `/api/auth/me/` answers so. */
function routerFor(me: { status?: number; body?: unknown }) {
  mockFetch({ 'GET /api/auth/me/': me })
  return makeRouter()
}

beforeEach(() => setActivePinia(createPinia()))

describe('router', () => {
  it('sends anonymous users to /login, remembering where they were going', async () => {
    const router = routerFor(ANONYMOUS)
    await router.push('/search?q=liver')
    expect(router.currentRoute.value.name).toBe('login')
    expect(router.currentRoute.value.query.next).toBe('/search?q=liver')
  })

  it('lets anonymous visitors open project, folder and file pages (public ones load)', async () => {
    const router = routerFor(ANONYMOUS)
    for (const path of ['/projects/3', '/projects/3/folders/4', '/files/5']) {
      await router.push(path)
      expect(router.currentRoute.value.fullPath).toBe(path)
    }
  })

  it('lets signed-in users through and away from /login', async () => {
    const router = routerFor({ body: user })
    await router.push('/projects/3')
    expect(router.currentRoute.value.name).toBe('project')
    await router.push('/login?next=/files/9')
    expect(router.currentRoute.value.fullPath).toBe('/files/9')
  })

  it('keeps /audit for staff: others are told which rights it needs', async () => {
    const router = routerFor({ body: user })
    await router.push('/audit?actor=bob')
    expect(router.currentRoute.value.name).toBe('no-access')
    expect(router.currentRoute.value.query.from).toBe('/audit?actor=bob')

    setActivePinia(createPinia())
    const staffRouter = routerFor({ body: { ...user, is_staff: true } })
    await staffRouter.push('/audit?actor=bob')
    expect(staffRouter.currentRoute.value.name).toBe('audit')
    expect(staffRouter.currentRoute.value.query.actor).toBe('bob')
  })

  it('asks anonymous visitors of /audit to sign in first', async () => {
    const router = routerFor(ANONYMOUS)
    await router.push('/audit')
    expect(router.currentRoute.value.name).toBe('login')
    expect(router.currentRoute.value.query.next).toBe('/audit')
  })

  it('resolves the named routes', () => {
    const router = makeRouter()
    expect(router.resolve('/').name).toBe('home')
    expect(router.resolve('/projects').name).toBe('projects')
    expect(router.resolve('/projects/1/folders/2').params).toEqual({ id: '1', fid: '2' })
    expect(router.resolve('/files/7').name).toBe('file')
    expect(router.resolve('/audit').name).toBe('audit')
    expect(router.resolve('/nope').name).toBe('not-found')
  })

  it('only follows same-site next paths', () => {
    expect(safeNext('/files/1')).toBe('/files/1')
    expect(safeNext('//evil.example')).toBe('/')
    expect(safeNext('https://evil.example')).toBe('/')
    expect(safeNext(undefined)).toBe('/')
  })
})
