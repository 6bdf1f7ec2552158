import { ref, shallowRef } from 'vue'
import { isApiError, type ApiError } from '@/api/client'

export interface AsyncOptions {
  /**
   * Only the latest run counts (a search typed on): an earlier run that ends after a later one
   * began leaves `active` and `error` alone and resolves to undefined.
   */
  latest?: boolean
}

/**
 * Fetch state for one async action: `active` while it runs, `error` (an ApiError, or null)
 * after it fails. `run` never throws for API errors; it resolves to undefined instead, so
 * templates can show `error.detail` inline. Other errors (bugs) are rethrown.
 */
export function useAsync<Args extends unknown[], R>(
  fn: (...args: Args) => Promise<R>,
  options: AsyncOptions = {},
) {
  const active = ref(false)
  const error = shallowRef<ApiError | null>(null)
  let runs = 0

  async function run(...args: Args): Promise<R | undefined> {
    const ticket = ++runs
    const counts = () => !options.latest || ticket === runs
    active.value = true
    error.value = null
    try {
      const result = await fn(...args)
      return counts() ? result : undefined
    } catch (err) {
      if (!isApiError(err)) throw err
      if (counts()) error.value = err
      return undefined
    } finally {
      if (counts()) active.value = false
    }
  }

  return { active, error, run }
}
