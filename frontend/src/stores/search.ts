import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError, isApiError } from '@/api/client'
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
import { useAsync } from '@/composables/useAsync'
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
  const saved = ref<SavedSearch[]>([])
  const metadata = useMetadataStore()

  const chips = computed<Chip[]>(() =>
    Object.entries(state.value.filters).flatMap(([field, values]) =>
      values.map((value) => ({ field, value })),
    ),
  )

  /** One search at a time: an older request that answers late is ignored. */
  const searching = useAsync(
    async (next: SearchState) => {
      // The facets to count are the server's declaration (fetched once); without it the
      // search still answers, without facets.
      await metadata.load().catch(() => undefined)
      try {
        return await searchFiles(
          next,
          metadata.facets.map((facet) => facet.name),
        )
      } catch (err) {
        throw isApiError(err) ? err : new ApiError(0, 'The search failed.')
      }
    },
    { latest: true },
  )
  const loading = searching.active
  const error = computed(() => searching.error.value?.detail ?? '')

  /** Runs `next` (the latest search wins). */
  async function load(next: SearchState): Promise<void> {
    state.value = next
    const body = await searching.run(next)
    if (body) {
      results.value = body.results
      // A numbered page (the only kind asked for here) carries `count`; a cursor page would not.
      count.value = body.count ?? body.results.length
      facets.value = body.facets ?? {}
    } else if (searching.error.value && !searching.active.value) {
      results.value = []
      count.value = 0
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
