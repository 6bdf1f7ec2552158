import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/client'
import { useAsync } from './useAsync'

describe('useAsync', () => {
  it('tracks activity and returns the result', async () => {
    let release: (v: number) => void = () => {}
    const { active, error, run } = useAsync(
      () => new Promise<number>((resolve) => (release = resolve)),
    )
    const pending = run()
    expect(active.value).toBe(true)
    release(42)
    expect(await pending).toBe(42)
    expect(active.value).toBe(false)
    expect(error.value).toBeNull()
  })

  it('captures ApiErrors instead of throwing', async () => {
    const { error, run } = useAsync(async () => {
      throw new ApiError(400, 'Bad name', 'invalid', { name: ['Bad'] })
    })
    expect(await run()).toBeUndefined()
    expect(error.value?.fieldErrors.name).toEqual(['Bad'])
  })

  it('rethrows programming errors', async () => {
    const { run } = useAsync(async () => {
      throw new TypeError('bug')
    })
    await expect(run()).rejects.toThrow('bug')
  })
})
