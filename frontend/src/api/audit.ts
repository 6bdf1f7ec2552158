import { request } from './client'
import type { AuditEvent, AuditFilters, AuditVerification, Paginated } from './types'

export const AUDIT_PAGE_SIZE = 50

/** Audit events, newest first. Empty filters are left out of the query. */
export function listAuditEvents(
  filters: AuditFilters = {},
  page = 1,
  pageSize = AUDIT_PAGE_SIZE,
): Promise<Paginated<AuditEvent>> {
  const query: Record<string, string | number> = {}
  for (const [key, value] of Object.entries(filters)) {
    if (value !== undefined && value !== null && String(value).trim() !== '') {
      query[key] = String(value).trim()
    }
  }
  query.page = page
  query.page_size = pageSize
  return request<Paginated<AuditEvent>>('/api/audit/', { query })
}

/** Checks the hash chain of the whole trail (staff only). */
export function verifyAuditChain(): Promise<AuditVerification> {
  return request<AuditVerification>('/api/audit/verify/')
}
