import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { mockFetch } from '@/test/http'
import { user } from '@/test/fixtures'
import { useAuthStore } from './auth'

beforeEach(() => setActivePinia(createPinia()))

describe('auth store', () => {
  it('fetchMe stores the signed-in user', async () => {
    mockFetch({ 'GET /api/auth/me/': { body: { ...user, is_staff: true } } })
    const auth = useAuthStore()
    await auth.fetchMe()
    expect(auth.checked).toBe(true)
    expect(auth.user?.username).toBe('alice')
    expect(auth.isStaff).toBe(true)
  })

  it('fetchMe treats 401 as signed out', async () => {
    mockFetch({ 'GET /api/auth/me/': { status: 401, body: { detail: 'Not signed in.' } } })
    const auth = useAuthStore()
    expect(await auth.fetchMe()).toBeNull()
    expect(auth.checked).toBe(true)
    expect(auth.isAuthenticated).toBe(false)
  })

  it('login posts the credentials and keeps the user', async () => {
    const { calls } = mockFetch({ 'POST /api/auth/login/': { body: user } })
    const auth = useAuthStore()
    await auth.login('alice', 'secret')
    expect(calls[0].body).toEqual({ username: 'alice', password: 'secret' })
    expect(auth.isAuthenticated).toBe(true)
  })

  it('login surfaces the API reason', async () => {
    mockFetch({
      'POST /api/auth/login/': {
        status: 400,
        body: { detail: 'Invalid username or password.', code: 'invalid_credentials' },
      },
    })
    const auth = useAuthStore()
    await expect(auth.login('alice', 'wrong')).rejects.toMatchObject({
      detail: 'Invalid username or password.',
      code: 'invalid_credentials',
    })
    expect(auth.user).toBeNull()
  })

  it('logout forgets the user even when the server call fails', async () => {
    mockFetch({ 'POST /api/auth/logout/': { status: 500 } })
    const auth = useAuthStore()
    auth.user = user
    await expect(auth.logout()).rejects.toThrow()
    expect(auth.user).toBeNull()
  })
})
