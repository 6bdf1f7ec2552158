import { getCurrentInstance, getCurrentScope, onMounted, onScopeDispose, readonly, ref } from 'vue'

/**
 * Polling, with its rules in one place: how often (`POLL_MS`), how it backs off after a failed
 * tick, and when it rests (the page is hidden, the component unmounted, the work finished).
 *
 * `usePoll(tick, options)` runs `tick` now (or after one interval, `immediate: false`) and then
 * again `interval` ms after each tick ended, never two at once. A tick says what comes next by
 * what it returns: `false` stops the poll, a number is the delay before the next tick, anything
 * else keeps the interval. A tick that throws is passed to `onError` and the next one waits
 * twice as long as the last (up to `maxInterval`); a tick that succeeds resets the delay.
 *
 * Each run of the poll hands its ticks an `AbortSignal` that aborts on `stop()` (or on a
 * restart), so a tick that awaited can tell its answer came too late and drop it.
 *
 * Inside a component the poll starts when it is mounted (`autoStart`, the default) and stops
 * when it is unmounted; in any effect scope (a store) it stops when the scope is disposed.
 * While the page is hidden no tick is scheduled; when it shows again the next tick runs at once.
 */

/** The intervals the app polls at. */
export const POLL_MS = {
  /** Something the user is watching move: an upload being verified, a viewer starting. */
  progress: 1000,
  /** A list with running entries (analyses). */
  list: 2000,
  /** Something that is ready, checked now and then in case it stops. */
  watch: 15_000,
} as const

/** Failed ticks back off up to this delay. */
export const MAX_BACKOFF_MS = 30_000

export type PollNext = boolean | number | void

export interface PollOptions {
  /** ms between the end of one tick and the start of the next. */
  interval: number
  /** Run the first tick at once (default) or after one interval. */
  immediate?: boolean
  /** Start on mount (in a component) or at once (elsewhere); default true. */
  autoStart?: boolean
  /** Rest while the page is hidden; default true. */
  pauseWhenHidden?: boolean
  /** Upper bound of the backoff after failed ticks. */
  maxInterval?: number
  /** Told of each failed tick (the poll goes on, backing off). */
  onError?: (err: unknown) => void
}

export interface Poller {
  /** True from `start()` until the poll stops. */
  readonly active: Readonly<{ value: boolean }>
  /** (Re)starts the poll; resolves when it stops. */
  start: () => Promise<void>
  /** Stops the poll; a tick in flight has its signal aborted. */
  stop: () => void
}

export function usePoll(
  tick: (signal: AbortSignal) => PollNext | Promise<PollNext>,
  options: PollOptions,
): Poller {
  const pauseWhenHidden = options.pauseWhenHidden ?? true
  const maxInterval = Math.max(options.maxInterval ?? MAX_BACKOFF_MS, options.interval)
  const active = ref(false)
  let controller: AbortController | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  let failures = 0
  let running = false
  /** The page hid while a delay was pending: run at once when it shows again. */
  let resting = false
  let settle: (() => void) | null = null

  function hidden(): boolean {
    return pauseWhenHidden && typeof document !== 'undefined' && document.hidden
  }

  function clearTimer(): void {
    if (timer !== null) clearTimeout(timer)
    timer = null
  }

  function schedule(signal: AbortSignal, delay: number): void {
    clearTimer()
    if (signal.aborted) return
    if (hidden()) {
      resting = true
      return
    }
    timer = setTimeout(() => void run(signal), delay)
  }

  async function run(signal: AbortSignal): Promise<void> {
    timer = null
    if (signal.aborted || running) return
    running = true
    let next: PollNext
    let delay = options.interval
    try {
      next = await tick(signal)
      failures = 0
    } catch (err) {
      next = undefined
      failures += 1
      delay = Math.min(options.interval * 2 ** failures, maxInterval)
      if (!signal.aborted) options.onError?.(err)
    } finally {
      running = false
    }
    if (signal.aborted) return
    if (next === false) {
      stop()
      return
    }
    schedule(signal, typeof next === 'number' ? next : delay)
  }

  function stop(): void {
    clearTimer()
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', onVisibility)
    }
    controller?.abort()
    controller = null
    resting = false
    running = false
    active.value = false
    const done = settle
    settle = null
    done?.()
  }

  function start(): Promise<void> {
    stop()
    const current = new AbortController()
    controller = current
    failures = 0
    active.value = true
    if (pauseWhenHidden && typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', onVisibility)
    }
    const finished = new Promise<void>((resolve) => {
      settle = resolve
    })
    if (options.immediate ?? true) void run(current.signal)
    else schedule(current.signal, options.interval)
    return finished
  }

  function onVisibility(): void {
    if (!controller) return
    if (hidden()) {
      // A pending delay waits for the page to show again.
      if (timer !== null) {
        clearTimer()
        resting = true
      }
      return
    }
    if (resting) {
      resting = false
      void run(controller.signal)
    }
  }

  if (getCurrentScope()) onScopeDispose(stop)
  if (options.autoStart ?? true) {
    if (getCurrentInstance()) onMounted(() => void start())
    else void start()
  }

  return { active: readonly(active), start, stop }
}
