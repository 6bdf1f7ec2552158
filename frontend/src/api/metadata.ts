import { request } from './client'
import type { MetadataSchema } from './types'

export function getMetadataSchema(): Promise<MetadataSchema> {
  return request<MetadataSchema>('/api/metadata/fields/')
}
