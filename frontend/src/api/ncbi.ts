import { request } from './client'

/** What the NCBI bridge can import (ncbi_bridge/links.py). */
export type NcbiKind =
  'gene' | 'protein' | 'nucleotide' | 'sra' | 'pubmed' | 'bioproject' | 'biosample'

export type NcbiImportStatus = 'pending' | 'downloading' | 'done' | 'failed'

/** `GET /api/files/ncbi/preview/?q=`: the detected record and a short summary from NCBI. */
export interface NcbiPreview {
  kind: NcbiKind
  kind_label: string
  accession: string
  /** True when the payload downloads in the background (SRA reads). */
  background: boolean
  summary: Record<string, unknown> & { title?: string; organism?: string }
}

/** An import as `POST /api/files/ncbi/import/` and its status endpoint return it. */
export interface NcbiImport {
  id: number
  accession: string
  kind: NcbiKind
  status: NcbiImportStatus
  /** The first stored file; null until an SRA download is stored. */
  file: number | null
  files: number[]
  metadata: Record<string, string | number>
  summary: Record<string, unknown>
  progress: { bytes: number; total: number | null; percent: number | null }
  error: string
  project: number
  folder: number | null
  source_url: string
  status_url: string
  created_at: string
  updated_at: string
}

export interface NcbiImportRequest {
  url: string
  parent_folder?: number | null
  project?: number | null
}

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
