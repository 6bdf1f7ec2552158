/** Short, readable summaries of audit events for tables. */
import type { AuditEvent, AuditFilters } from '@/api/types'

function short(value: unknown, max = 60): string {
  let text: string
  if (value === null || value === undefined || value === '') text = '—'
  else if (typeof value === 'string') text = value
  else text = JSON.stringify(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * `{changes: {name: ["a", "b"]}}` → "name: a → b"; other details → "key: value; …".
 * Empty details give "".
 */
export function summariseDetails(details: Record<string, unknown> | null | undefined): string {
  if (!details || typeof details !== 'object') return ''
  const parts: string[] = []
  const changes = details.changes
  if (changes && typeof changes === 'object' && !Array.isArray(changes)) {
    for (const [field, pair] of Object.entries(changes as Record<string, unknown>)) {
      if (Array.isArray(pair) && pair.length === 2) {
        parts.push(`${field}: ${short(pair[0])} → ${short(pair[1])}`)
      } else {
        parts.push(`${field}: ${short(pair)}`)
      }
    }
  }
  for (const [key, value] of Object.entries(details)) {
    if (key === 'changes') continue
    parts.push(`${key}: ${short(value)}`)
  }
  return parts.join('; ')
}

/** "file “a.fastq” (#12)", "project #3", or "" when the event has no object. */
export function describeObject(
  event: Pick<AuditEvent, 'object_type' | 'object_id' | 'object_repr'>,
): string {
  if (!event.object_type) return event.object_repr || ''
  const id = event.object_id !== null && event.object_id !== '' ? ` #${event.object_id}` : ''
  if (event.object_repr)
    return `${event.object_type} “${event.object_repr}”${id ? ` (${id.trim()})` : ''}`
  return `${event.object_type}${id}`
}

/** The audit filters the URL query carries, named as the API names them. */
export const AUDIT_FILTER_KEYS = [
  'actor',
  'action',
  'object_type',
  'object_id',
  'project',
  'since',
  'until',
] as const
export type AuditFilterKey = (typeof AUDIT_FILTER_KEYS)[number]

/** A date from the picker ("2026-01-31") is a whole local day; full datetimes pass through. */
export function dayBound(value: string, end: boolean): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return value
  const d = new Date(`${value}T${end ? '23:59:59.999' : '00:00:00'}`)
  return Number.isNaN(d.getTime()) ? value : d.toISOString()
}

/** The first string value of a query parameter ("" when absent). */
export function queryValue(query: Record<string, unknown>, key: string): string {
  const value = query[key]
  const first = Array.isArray(value) ? value[0] : value
  return typeof first === 'string' ? first : ''
}

/** API filters from a URL query: empty ones dropped, days turned into datetimes. */
export function auditFiltersFromQuery(query: Record<string, unknown>): AuditFilters {
  const filters: AuditFilters = {}
  for (const key of AUDIT_FILTER_KEYS) {
    const value = queryValue(query, key).trim()
    if (!value) continue
    if (key === 'since') filters.since = dayBound(value, false)
    else if (key === 'until') filters.until = dayBound(value, true)
    else filters[key] = value
  }
  return filters
}
