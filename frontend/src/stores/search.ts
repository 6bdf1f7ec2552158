import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { isApiError } from '@/api/client'
import {
  deleteSavedSearch,
  emptySearch,
  listSavedSearches,
  saveSearch,
  searchFiles,
  searchToString,
  type Facets,
  type SavedSearch,
  type SearchState,
} from '@/api/search'
import type { DataFile } from '@/api/types'
import { useMetadataStore } from './metadata'

export interface Chip {
  field: string
  value: string
}

/**
 * The search page's state. The URL is the source of truth: the view hands the route query to
 * `load` and turns the edits (`toggle`, `remove`, `setOrdering`, …) into new URLs, so the back
 * button and shared links replay a search exactly.
 */
export const useSearchStore = defineStore('search', () => {
  const state = ref<SearchState>(emptySearch())
  const results = ref<DataFile[]>([])
  const count = ref(0)
  const facets = ref<Facets>({})
  const loading = ref(false)
  const error = ref('')
  const saved = ref<SavedSearch[]>([])
  const metadata = useMetadataStore()
  let latest = 0

  const chips = computed<Chip[]>(() =>
    Object.entries(state.value.filters).flatMap(([field, values]) =>
      values.map((value) => ({ field, value })),
    ),
  )

  /** Runs `next`; an older request that answers late is ignored. */
  async function load(next: SearchState): Promise<void> {
    state.value = next
    const ticket = ++latest
    loading.value = true
    error.value = ''
    try {
      // The facets to count are the server's declaration (fetched once); without it the
      // search still answers, without facets.
      await metadata.load().catch(() => undefined)
      const body = await searchFiles(
        next,
        metadata.facets.map((facet) => facet.name),
      )
      if (ticket !== latest) return
      results.value = body.results
      // A numbered page (the only kind asked for here) carries `count`; a cursor page would not.
      count.value = body.count ?? body.results.length
      facets.value = body.facets ?? {}
    } catch (err) {
      if (ticket !== latest) return
      error.value = isApiError(err) ? err.detail : 'The search failed.'
      results.value = []
      count.value = 0
    } finally {
      if (ticket === latest) loading.value = false
    }
  }

  function isActive(field: string, value: string | number): boolean {
    return (state.value.filters[field] ?? []).includes(String(value))
  }

  /** A copy of the current search with `value` of `field` switched on or off (page 1). */
  function toggled(field: string, value: string | number): SearchState {
    const v = String(value)
    const current = state.value.filters[field] ?? []
    const values = current.includes(v) ? current.filter((x) => x !== v) : [...current, v]
    const filters = { ...state.value.filters, [field]: values }
    if (!values.length) delete filters[field]
    return { ...state.value, filters, page: 1 }
  }

  function withQuery(q: string): SearchState {
    return { ...state.value, q: q.trim(), page: 1 }
  }

  function withOrdering(ordering: string): SearchState {
    return { ...state.value, ordering, page: 1 }
  }

  function withPage(page: number): SearchState {
    return { ...state.value, page }
  }

  function cleared(): SearchState {
    return { ...emptySearch(), q: state.value.q, ordering: state.value.ordering }
  }

  async function loadSaved(): Promise<void> {
    saved.value = await listSavedSearches()
  }

  async function saveCurrent(name: string): Promise<SavedSearch> {
    const item = await saveSearch(name, searchToString({ ...state.value, page: 1 }))
    saved.value = [...saved.value.filter((s) => s.id !== item.id), item].sort((a, b) =>
      a.name.localeCompare(b.name),
    )
    return item
  }

  async function removeSaved(id: number): Promise<void> {
    await deleteSavedSearch(id)
    saved.value = saved.value.filter((s) => s.id !== id)
  }

  return {
    state,
    results,
    count,
    facets,
    loading,
    error,
    saved,
    chips,
    load,
    isActive,
    toggled,
    withQuery,
    withOrdering,
    withPage,
    cleared,
    loadSaved,
    saveCurrent,
    removeSaved,
  }
})
