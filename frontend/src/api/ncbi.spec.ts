import { describe, expect, it } from 'vitest'
import { mockFetch, setCookie } from '@/test/http'
import { getNcbiImportStatus, previewNcbi, startNcbiImport } from './ncbi'

describe('ncbi api', () => {
  it('previews a pasted link with the text as the q parameter', async () => {
    const { calls } = mockFetch({
      'GET /api/files/ncbi/preview/': {
        body: {
          kind: 'pubmed',
          kind_label: 'PubMed',
          accession: '1',
          background: false,
          summary: {},
        },
      },
    })
    const preview = await previewNcbi('https://pubmed.ncbi.nlm.nih.gov/22294463/')
    expect(preview.kind).toBe('pubmed')
    expect(calls[0].url).toBe(
      '/api/files/ncbi/preview/?q=https%3A%2F%2Fpubmed.ncbi.nlm.nih.gov%2F22294463%2F',
    )
  })

  it('starts an import with CSRF and follows its status url', async () => {
    setCookie('csrftoken=tok')
    const { calls } = mockFetch({
      'POST /api/files/ncbi/import/': { status: 202, body: { id: 3, status_url: '/s/' } },
      'GET /s/': { body: { id: 3, status: 'done' } },
    })
    const started = await startNcbiImport({ url: 'SRR25056225', parent_folder: 10 })
    expect(calls[0].body).toEqual({ url: 'SRR25056225', parent_folder: 10 })
    expect(calls[0].headers['x-csrftoken']).toBe('tok')
    const status = await getNcbiImportStatus(started)
    expect(status.status).toBe('done')
  })

  it('turns a 400 for an unknown link into an ApiError with the server words', async () => {
    mockFetch({
      'GET /api/files/ncbi/preview/': {
        status: 400,
        body: { detail: 'This is not an NCBI link. Supported: …', code: 'unsupported_link' },
      },
    })
    await expect(previewNcbi('hello')).rejects.toMatchObject({
      status: 400,
      code: 'unsupported_link',
    })
  })
})
