import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, effectScope, h } from 'vue'
import { mount } from '@vue/test-utils'
import { MAX_BACKOFF_MS, usePoll } from './usePoll'

function setHidden(value: boolean): void {
  Object.defineProperty(document, 'hidden', { value, configurable: true })
  document.dispatchEvent(new Event('visibilitychange'))
}

/** How many times `tick` ran once `ms` more have passed. */
async function callsAfter(tick: { mock: { calls: unknown[] } }, ms: number): Promise<number> {
  await vi.advanceTimersByTimeAsync(ms)
  return tick.mock.calls.length
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  setHidden(false)
  vi.useRealTimers()
})

describe('usePoll', () => {
  it('ticks at once, then an interval after each tick, until the tick says stop', async () => {
    let n = 0
    const tick = vi.fn(() => (++n < 3 ? undefined : false))
    const poll = usePoll(tick, { interval: 1000 })
    expect(tick).toHaveBeenCalledTimes(1)
    expect(poll.active.value).toBe(true)
    expect([
      await callsAfter(tick, 999),
      await callsAfter(tick, 1),
      await callsAfter(tick, 1000),
    ]).toEqual([1, 2, 3])
    expect(poll.active.value).toBe(false)
    expect(await callsAfter(tick, 10_000)).toBe(3)
  })

  it('waits one interval first when not immediate, and takes a delay a tick returns', async () => {
    const tick = vi.fn(() => 5000)
    usePoll(tick, { interval: 1000, immediate: false })
    expect(tick).not.toHaveBeenCalled()
    expect([
      await callsAfter(tick, 1000),
      await callsAfter(tick, 4999),
      await callsAfter(tick, 1),
    ]).toEqual([1, 1, 2])
  })

  it('backs off after failed ticks, up to the bound, and resets after a good one', async () => {
    const errors: unknown[] = []
    let fail = true
    const times: number[] = []
    const tick = vi.fn(() => {
      times.push(Date.now())
      if (fail) throw new Error('offline')
    })
    const start = Date.now()
    const poll = usePoll(tick, {
      interval: 1000,
      maxInterval: 5000,
      onError: (e) => errors.push(e),
    })
    await vi.advanceTimersByTimeAsync(2000 + 4000 + 5000 + 5000)
    expect(times.map((t) => t - start)).toEqual([0, 2000, 6000, 11000, 16000])
    expect(errors).toHaveLength(5)
    fail = false
    await vi.advanceTimersByTimeAsync(5000)
    await vi.advanceTimersByTimeAsync(1000)
    expect(times.map((t) => t - start).slice(5)).toEqual([21000, 22000])
    poll.stop()
    expect(MAX_BACKOFF_MS).toBeGreaterThan(1000)
  })

  it('never runs two ticks at once and waits an interval after a slow one', async () => {
    let inFlight = 0
    let most = 0
    const tick = vi.fn(async () => {
      inFlight += 1
      most = Math.max(most, inFlight)
      await new Promise((r) => setTimeout(r, 3000))
      inFlight -= 1
    })
    const poll = usePoll(tick, { interval: 1000 })
    await vi.advanceTimersByTimeAsync(3999)
    expect(tick).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(tick).toHaveBeenCalledTimes(2)
    expect(most).toBe(1)
    poll.stop()
  })

  it('rests while the page is hidden and ticks at once when it shows again', async () => {
    const tick = vi.fn()
    const poll = usePoll(tick, { interval: 1000 })
    expect(tick).toHaveBeenCalledTimes(1)
    setHidden(true)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(tick).toHaveBeenCalledTimes(1)
    setHidden(false)
    expect(tick).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(1000)
    expect(tick).toHaveBeenCalledTimes(3)
    poll.stop()
  })

  it('aborts the signal of a tick in flight on stop, and start() resolves', async () => {
    let seen: AbortSignal | null = null
    const tick = vi.fn(async (signal: AbortSignal) => {
      seen = signal
      await new Promise((r) => setTimeout(r, 500))
    })
    const poll = usePoll(tick, { interval: 1000, autoStart: false })
    expect(tick).not.toHaveBeenCalled()
    let done = false
    void poll.start().then(() => (done = true))
    expect(seen!.aborted).toBe(false)
    poll.stop()
    await vi.advanceTimersByTimeAsync(0)
    expect(seen!.aborted).toBe(true)
    expect(done).toBe(true)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(tick).toHaveBeenCalledTimes(1)
  })

  it('starts when the component mounts and stops when it unmounts', async () => {
    const tick = vi.fn()
    const Poller = defineComponent({
      setup() {
        usePoll(tick, { interval: 1000 })
        return () => h('div')
      },
    })
    const wrapper = mount(Poller)
    expect(tick).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(tick).toHaveBeenCalledTimes(2)
    wrapper.unmount()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(tick).toHaveBeenCalledTimes(2)
  })

  it('stops with the effect scope it was made in', async () => {
    const tick = vi.fn()
    const scope = effectScope()
    scope.run(() => usePoll(tick, { interval: 1000 }))
    scope.stop()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(tick).toHaveBeenCalledTimes(1)
  })
})
