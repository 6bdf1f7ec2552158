import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { mockFetch } from '@/test/http'
import { metadataFields } from '@/test/fixtures'
import { useMetadataStore } from './metadata'

beforeEach(() => setActivePinia(createPinia()))

describe('metadata store', () => {
  it('loads the field definitions once and groups them', async () => {
    const { calls } = mockFetch({
      'GET /api/metadata/fields/': {
        body: { fields: metadataFields, access_levels: ['public', 'internal', 'restricted'] },
      },
    })
    const store = useMetadataStore()
    await Promise.all([store.load(), store.load()])
    await store.load()
    expect(calls).toHaveLength(1)
    expect(store.fields).toHaveLength(22)
    expect(store.biological.map((f) => f.label)).toContain('Organism')
    expect(store.technical.map((f) => f.label)).toContain('Assay type')
  })
})
