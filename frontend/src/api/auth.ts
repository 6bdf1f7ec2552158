import { request } from './client'
import type { ApiToken, User } from './types'

/** Asks Django to set the `csrftoken` cookie; call once before any unsafe request. */
export function fetchCsrf(): Promise<void> {
  return request<void>('/api/auth/csrf/')
}

export function login(username: string, password: string): Promise<User> {
  return request<User>('/api/auth/login/', {
    method: 'POST',
    body: { username, password },
    skipUnauthorizedHandler: true,
  })
}

export function logout(): Promise<void> {
  return request<void>('/api/auth/logout/', { method: 'POST', skipUnauthorizedHandler: true })
}

/** The signed-in user; rejects with a 401 ApiError when nobody is signed in. */
export function me(): Promise<User> {
  return request<User>('/api/auth/me/', { skipUnauthorizedHandler: true })
}

export function createToken(username: string, password: string): Promise<ApiToken> {
  return request<ApiToken>('/api/auth/token/', {
    method: 'POST',
    body: { username, password },
    skipUnauthorizedHandler: true,
  })
}
