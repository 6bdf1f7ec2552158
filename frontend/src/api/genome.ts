import { request } from './client'
import type { components } from './schema'

/** What the Genome view needs (`GET /api/files/<id>/genome-view/`): signed links to the file,
 * its index and the project's reference FASTA + .fai, or the contigs of the file's header. */
export type GenomeView = components['schemas']['GenomeView']

export function getGenomeView(fileId: number): Promise<GenomeView> {
  return request<GenomeView>(`/api/files/${fileId}/genome-view/`)
}

/** The header's contigs as a chrom.sizes text, for igv.js when there is no reference FASTA. */
export function chromSizesUrl(fileId: number): string {
  return `/api/files/${fileId}/genome-view/chrom-sizes/`
}

/** File formats the Genome view shows. */
export function hasGenomeView(file: { name: string; file_format: string }): boolean {
  const format = file.file_format.toLowerCase()
  if (format === 'bam' || format === 'cram' || format === 'vcf') return true
  const name = file.name.toLowerCase()
  return ['.bam', '.cram', '.vcf', '.vcf.gz'].some((suffix) => name.endsWith(suffix))
}
