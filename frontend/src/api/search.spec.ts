import { describe, expect, it } from 'vitest'
import { mockFetch, page } from '@/test/http'
import {
  emptySearch,
  searchFiles,
  searchFromQuery,
  searchToQuery,
  searchToString,
  suggest,
} from './search'

describe('search query strings', () => {
  it('reads repeated keys and comma lists as OR-ed values', () => {
    const state = searchFromQuery({
      organism: ['Homo sapiens', 'Mus musculus'],
      assay_type: 'RNA-seq,WGS',
      q: 'liver',
      ordering: '-size',
      page: '3',
      facets: 'organism',
    })
    expect(state.filters).toEqual({
      organism: ['Homo sapiens', 'Mus musculus'],
      assay_type: ['RNA-seq', 'WGS'],
    })
    expect(state.q).toBe('liver')
    expect(state.ordering).toBe('-size')
    expect(state.page).toBe(3)
  })

  it('writes a stable route query without defaults, and reads it back', () => {
    const state = {
      ...emptySearch(),
      q: 'brain',
      filters: { tags: ['qc'], organism: ['Homo sapiens', 'Danio rerio'] },
    }
    const query = searchToQuery(state)
    expect(Object.keys(query)).toEqual(['q', 'organism', 'tags'])
    expect(query.organism).toEqual(['Homo sapiens', 'Danio rerio'])
    expect(query.tags).toBe('qc')
    expect(searchFromQuery(query)).toEqual(state)
    expect(searchToString(state)).toBe('q=brain&organism=Homo+sapiens&organism=Danio+rerio&tags=qc')
  })

  it('asks the API with filters, facets and the page', async () => {
    const { calls } = mockFetch({ 'GET /api/files/': { body: { ...page([]), facets: {} } } })
    await searchFiles({ ...emptySearch(), filters: { organism: ['Mus musculus'] }, page: 2 }, [
      'organism',
      'tags',
    ])
    const params = new URL(calls[0].url, 'http://x').searchParams
    expect(params.getAll('organism')).toEqual(['Mus musculus'])
    expect(params.get('facets')).toBe('organism,tags')
    expect(params.get('page')).toBe('2')
    expect(params.get('page_size')).toBe('50')
  })

  it('asks for suggestions only from two characters on', async () => {
    const { calls } = mockFetch({
      'GET /api/files/suggest/': { body: { results: [{ kind: 'name', value: 'a.bam' }] } },
    })
    expect(await suggest('a')).toEqual([])
    expect(await suggest('a.')).toEqual([{ kind: 'name', value: 'a.bam' }])
    expect(calls).toHaveLength(1)
    expect(calls[0].url).toBe('/api/files/suggest/?q=a.')
  })
})
