import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as authApi from '@/api/auth'
import { isApiError } from '@/api/client'
import type { User } from '@/api/types'

/** Who is signed in. `checked` turns true after the first "who am I?" answer. */
export const useAuthStore = defineStore('auth', () => {
  const user = ref<User | null>(null)
  const checked = ref(false)

  const isAuthenticated = computed(() => user.value !== null)
  const isStaff = computed(() => Boolean(user.value?.is_staff || user.value?.is_superuser))

  async function fetchMe(): Promise<User | null> {
    try {
      user.value = await authApi.me()
    } catch (err) {
      // 401/403: nobody signed in. Anything else (server down) leaves us signed out too;
      // the login page then shows the server's state on the next attempt.
      if (!isApiError(err)) throw err
      user.value = null
    } finally {
      checked.value = true
    }
    return user.value
  }

  async function login(username: string, password: string): Promise<User> {
    user.value = await authApi.login(username, password)
    checked.value = true
    return user.value
  }

  async function logout(): Promise<void> {
    try {
      await authApi.logout()
    } finally {
      clearSession()
    }
  }

  /** Forget the user locally (the session already ended on the server). */
  function clearSession(): void {
    user.value = null
  }

  return { user, checked, isAuthenticated, isStaff, fetchMe, login, logout, clearSession }
})
