import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { getMetadataSchema } from '@/api/metadata'
import type { AccessLevel, FacetField, MetadataField } from '@/api/types'

/**
 * The metadata field definitions, fetched once: the form is built from them; and the search
 * sidebar's facets, declared by the server once for every layer of search.
 */
export const useMetadataStore = defineStore('metadata', () => {
  const fields = ref<MetadataField[]>([])
  const accessLevels = ref<AccessLevel[]>(['public', 'internal', 'restricted'])
  const facets = ref<FacetField[]>([])
  const loaded = ref(false)
  let pending: Promise<void> | null = null

  const biological = computed(() => fields.value.filter((f) => f.group === 'biological'))
  const technical = computed(() => fields.value.filter((f) => f.group === 'technical'))

  function load(): Promise<void> {
    if (loaded.value) return Promise.resolve()
    pending ??= getMetadataSchema()
      .then((schema) => {
        fields.value = schema.fields
        if (schema.access_levels?.length) accessLevels.value = schema.access_levels
        facets.value = schema.facets ?? []
        loaded.value = true
      })
      .finally(() => {
        pending = null
      })
    return pending
  }

  return { fields, accessLevels, facets, loaded, biological, technical, load }
})
