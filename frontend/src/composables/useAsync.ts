import { ref, shallowRef } from 'vue'
import { isApiError, type ApiError } from '@/api/client'

/**
 * Fetch state for one async action: `active` while it runs, `error` (an ApiError, or null)
 * after it fails. `run` never throws for API errors; it resolves to undefined instead, so
 * templates can show `error.detail` inline. Other errors (bugs) are rethrown.
 */
export function useAsync<Args extends unknown[], R>(fn: (...args: Args) => Promise<R>) {
  const active = ref(false)
  const error = shallowRef<ApiError | null>(null)

  async function run(...args: Args): Promise<R | undefined> {
    active.value = true
    error.value = null
    try {
      return await fn(...args)
    } catch (err) {
      if (isApiError(err)) {
        error.value = err
        return undefined
      }
      throw err
    } finally {
      active.value = false
    }
  }

  return { active, error, run }
}
