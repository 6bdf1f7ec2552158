/**
 * Names the SPA uses for the API's shapes. Every type the server's schema defines comes from
 * `schema.d.ts`, generated from `/api/schema/` by openapi-typescript (`npm run api:types`;
 * `npm run api:check` fails when it is stale); only shapes the schema has no name for (a generic
 * page, a selection of fields, query filters) are written here.
 */
import type { components, operations } from './schema'

type Schemas = components['schemas']

export type AccessLevel = Schemas['AccessLevelEnum']
export type FolderAccessLevel = Schemas['NodeAccessLevelEnum']
export type ProjectRole = Schemas['RoleEnum']
export type ParseStatus = Schemas['ParseStatusEnum']
/** What the caller may do with an object (`my_permissions` on every project, folder, file). */
export type Action = Schemas['ActionEnum']

export type User = Schemas['User']

/** A numbered page of any list (`count`, `next`, `previous`, `results`). */
export interface Paginated<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}

/** A project; seen from outside (`seen_from_outside`), every field but the name and counts is null. */
export type Project = Schemas['Project']
export type ProjectCreate = Schemas['ProjectRequest']

export type Folder = Schemas['Folder']
/** A folder with its root-first `ancestors`, for the breadcrumb (the detail view fills them). */
export type FolderDetail = Schemas['Folder']
export type FolderCreate = Schemas['FolderRequest']

/** A stored data file ("DataFile" so it never shadows the DOM's File). */
export type DataFile = Schemas['File']
/** One of the 22 descriptive fields' names. */
export type MetadataFieldName = Schemas['MetadataFieldNameEnum']
/** The 22 descriptive fields every file carries, flat on the file record. */
export type FileMetadata = Pick<DataFile, MetadataFieldName>

export type TrashedFile = Schemas['TrashedFile']
/** A restore's answer: the file, how many came back, and which went to the top level. */
export type Restored = Schemas['Restored']
/** A name already taken in an upload's target folder. */
export type NameConflict = Schemas['Conflict']
/** `POST /api/files/conflicts/`: the names of a batch that are taken. */
export type NameConflicts = Schemas['Conflicts']
/** `POST /api/auth/token/`: an API token for scripts. */
export type ApiToken = Schemas['Token']
/** A time-limited download link (`POST /api/files/:id/download-url/`). */
export type SignedLink = Schemas['DownloadUrl']

/** Server-side state of one tus upload (`GET /api/uploads/:uuid/status/`). */
export type TusUploadStatus = Schemas['UploadStatus']
/**
 * `verifying`: every byte is on the server, which is computing the whole file's SHA-256 and MD5
 * and storing it; then `completed` (with `file`) or `failed` (with `error`).
 */
export type TusUploadState = TusUploadStatus['state']

export type DataFilePatch = Schemas['PatchedFileRequest']

export type MetadataField = Schemas['MetadataField']
export type MetadataSchema = Schemas['MetadataFields']
/** A facet of the search sidebar, as the server declares it (`search.declarations`). */
export type FacetField = Schemas['FacetName']

// ---- Access control -------------------------------------------------------------------------

/** What can be shared: a project, a folder or a file. */
export type ShareObjectType = Schemas['ObjectTypeEnum']
export type SubjectType = Schemas['SubjectKindEnum']
export type Permission = Schemas['PermissionEnum']

/** A user as the directory search returns it (`GET /api/users/?q=`). */
export type UserSummary = Schemas['UserRef']
export type GroupSummary = Schemas['GroupRef']

/** A project member; the owner has `id: null` and can be neither changed nor removed. */
export type Member = Schemas['Member']
export type MemberCreate = Schemas['MemberRequest']

export type Grant = Schemas['Grant']
export type GrantCreate = Schemas['GrantRequest']

export type AccessNode = Schemas['AccessNode']
export type AccessRuleKind = Schemas['AccessRuleKindEnum']
export type AccessRule = Schemas['AccessRule']
export type AccessCheck = Schemas['AccessCheck']
/** Who can see an object and why (`GET /api/<type>s/:id/access/`). */
export type AccessInfo = Schemas['AccessExplanation']

// ---- Audit trail ----------------------------------------------------------------------------

export type AuditEvent = Schemas['AuditEvent']
type AuditQuery = NonNullable<operations['audit_list']['parameters']['query']>
/** The audit list's filters as the SPA keeps them (`GET /api/audit/`'s query, as text). */
export type AuditFilters = Partial<
  Record<Exclude<keyof AuditQuery, 'page' | 'page_size' | 'ordering'>, string>
>
export type AuditVerification = Schemas['AuditVerify']
