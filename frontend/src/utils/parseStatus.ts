import type { ParseStatus } from '@/api/types'

/** The colour of a file's extraction status wherever it is shown as a tag. */
const PARSE_STATUS_TAG: Record<ParseStatus, 'info' | 'primary' | 'success' | 'danger'> = {
  pending: 'info',
  running: 'primary',
  done: 'success',
  failed: 'danger',
  skipped: 'info',
}

export function parseStatusTagType(status: string): 'info' | 'primary' | 'success' | 'danger' {
  return PARSE_STATUS_TAG[status as ParseStatus] ?? 'info'
}
