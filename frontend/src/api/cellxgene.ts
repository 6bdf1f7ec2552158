import { ApiError, request } from './client'

/** Where a publication is: the mask's steps follow it. */
export type PublicationStatus =
  'queued' | 'copying' | 'embedding' | 'starting' | 'ready' | 'failed' | 'stopped'

export interface Publication {
  id: number
  file: number | null
  dataset: string
  status: PublicationStatus
  /** The obsm key computed for the viewer (`X_truncated_svd`), or null when none was needed. */
  embedding: string | null
  error: string | null
  log_tail: string | null
  created_at: string
  ready_at: string | null
  finished_at: string | null
}

export interface PublishResponse {
  status: PublicationStatus
  dataset: string
  url: string
  publication: number
  file: number
}

/** `GET /api/cellxgene/status/`: the viewer (if it shows a file you may see) and your latest publication. */
export interface CellxgeneStatus {
  running: boolean
  ready: boolean
  dataset: string | null
  file: number | null
  url: string | null
  started_at: string | null
  error: string | null
  publication: Publication | null
}

/** Where the viewer is served, behind our login (the trailing slash matters). */
export const VIEWER_URL = '/cellxgene/'

/** Queues the publication of an .h5ad file; answers at once. */
export function publishToCellxgene(fileId: number): Promise<PublishResponse> {
  return request<PublishResponse>('/api/cellxgene/publish/', {
    method: 'POST',
    body: { file: fileId },
  })
}

/** The viewer's state; `dataset` narrows the publication to the latest one of that dataset. */
export function getCellxgeneStatus(dataset?: string): Promise<CellxgeneStatus> {
  return request<CellxgeneStatus>('/api/cellxgene/status/', {
    query: dataset ? { dataset } : undefined,
  })
}

/**
 * The dataset the viewer itself says it serves (`config.displayNames.dataset`), asked through
 * the proxy; null while it does not answer (starting, replaced, or not yours to see).
 */
export async function viewerDataset(signal?: AbortSignal): Promise<string | null> {
  try {
    const body = await request<{ config?: { displayNames?: { dataset?: unknown } } }>(
      `${VIEWER_URL}api/v0.2/config`,
      { signal, skipUnauthorizedHandler: true },
    )
    const name = body?.config?.displayNames?.dataset
    return typeof name === 'string' ? name : null
  } catch (err) {
    if (err instanceof ApiError) return null
    throw err
  }
}

/** The SPA page of a dataset. */
export function cellxgeneAppLocation(dataset: string) {
  return { name: 'cellxgene', query: { file: dataset } }
}
