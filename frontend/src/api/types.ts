/**
 * Shapes of the BioFileManager REST API (see the API contract in the project brief).
 * Hand-written until the backend publishes an OpenAPI schema to generate them from.
 */

export type AccessLevel = 'public' | 'internal' | 'restricted'
export type FolderAccessLevel = AccessLevel | 'inherit'
export type ProjectRole = 'owner' | 'editor' | 'viewer'
export type ParseStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped'

/** What the caller may do with an object (`my_permissions` on every project, folder, file). */
export type Action = 'view' | 'download' | 'upload' | 'edit' | 'delete' | 'manage'

export interface User {
  id: number
  username: string
  email: string
  first_name: string
  last_name: string
  is_staff: boolean
  is_superuser: boolean
  groups: string[]
}

export interface Paginated<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}

export interface Project {
  id: number
  name: string
  description: string
  owner: string
  access_level: AccessLevel
  retention_days: number | null
  /** Patient-derived data: uploads ask for a confirmation of consent / de-identification. */
  holds_human_data?: boolean
  quota_bytes?: number | null
  my_role: ProjectRole | null
  my_permissions?: Action[]
  file_count: number
  total_size: number
  created_at: string
  updated_at: string
}

export interface ProjectCreate {
  name: string
  description?: string
  access_level?: AccessLevel
}

export interface Folder {
  id: number
  project: number
  parent: number | null
  name: string
  path: string
  access_level: FolderAccessLevel
  /** The level that applies after inheritance (the folder's own, or its parents' or project's). */
  effective_access_level: AccessLevel
  my_permissions?: Action[]
  created_at: string
  updated_at: string
}

export interface FolderDetail extends Folder {
  /** Root-first chain of parents, for the breadcrumb. */
  ancestors: { id: number; name: string }[]
}

export interface FolderCreate {
  project: number
  parent: number | null
  name: string
  access_level?: FolderAccessLevel
}

/** The 22 descriptive fields every file carries, flat on the file record. */
export interface FileMetadata {
  organism: string
  taxon_id: number | null
  tissue: string
  cell_type: string
  disease: string
  sex: string
  developmental_stage: string
  sample_id: string
  treatment: string
  genotype: string
  assay_type: string
  data_type: string
  file_format: string
  platform: string
  instrument_model: string
  library_layout: string
  read_length: number | null
  reference_genome: string
  sequencing_date: string | null
  bioproject_accession: string
  biosample_accession: string
  sra_accession: string
}

export type MetadataFieldName = keyof FileMetadata

/** A stored data file ("DataFile" so it never shadows the DOM's File). */
export interface DataFile extends FileMetadata {
  id: number
  project: number
  folder: number | null
  name: string
  size: number
  sha256: string
  /** '' until the background worker has computed it (see final_checksums). */
  md5: string
  /** The digests that are known and final: 'sha256' from the start, 'md5' a little later. */
  final_checksums?: ('sha256' | 'md5')[]
  content_type: string
  description: string
  tags: string[]
  access_level: FolderAccessLevel
  effective_access_level: AccessLevel
  owner: string
  parse_status: ParseStatus
  parse_error: string
  parse_started_at?: string | null
  /** Metadata fields that were filled in from the file's content. */
  autofilled_fields?: string[]
  stats: Record<string, unknown>
  /** "web", "tus", "api", … */
  upload_method: string
  created_at: string
  updated_at: string
  download_url: string
  my_permissions?: Action[]
  /** The data file this index sidecar belongs to (null for every other file). */
  index_of?: number | null
  /** Index sidecars uploaded beside this file (detail view only). */
  index_files?: { id: number; name: string; size: number }[]
}

/** A file in the trash (`GET /api/trash/`). */
export interface TrashedFile {
  id: number
  project: number
  project_name: string
  folder: number | null
  name: string
  size: number
  sha256: string
  owner: string
  deleted_at: string
  /** When it will be erased for good. */
  purge_after: string | null
}

/** A name already taken in an upload's target folder. */
export interface NameConflict {
  name: string
  file: number
  can_replace: boolean
}

/** A time-limited download link (`POST /api/files/:id/download-url/`). */
export interface SignedLink {
  url: string
  expires_at: string
}

/**
 * `verifying`: every byte is on the server, which is computing the whole file's SHA-256 and MD5
 * and storing it; then `completed` (with `file`) or `failed` (with `error`).
 */
export type TusUploadState =
  'active' | 'verifying' | 'completed' | 'terminated' | 'expired' | 'failed'

/** Server-side state of one tus upload (`GET /api/uploads/:uuid/status/`). */
export interface TusUploadStatus {
  id: string
  filename: string
  offset: number
  length: number
  state: TusUploadState
  /** The stored file once the upload completed. */
  file: number | null
  /** Checksums of the stored file once completed ('' before). */
  sha256?: string
  md5?: string
  error: string
  expires_at: string | null
  /** When the last byte arrived. */
  received_at?: string | null
}

export type DataFilePatch = Partial<
  FileMetadata & {
    name: string
    description: string
    tags: string[]
    access_level: FolderAccessLevel
  }
>

export interface MetadataField {
  name: MetadataFieldName
  label: string
  group: 'biological' | 'technical'
  type: 'text' | 'choice' | 'integer' | 'date'
  choices: string[] | null
  help: string
}

export interface MetadataSchema {
  fields: MetadataField[]
  access_levels: AccessLevel[]
}

// ---- Access control -------------------------------------------------------------------------

/** What can be shared: a project, a folder or a file. */
export type ShareObjectType = 'project' | 'folder' | 'file'
export type SubjectType = 'user' | 'group'
export type Permission = 'view' | 'edit' | 'manage'

/** A user as the directory search returns it (`GET /api/users/?q=`). */
export interface UserSummary {
  id: number
  username: string
  first_name: string
  last_name: string
}

export interface GroupSummary {
  id: number
  name: string
}

/** A project member; the owner has `id: null` and can be neither changed nor removed. */
export interface Member {
  id: number | null
  kind: SubjectType
  name: string
  role: ProjectRole
}

export interface MemberCreate {
  kind: SubjectType
  name: string
  role: ProjectRole
}

export interface Grant {
  id: number
  subject_type: SubjectType
  subject: string
  object_type: ShareObjectType
  object: number
  object_name: string
  project: number
  permission: Permission
  granted_by: string | null
  created_at: string
}

export interface GrantCreate {
  subject_type: SubjectType
  subject: string
  object_type: ShareObjectType
  object: number
  permission: Permission
}

export interface AccessNode {
  type: ShareObjectType
  id: number
  name: string
  access_level: FolderAccessLevel
}

export type AccessRuleKind =
  'level' | 'superuser' | 'owner' | 'project_owner' | 'member' | 'group_member' | 'grant'

export interface AccessRule {
  kind: AccessRuleKind
  description: string
  subject_type?: SubjectType | 'everyone' | 'signed_in'
  subject?: string
  role?: string
  permission?: string
  via?: { type: ShareObjectType; id: number; name: string }
}

export interface AccessCheck {
  user: string
  visible: boolean
  rank: 'none' | Permission
  reasons: string[]
}

/** Who can see an object and why (`GET /api/<type>s/:id/access/`). */
export interface AccessInfo {
  object_type: ShareObjectType
  object: number
  name: string
  /** The object's own level; "inherit" for folders and files that take their parent's. */
  access_level: FolderAccessLevel
  effective_access_level: AccessLevel
  /** Where the effective level is set. */
  source: AccessNode
  /** The object first, then its folders, ending with the project. */
  chain: AccessNode[]
  rules: AccessRule[]
  check?: AccessCheck
}

// ---- Audit trail ----------------------------------------------------------------------------

export interface AuditEvent {
  id: number
  timestamp: string
  /** "" for anonymous requests (a failed sign-in, a public download). */
  actor: string
  action: string
  object_type: string
  object_id: string | number | null
  object_repr: string
  project_id: number | null
  ip: string | null
  user_agent: string
  details: Record<string, unknown>
  prev_hash: string
  hash: string
}

export interface AuditFilters {
  actor?: string
  /** Exact action, or a prefix ending with "." ("file."). */
  action?: string
  object_type?: string
  object_id?: string | number
  project?: string | number
  /** ISO datetimes. */
  since?: string
  until?: string
}

export interface AuditVerification {
  ok: boolean
  checked: number
  first_broken: number | null
}
