import { request } from './client'
import type { components } from './schema'

type Schemas = components['schemas']

/** An analysis' name, as the gateway lists them (`GET /api/ml/task-types/`). */
export type TaskType = Schemas['TaskType']['task_type']

export type TaskStatus = Schemas['MLTaskStatusEnum']

// The shapes below, down to H5adVisResult, are of an analysis' `result` (and its items): a JSON
// blob each handler writes, which the schema leaves open (`MLTask.result`).

export type QcStatus = 'pass' | 'warn' | 'fail' | 'n/a'

export interface QcMetric {
  metric: string
  label: string
  unit: string
  value: number | null
  status: QcStatus
  warn: number
  fail: number
  better: 'higher' | 'lower'
}

export interface QcResult {
  format: string
  verdict: Exclude<QcStatus, 'n/a'>
  metrics: QcMetric[]
  tag: string
}

export interface Suggestion {
  field: string
  label: string
  value: string | number
  confidence: number
  source: string
  evidence: string[]
  /** The value the app filled in itself that this suggestion would replace. */
  replaces?: string | number
}

export interface AutotagResult {
  suggestions: Suggestion[]
  min_confidence: number
  applied: Record<string, unknown>
  apply_error?: string
}

export interface SummaryResult {
  summary: string
  sentences: { index: number; text: string; score: number }[]
  total_sentences: number
  method: string
}

export interface EmbeddingResult {
  model: string
  backend: 'minilm' | 'lsa'
  dimensions: number
  similar: SimilarFile[]
}

export interface LayoutPreview {
  embedding: string
  x: number[]
  y: number[]
  colour_by: string | null
  categories?: string[]
  label?: number[]
  points: number
  cells: number
}

export interface H5adVisResult {
  n_obs: number
  n_vars: number
  n_hvg: number
  n_pcs: number
  steps: string[]
  embeddings: string[]
  preview: LayoutPreview
}

export type MLTask = Schemas['MLTask']

export type TaskTypeInfo = Schemas['TaskType']

export type TriggerResponse = Schemas['TriggerResponse']

/** Queues an analysis of a file; answers at once with the task's id. */
export function triggerAnalysis(
  taskType: TaskType,
  fileId: number,
  params: NonNullable<Schemas['TriggerRequest']['params']> = {},
): Promise<TriggerResponse> {
  return request<TriggerResponse>('/api/ml/trigger/', {
    method: 'POST',
    body: { task_type: taskType, file_id: fileId, params },
  })
}

/** Your tasks (staff: everyone's), newest first. */
export function listTasks(
  query: { file?: number; page_size?: number } = {},
): Promise<Schemas['PaginatedMLTaskList']> {
  return request<Schemas['PaginatedMLTaskList']>('/api/ml/tasks/', {
    query: { page_size: 50, ...query },
  })
}

export function getTask(id: number): Promise<MLTask> {
  return request<MLTask>(`/api/ml/tasks/${id}/`)
}

export function listTaskTypes(): Promise<TaskTypeInfo[]> {
  return request<TaskTypeInfo[]>('/api/ml/task-types/')
}

/** A file ranked by similarity (also the items of an embedding result's `similar`). */
export type SimilarFile = Schemas['SimilarFile']

export type SimilarResponse = Schemas['SimilarFiles']

/** Files you may see ranked by similarity to this one (409 until it has an embedding). */
export function similarFiles(fileId: number, limit = 20): Promise<SimilarResponse> {
  return request<SimilarResponse>(`/api/files/${fileId}/similar/`, { query: { limit } })
}
