import { onBeforeUnmount, ref, type Ref } from 'vue'

/**
 * Whether a CSS media query matches, kept current as the window changes size. Where the
 * browser cannot tell (tests without `matchMedia`), `fallback`.
 */
export function useMediaQuery(query: string, fallback = true): Ref<boolean> {
  const matches = ref(fallback)
  if (typeof window === 'undefined' || typeof window.matchMedia !== 'function') return matches
  const list = window.matchMedia(query)
  matches.value = list.matches
  const update = (event: MediaQueryListEvent) => {
    matches.value = event.matches
  }
  list.addEventListener('change', update)
  onBeforeUnmount(() => list.removeEventListener('change', update))
  return matches
}
