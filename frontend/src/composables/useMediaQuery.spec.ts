import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { mount } from '@vue/test-utils'
import { useMediaQuery } from './useMediaQuery'

afterEach(() => {
  vi.unstubAllGlobals()
})

function probe(query: string) {
  let value: ReturnType<typeof useMediaQuery> | null = null
  const wrapper = mount(
    defineComponent({
      setup() {
        value = useMediaQuery(query, true)
        return () => h('span', String(value!.value))
      },
    }),
  )
  return { wrapper, value: () => value!.value }
}

describe('useMediaQuery', () => {
  it('follows the query as the window changes', () => {
    const listeners: ((e: { matches: boolean }) => void)[] = []
    vi.stubGlobal('matchMedia', (query: string) => ({
      matches: query === '(min-width: 1200px)' ? false : true,
      addEventListener: (_: string, fn: (e: { matches: boolean }) => void) => listeners.push(fn),
      removeEventListener: vi.fn(),
    }))
    const { wrapper, value } = probe('(min-width: 1200px)')
    expect(value()).toBe(false)
    listeners[0]!({ matches: true })
    expect(value()).toBe(true)
    wrapper.unmount()
  })

  it('answers the fallback where the browser cannot tell', () => {
    vi.stubGlobal('matchMedia', undefined)
    expect(probe('(min-width: 1200px)').value()).toBe(true)
  })
})
