import { describe, expect, it } from 'vitest'
import H5adStats from './H5adStats.vue'
import { factsOf, mountStats } from './testing'

describe('H5adStats', () => {
  it('shows the shape even when one side is unknown, and only the lists present', () => {
    const wrapper = mountStats(H5adStats, { n_obs: 120000, obsm_keys: ['X_umap'] })
    expect(factsOf(wrapper)['Shape (n_obs × n_vars)']).toBe('120,000 observations × — variables')
    expect(wrapper.findAll('.stats-section h3').map((h) => h.text())).toEqual(['Embeddings (obsm)'])
  })
})
