import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { jsonResponse, mockFetch, page } from '@/test/http'
import { dataFile } from '@/test/fixtures'
import { emptySearch } from '@/api/search'
import { useSearchStore } from './search'

beforeEach(() => setActivePinia(createPinia()))

describe('search store', () => {
  it('asks for the facets the server declares, in its order', async () => {
    const { calls } = mockFetch({
      'GET /api/metadata/fields/': {
        body: {
          fields: [],
          access_levels: [],
          facets: [
            { name: 'tissue', label: 'Tissue' },
            { name: 'project', label: 'Project' },
          ],
        },
      },
      'GET /api/files/': { body: page([]) },
    })
    const store = useSearchStore()
    await store.load(emptySearch())
    await store.load({ ...emptySearch(), q: 'liver' })
    const searches = calls.filter((c) => c.url.startsWith('/api/files/?'))
    expect(searches).toHaveLength(2)
    for (const call of searches) {
      expect(new URL(call.url, 'http://x').searchParams.get('facets')).toBe('tissue,project')
    }
    expect(calls.filter((c) => c.url.startsWith('/api/metadata/fields/'))).toHaveLength(1)
  })

  it('still searches, without facets, when the declaration cannot be read', async () => {
    const { calls } = mockFetch({
      'GET /api/files/': { body: { ...page([dataFile()]), count: 1 } },
    })
    const store = useSearchStore()
    await store.load(emptySearch())
    const search = calls.find((c) => c.url.startsWith('/api/files/?'))!
    expect(new URL(search.url, 'http://x').searchParams.has('facets')).toBe(false)
    expect(store.count).toBe(1)
  })

  it('loads results, the count and the facets', async () => {
    mockFetch({
      'GET /api/files/': {
        body: {
          ...page([dataFile()]),
          count: 1,
          facets: { organism: [{ value: 'Homo sapiens', count: 1 }] },
        },
      },
    })
    const store = useSearchStore()
    await store.load({ ...emptySearch(), filters: { organism: ['Homo sapiens'] } })
    expect(store.results.map((f) => f.name)).toEqual(['sample1.fastq.gz'])
    expect(store.count).toBe(1)
    expect(store.facets.organism).toEqual([{ value: 'Homo sapiens', count: 1 }])
    expect(store.chips).toEqual([{ field: 'organism', value: 'Homo sapiens' }])
    expect(store.isActive('organism', 'Homo sapiens')).toBe(true)
  })

  it('toggles facet values and goes back to page 1', async () => {
    mockFetch({ 'GET /api/files/': { body: page([]) } })
    const store = useSearchStore()
    await store.load({ ...emptySearch(), filters: { organism: ['A'] }, page: 4 })
    expect(store.toggled('organism', 'B')).toMatchObject({
      filters: { organism: ['A', 'B'] },
      page: 1,
    })
    expect(store.toggled('organism', 'A').filters).toEqual({})
    expect(store.toggled('project', 7).filters).toEqual({ organism: ['A'], project: ['7'] })
  })

  it('ignores an older answer that arrives after a newer one', async () => {
    const answers: ((r: Response) => void)[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn((input: RequestInfo | URL) =>
        String(input).startsWith('/api/metadata/fields/')
          ? Promise.resolve(jsonResponse(200, { fields: [], access_levels: [], facets: [] }))
          : new Promise<Response>((resolve) => answers.push(resolve)),
      ),
    )
    const store = useSearchStore()
    const first = store.load({ ...emptySearch(), q: 'old' })
    const second = store.load({ ...emptySearch(), q: 'new' })
    await vi.waitFor(() => expect(answers).toHaveLength(2))
    answers[1](jsonResponse(200, { ...page([dataFile({ name: 'new.bam' })]), facets: {} }))
    await second
    answers[0](jsonResponse(200, { ...page([dataFile({ name: 'old.bam' })]), facets: {} }))
    await first
    expect(store.results.map((f) => f.name)).toEqual(['new.bam'])
    expect(store.loading).toBe(false)
  })

  it('shows the API error in words', async () => {
    mockFetch({
      'GET /api/files/': {
        status: 400,
        body: { detail: 'created_after: Expected a date.', code: 'invalid' },
      },
    })
    const store = useSearchStore()
    await store.load(emptySearch())
    expect(store.error).toBe('created_after: Expected a date.')
  })

  it('saves the current search as a query string', async () => {
    const { calls } = mockFetch({
      'GET /api/files/': { body: page([]) },
      'POST /api/saved-searches/': {
        status: 201,
        body: { id: 1, name: 'Mouse', query: 'organism=Mus+musculus', created_at: '' },
      },
    })
    const store = useSearchStore()
    await store.load({ ...emptySearch(), filters: { organism: ['Mus musculus'] }, page: 3 })
    await store.saveCurrent('Mouse')
    const post = calls.find((c) => c.method === 'POST')!
    expect(post.body).toEqual({ name: 'Mouse', query: 'organism=Mus+musculus' })
    expect(store.saved.map((s) => s.name)).toEqual(['Mouse'])
  })
})
