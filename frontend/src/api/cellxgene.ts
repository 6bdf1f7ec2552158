import { ApiError, request } from './client'

/** Where a publication is: the mask's steps follow it. */
export type PublicationStatus =
  'queued' | 'copying' | 'embedding' | 'starting' | 'ready' | 'failed' | 'stopped'

export interface Publication {
  id: number
  file: number | null
  dataset: string
  status: PublicationStatus
  /** The dataset's own viewer address, behind our login: `/cellxgene/<id>/`. */
  url: string
  /** The obsm key computed for the viewer (`X_truncated_svd`), or null when none was needed. */
  embedding: string | null
  error: string | null
  log_tail: string | null
  /** Times its viewer was started again (after a stop, an eviction or a crash). */
  restarts: number
  created_at: string
  ready_at: string | null
  finished_at: string | null
  last_used_at: string | null
}

export interface PublishResponse {
  status: PublicationStatus
  dataset: string
  url: string
  publication: number
  file: number
}

/**
 * `GET /api/cellxgene/status/`: the latest publication of a file (or, without one, your own
 * latest publication) and whether its viewer runs.
 */
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

/** A dataset's viewer address (the trailing slash matters). */
export function viewerUrl(publicationId: number): string {
  return `/cellxgene/${publicationId}/`
}

/** Publishes an .h5ad file (or reopens its stopped publication); answers at once. */
export function publishToCellxgene(fileId: number): Promise<PublishResponse> {
  return request<PublishResponse>('/api/cellxgene/publish/', {
    method: 'POST',
    body: { file: fileId },
  })
}

/** The state of a file's publication; without a file, of your own latest publication. */
export function getCellxgeneStatus(fileId?: number): Promise<CellxgeneStatus> {
  return request<CellxgeneStatus>('/api/cellxgene/status/', {
    query: fileId ? { file: String(fileId) } : undefined,
  })
}

/** Your recent publications, one per file, newest first (the top bar's menu). */
export async function recentPublications(): Promise<Publication[]> {
  const body = await request<{ results: Publication[] }>('/api/cellxgene/publications/')
  return body.results
}

/** Starts a stopped dataset's viewer again; the status then follows the usual steps. */
export function openPublication(publicationId: number): Promise<Publication> {
  return request<Publication>(`/api/cellxgene/publications/${publicationId}/open/`, {
    method: 'POST',
  })
}

/**
 * The dataset a publication's viewer itself says it serves (`config.displayNames.dataset`),
 * asked through the proxy; null while it does not answer (starting, stopped, or not yours).
 */
export async function viewerDataset(
  publicationId: number,
  signal?: AbortSignal,
): Promise<string | null> {
  try {
    const body = await request<{ config?: { displayNames?: { dataset?: unknown } } }>(
      `${viewerUrl(publicationId)}api/v0.2/config`,
      { signal, skipUnauthorizedHandler: true },
    )
    const name = body?.config?.displayNames?.dataset
    return typeof name === 'string' ? name : null
  } catch (err) {
    if (err instanceof ApiError) return null
    throw err
  }
}

/** The SPA page of a file's dataset: `/cellxgene-app?file=<id>`. */
export function cellxgeneAppLocation(fileId: number) {
  return { name: 'cellxgene', query: { file: String(fileId) } }
}
