import { describe, expect, it } from 'vitest'
import { hasGenomeView } from './genome'

describe('hasGenomeView', () => {
  it('offers the Genome view for BAM, CRAM and VCF files only', () => {
    expect(hasGenomeView({ name: 'x.bin', file_format: 'bam' })).toBe(true)
    expect(hasGenomeView({ name: 'calls.vcf.gz', file_format: '' })).toBe(true)
    expect(hasGenomeView({ name: 'reads.CRAM', file_format: '' })).toBe(true)
    expect(hasGenomeView({ name: 'reads.bam.bai', file_format: '' })).toBe(false)
    expect(hasGenomeView({ name: 'reads.fastq.gz', file_format: 'fastq' })).toBe(false)
  })
})
