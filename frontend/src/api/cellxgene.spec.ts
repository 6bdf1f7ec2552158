import { afterEach, describe, expect, it, vi } from 'vitest'
import { mockFetch } from '@/test/http'
import {
  cellxgeneAppLocation,
  getCellxgeneStatus,
  openPublication,
  publishToCellxgene,
  recentPublications,
  viewerDataset,
  viewerUrl,
} from './cellxgene'

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('cellxgene api', () => {
  it('publishes a file by id', async () => {
    const { calls } = mockFetch({
      'POST /api/cellxgene/publish/': {
        status: 202,
        body: {
          status: 'queued',
          dataset: 'a.h5ad',
          url: '/cellxgene/3/',
          publication: 3,
          file: 7,
        },
      },
    })
    const answer = await publishToCellxgene(7)
    expect(answer.url).toBe('/cellxgene/3/')
    expect(calls[0]!.body).toEqual({ file: 7 })
  })

  it('asks for the status of one file, or of your latest publication', async () => {
    const { calls } = mockFetch({
      'GET /api/cellxgene/status/': { body: { running: false, publication: null } },
    })
    await getCellxgeneStatus(42)
    await getCellxgeneStatus()
    expect(calls[0]!.url).toBe('/api/cellxgene/status/?file=42')
    expect(calls[1]!.url).toBe('/api/cellxgene/status/')
  })

  it('lists recent publications and reopens one', async () => {
    const { calls } = mockFetch({
      'GET /api/cellxgene/publications/': { body: { results: [{ id: 5, dataset: 'a.h5ad' }] } },
      'POST /api/cellxgene/publications/5/open/': {
        status: 202,
        body: { id: 5, status: 'queued' },
      },
    })
    expect((await recentPublications())[0]!.id).toBe(5)
    expect((await openPublication(5)).status).toBe('queued')
    expect(calls.map((c) => c.url)).toEqual([
      '/api/cellxgene/publications/',
      '/api/cellxgene/publications/5/open/',
    ])
  })

  it("reads a viewer's dataset name through its own path, null while it does not answer", async () => {
    mockFetch({
      'GET /cellxgene/9/api/v0.2/config': {
        body: { config: { displayNames: { dataset: 'a.h5ad', engine: 'x' } } },
      },
    })
    expect(await viewerDataset(9)).toBe('a.h5ad')
    mockFetch({ 'GET /cellxgene/9/api/v0.2/config': { status: 503, body: { detail: 'starting' } } })
    expect(await viewerDataset(9)).toBeNull()
    mockFetch({})
    expect(await viewerDataset(9)).toBeNull()
  })

  it('builds addresses from ids', () => {
    expect(viewerUrl(12)).toBe('/cellxgene/12/')
    expect(cellxgeneAppLocation(7)).toEqual({ name: 'cellxgene', query: { file: '7' } })
  })
})
