import { ApiError, request } from './client'
import type { components } from './schema'

type Schemas = components['schemas']

/** Where a publication is: the mask's steps follow it. */
export type PublicationStatus = Publication['status']

export type Publication = Schemas['Publication']

export type PublishResponse = Schemas['PublishResponse']

/**
 * `GET /api/cellxgene/status/`: the latest publication of a file (or, without one, your own
 * latest publication) and whether its viewer runs.
 */
export type CellxgeneStatus = Schemas['Status']

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
  const body = await request<Schemas['PublicationList']>('/api/cellxgene/publications/')
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
    // cellxgene's own config answer (not our API), read defensively.
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
