import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { getMetadataSchema } from '@/api/metadata'
import type { AccessLevel, MetadataField } from '@/api/types'

/** The metadata field definitions, fetched once: the form is built from them. */
export const useMetadataStore = defineStore('metadata', () => {
  const fields = ref<MetadataField[]>([])
  const accessLevels = ref<AccessLevel[]>(['public', 'internal', 'restricted'])
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
        loaded.value = true
      })
      .finally(() => {
        pending = null
      })
    return pending
  }

  return { fields, accessLevels, loaded, biological, technical, load }
})
