/**
 * File search (`GET /api/files/` with filters, `q`, ordering and `facets`), search-box
 * suggestions and saved searches.
 *
 * A search is kept as a `SearchState` and written to / read from a query string, which is
 * also what the page's URL and a saved search hold: the same string works in a browser tab,
 * in `curl` and as a saved search.
 */
import { request } from './client'
import type { components } from './schema'

type Schemas = components['schemas']

export type FacetValue = Schemas['FacetValue']

export type Facets = NonNullable<SearchResponse['facets']>

/** One page of a search; a cursor page (`pagination=cursor`) has no `count`. */
export type SearchResponse = Schemas['FilePage']

/** The search page's state (the SPA's own; written to and read from a query string). */
export interface SearchState {
  q: string
  /** Filter name → OR-ed values (`organism: ['Homo sapiens', 'Mus musculus']`). */
  filters: Record<string, string[]>
  ordering: string
  page: number
  pageSize: number
}

export type Suggestion = Schemas['Suggestion']

export type SavedSearch = Schemas['SavedSearch']

const RESERVED = new Set(['q', 'ordering', 'page', 'page_size', 'facets', 'cursor', 'pagination'])
export const DEFAULT_PAGE_SIZE = 50

export function emptySearch(): SearchState {
  return { q: '', filters: {}, ordering: '', page: 1, pageSize: DEFAULT_PAGE_SIZE }
}

type QueryLike = Record<string, string | null | (string | null)[] | undefined>

/** Reads a route query (or parsed URLSearchParams) into a search; comma lists are split. */
export function searchFromQuery(query: QueryLike): SearchState {
  const state = emptySearch()
  for (const [key, raw] of Object.entries(query)) {
    const values = (Array.isArray(raw) ? raw : [raw])
      .filter((v): v is string => typeof v === 'string')
      .flatMap((v) => (key === 'q' ? [v] : v.split(',')))
      .map((v) => v.trim())
      .filter(Boolean)
    if (!values.length) continue
    if (key === 'q') state.q = values.join(' ')
    else if (key === 'ordering') state.ordering = values[0]
    else if (key === 'page') state.page = Math.max(1, Number(values[0]) || 1)
    else if (key === 'page_size') state.pageSize = Number(values[0]) || DEFAULT_PAGE_SIZE
    else if (!RESERVED.has(key)) state.filters[key] = [...new Set(values)]
  }
  return state
}

/** The route query of a search: one repeated key per filter, defaults left out, sorted keys. */
export function searchToQuery(state: SearchState): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  if (state.q) query.q = state.q
  for (const key of Object.keys(state.filters).sort()) {
    const values = state.filters[key]
    if (values?.length) query[key] = values.length === 1 ? values[0] : [...values]
  }
  if (state.ordering) query.ordering = state.ordering
  if (state.page > 1) query.page = String(state.page)
  if (state.pageSize !== DEFAULT_PAGE_SIZE) query.page_size = String(state.pageSize)
  return query
}

export function searchToString(state: SearchState, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(searchToQuery(state))) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v)
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, value)
  return params.toString()
}

/**
 * One page of a search, with the counts of `facets` (the sidebar's, which the server declares:
 * `/api/metadata/fields/`'s `facets`).
 */
export function searchFiles(
  state: SearchState,
  facets: readonly string[],
): Promise<SearchResponse> {
  const extra: Record<string, string> = {
    page: String(state.page),
    page_size: String(state.pageSize),
  }
  if (facets.length) extra.facets = facets.join(',')
  const query = searchToString(state, extra)
  return request<SearchResponse>(`/api/files/?${query}`)
}

export async function suggest(q: string): Promise<Suggestion[]> {
  if (q.trim().length < 2) return []
  const body = await request<Schemas['Suggestions']>('/api/files/suggest/', { query: { q } })
  return body.results
}

export function listSavedSearches(): Promise<SavedSearch[]> {
  return request<SavedSearch[]>('/api/saved-searches/')
}

export function saveSearch(name: string, query: string): Promise<SavedSearch> {
  return request<SavedSearch>('/api/saved-searches/', { method: 'POST', body: { name, query } })
}

export function deleteSavedSearch(id: number): Promise<void> {
  return request<void>(`/api/saved-searches/${id}/`, { method: 'DELETE' })
}
