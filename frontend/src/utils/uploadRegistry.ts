/**
 * The registry of unfinished uploads this browser started, kept in localStorage so that after a
 * reload they show as "interrupted" and can go on from the server's offset. Beside each entry,
 * tus-js-client keeps its own `tus::<fingerprint>::<n>` entry; forgetting an upload drops both.
 *
 * Public surface: `REGISTRY_KEY`, `RegistryEntry`, `readRegistry`, `rememberUpload`,
 * `forgetUpload`.
 */

/** localStorage key of the unfinished uploads this browser started (to resume after a reload). */
export const REGISTRY_KEY = 'bfm:uploads'

/** What the registry keeps of an unfinished upload. */
export interface RegistryEntry {
  uploadUrl: string
  filename: string
  size: number
  type: string
  project: number
  folder: number | null
  target: string
  createdAt: string
}

export function readRegistry(): RegistryEntry[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(REGISTRY_KEY) ?? '[]')
    return Array.isArray(parsed)
      ? (parsed as RegistryEntry[]).filter(
          (e) => e && typeof e.uploadUrl === 'string' && typeof e.filename === 'string',
        )
      : []
  } catch {
    return []
  }
}

function writeRegistry(entries: RegistryEntry[]): void {
  try {
    if (entries.length) localStorage.setItem(REGISTRY_KEY, JSON.stringify(entries))
    else localStorage.removeItem(REGISTRY_KEY)
  } catch {
    // Storage full or disabled: uploads still work, they just can't be resumed after a reload.
  }
}

/** Records (or refreshes) an unfinished upload under its URL. */
export function rememberUpload(entry: Omit<RegistryEntry, 'createdAt'>): void {
  const others = readRegistry().filter((e) => e.uploadUrl !== entry.uploadUrl)
  others.push({ ...entry, createdAt: new Date().toISOString() })
  writeRegistry(others)
}

/** Forgets an upload: its registry entry and tus-js-client's resume entries for its URL. */
export function forgetUpload(uploadUrl: string | null): void {
  if (!uploadUrl) return
  writeRegistry(readRegistry().filter((e) => e.uploadUrl !== uploadUrl))
  forgetTusEntries(uploadUrl)
}

/** Drops tus-js-client's own resume entries (`tus::<fingerprint>::<n>`) for an upload URL. */
function forgetTusEntries(uploadUrl: string): void {
  try {
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const key = localStorage.key(i)
      if (!key?.startsWith('tus::')) continue
      try {
        if (JSON.parse(localStorage.getItem(key) ?? '{}').uploadUrl === uploadUrl) {
          localStorage.removeItem(key)
        }
      } catch {
        // not ours to judge
      }
    }
  } catch {
    // storage unavailable
  }
}
