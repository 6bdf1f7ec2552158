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

  it('with `latest`, lets only the latest run set the state and answer', async () => {
    const releases: ((v: string) => void)[] = []
    const fails: ((e: unknown) => void)[] = []
    const { active, error, run } = useAsync(
      () =>
        new Promise<string>((resolve, reject) => {
          releases.push(resolve)
          fails.push(reject)
        }),
      { latest: true },
    )
    const first = run()
    const second = run()
    releases[1]('new')
    expect(await second).toBe('new')
    expect(active.value).toBe(false)
    fails[0](new ApiError(500, 'Too late'))
    expect(await first).toBeUndefined()
    expect(error.value).toBeNull()
    expect(active.value).toBe(false)

    const third = run()
    const fourth = run()
    releases[2]('old')
    expect(await third).toBeUndefined()
    expect(active.value).toBe(true)
    releases[3]('newest')
    expect(await fourth).toBe('newest')
    expect(active.value).toBe(false)
  })
})
