import { request } from './client'
import type { components } from './schema'

type Schemas = components['schemas']

/** What the NCBI bridge can import (ncbi_bridge/links.py). */
export type NcbiKind = Schemas['NcbiImportKindEnum']

export type NcbiImportStatus = Schemas['NcbiImportStatusEnum']

/** `GET /api/files/ncbi/preview/?q=`: the detected record and a short summary from NCBI. */
export type NcbiPreview = Schemas['NcbiPreview']

/** An import as `POST /api/files/ncbi/import/` and its status endpoint return it. */
export type NcbiImport = Schemas['NcbiImport']

export type NcbiImportRequest = Schemas['NcbiImportRequestRequest']

export function previewNcbi(q: string, signal?: AbortSignal): Promise<NcbiPreview> {
  return request<NcbiPreview>('/api/files/ncbi/preview/', { query: { q }, signal })
}

export function startNcbiImport(body: NcbiImportRequest): Promise<NcbiImport> {
  return request<NcbiImport>('/api/files/ncbi/import/', { method: 'POST', body })
}

/** Follow an import: `status_url` already names its kind, project and folder. */
export function getNcbiImportStatus(item: Pick<NcbiImport, 'status_url'>): Promise<NcbiImport> {
  return request<NcbiImport>(item.status_url)
}

export const NCBI_KIND_LABELS: Record<NcbiKind, string> = {
  gene: 'Gene',
  protein: 'Protein',
  nucleotide: 'Nucleotide',
  sra: 'SRA run',
  pubmed: 'PubMed article',
  bioproject: 'BioProject',
  biosample: 'BioSample',
}
