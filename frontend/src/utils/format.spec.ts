import { describe, expect, it } from 'vitest'
import {
  formatBytes,
  formatDateTime,
  formatExactBytes,
  formatNumber,
  formatPercent,
} from './format'

describe('formatBytes', () => {
  it.each([
    [0, '0 bytes'],
    [1, '1 byte'],
    [999, '999 bytes'],
    [1000, '1.0 kB'],
    [1_234_567, '1.2 MB'],
    [1_200_000_000, '1.2 GB'],
    [999_960, '1.0 MB'],
    [3.5e12, '3.5 TB'],
  ])('%d → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text)
  })

  it('shows a dash for missing values', () => {
    expect(formatBytes(null)).toBe('—')
  })
})

describe('formatNumber', () => {
  it('adds thousands separators', () => {
    expect(formatNumber(3412908)).toBe('3,412,908')
    expect(formatNumber(41.625)).toBe('41.63')
    expect(formatNumber(undefined)).toBe('—')
  })

  it('formats exact bytes and percentages', () => {
    expect(formatExactBytes(1234567)).toBe('1,234,567 bytes')
    expect(formatPercent(41.63)).toBe('41.6 %')
  })
})

describe('formatDateTime', () => {
  it('formats ISO timestamps and passes through junk', () => {
    expect(formatDateTime('2026-01-02T03:04:00')).toBe('2026-01-02 03:04')
    expect(formatDateTime('not a date')).toBe('not a date')
    expect(formatDateTime(null)).toBe('—')
  })
})

describe('countOf', () => {
  it('puts the noun in the right number', async () => {
    const { countOf } = await import('./format')
    expect(countOf(1, 'file')).toBe('1 file')
    expect(countOf(0, 'file')).toBe('0 files')
    expect(countOf(3412, 'file')).toBe('3,412 files')
  })
})
