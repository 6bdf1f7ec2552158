import { describeError, isApiError } from '@/api/client'
import { updateFile } from '@/api/files'
import type { DataFile, DataFilePatch, MetadataField } from '@/api/types'

/** A value as the bulk "Set field" dialog holds it: text, a vocabulary word, a number or a date. */
export type FieldValue = string | number | null

/** A file a bulk change left alone, and the reason the API gave for it. */
export interface BulkFailure {
  id: number
  name: string
  reason: string
}

export interface BulkOutcome {
  changed: number
  failures: BulkFailure[]
}

/**
 * The value to send for `field`: trimmed text; clearing a text or vocabulary field stores "",
 * a number or date field null (what the API accepts).
 */
export function valueToSend(field: MetadataField | undefined, value: FieldValue): FieldValue {
  const empty =
    value === null || value === undefined || (typeof value === 'string' && !value.trim())
  if (empty && (field?.type === 'integer' || field?.type === 'date')) return null
  // The API takes a JSON number for a number field, never its digits as text.
  if (field?.type === 'integer' && typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) {
    return Number(value.trim())
  }
  if (field?.type === 'integer' || field?.type === 'date') return value
  return empty ? '' : String(value).trim()
}

/**
 * Why the API refused one file, in words: "not allowed: you are a viewer of project “X”",
 * "invalid value: “f” is not one of female, male, …", "not found: …". Never a guess.
 */
export function failureReason(err: unknown, fieldName = ''): string {
  if (!isApiError(err)) return describeError(err)
  if (err.status === 403) {
    const why = /^You don't have permission to [\w ]+ this \w+: (.+?)\.?$/.exec(err.detail)
    return `not allowed: ${why ? why[1] : err.detail.replace(/\.$/, '')}`
  }
  if (err.status === 400) {
    const own = err.fieldErrors[fieldName]
    const all = own?.length ? own : Object.values(err.fieldErrors).flat()
    return `invalid value: ${(all.length ? all.join(' ') : err.detail).replace(/\.$/, '')}`
  }
  if (err.status === 404) return 'not found: it was deleted or you can no longer see it'
  return describeError(err)
}

type Update = (id: number, patch: DataFilePatch) => Promise<unknown>

/** PATCHes every file, one by one, with `patchFor(file)`; every refusal keeps its reason. */
export async function patchEach(
  files: readonly DataFile[],
  patchFor: (file: DataFile) => DataFilePatch,
  fieldName: string,
  update: Update = updateFile,
): Promise<BulkOutcome> {
  const failures: BulkFailure[] = []
  let changed = 0
  for (const file of files) {
    try {
      await update(file.id, patchFor(file))
      changed += 1
    } catch (err) {
      failures.push({ id: file.id, name: file.name, reason: failureReason(err, fieldName) })
    }
  }
  return { changed, failures }
}

/** Sets `fieldName` = `value` on every file (the bulk "Set field"). */
export function setFieldOn(
  files: readonly DataFile[],
  fieldName: string,
  value: FieldValue,
  update: Update = updateFile,
): Promise<BulkOutcome> {
  return patchEach(files, () => ({ [fieldName]: value }) as DataFilePatch, fieldName, update)
}
