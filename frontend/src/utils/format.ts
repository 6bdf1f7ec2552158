/**
 * Numbers and dates for humans: "1.2 GB", "3,412,908", "41.6 %", "2026-11-25 17:37".
 * Sizes are decimal (1 GB = 1,000,000,000 bytes), like sequencers' and most OS' reports;
 * views show the exact byte count on hover.
 */

const SIZE_UNITS = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB']

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return '—'
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000
    unit += 1
  }
  // Round first so 999.96 kB reads "1.0 MB", not "1000.0 kB".
  if (Number(value.toFixed(1)) >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000
    unit += 1
  }
  return `${value.toFixed(1)} ${SIZE_UNITS[unit]}`
}

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 })

export function formatNumber(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return '—'
  return numberFormat.format(value)
}

const decimalFormats = new Map<number, Intl.NumberFormat>()

/** A number with a fixed count of decimals and thousands separators: "6,280.6". */
export function formatDecimal(value: number | null | undefined, digits = 1): string {
  if (value == null || !Number.isFinite(value)) return '—'
  let format = decimalFormats.get(digits)
  if (!format) {
    format = new Intl.NumberFormat('en-US', {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    })
    decimalFormats.set(digits, format)
  }
  return format.format(value)
}

/** Exact byte count with separators, for titles: "1,234,567 bytes". */
export function formatExactBytes(bytes: number | null | undefined): string {
  if (bytes == null) return ''
  return `${formatNumber(bytes)} ${bytes === 1 ? 'byte' : 'bytes'}`
}

export function formatPercent(value: number | null | undefined, digits = 1): string {
  if (value == null || !Number.isFinite(value)) return '—'
  return `${value.toFixed(digits)} %`
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** Local date and time, "2026-11-25 17:37"; the input itself when it isn't a date. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  )
}

/** Transfer speed in decimal megabytes per second: "4.2 MB/s". */
export function formatSpeed(bytesPerSecond: number | null | undefined): string {
  if (!bytesPerSecond || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '—'
  const mb = bytesPerSecond / 1_000_000
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB/s`
}

/** A short duration: "8 s", "3 min 20 s", "1 h 5 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '—'
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) {
    const rest = s % 60
    return rest ? `${Math.floor(s / 60)} min ${rest} s` : `${Math.floor(s / 60)} min`
  }
  const minutes = Math.floor((s % 3600) / 60)
  return minutes ? `${Math.floor(s / 3600)} h ${minutes} min` : `${Math.floor(s / 3600)} h`
}

/** "1 file", "3,412 files": a count with its noun in the right number. */
export function countOf(count: number, singular: string, plural = `${singular}s`): string {
  return `${formatNumber(count)} ${count === 1 ? singular : plural}`
}
