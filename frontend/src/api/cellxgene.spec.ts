import { afterEach, describe, expect, it, vi } from 'vitest'
import { mockFetch } from '@/test/http'
import { getCellxgeneStatus, publishToCellxgene, viewerDataset } from './cellxgene'

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('cellxgene api', () => {
  it('publishes a file by id', async () => {
    const { calls } = mockFetch({
      'POST /api/cellxgene/publish/': {
        status: 202,
        body: { status: 'queued', dataset: 'a.h5ad', url: '/cellxgene/', publication: 3, file: 7 },
      },
    })
    const answer = await publishToCellxgene(7)
    expect(answer.dataset).toBe('a.h5ad')
    expect(calls[0]!.body).toEqual({ file: 7 })
  })

  it('asks for the status of one dataset', async () => {
    const { calls } = mockFetch({
      'GET /api/cellxgene/status/': { body: { running: false, publication: null } },
    })
    await getCellxgeneStatus('my data.h5ad')
    expect(calls[0]!.url).toBe('/api/cellxgene/status/?dataset=my+data.h5ad')
  })

  it("reads the viewer's dataset name, null while the viewer does not answer", async () => {
    mockFetch({
      'GET /cellxgene/api/v0.2/config': {
        body: { config: { displayNames: { dataset: 'a.h5ad', engine: 'x' } } },
      },
    })
    expect(await viewerDataset()).toBe('a.h5ad')
    mockFetch({ 'GET /cellxgene/api/v0.2/config': { status: 502, body: { detail: 'down' } } })
    expect(await viewerDataset()).toBeNull()
    mockFetch({})
    expect(await viewerDataset()).toBeNull()
  })
})
