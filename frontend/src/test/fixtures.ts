import type {
  Action,
  AccessInfo,
  AuditEvent,
  DataFile,
  Folder,
  FolderDetail,
  Grant,
  MetadataField,
  Project,
  User,
} from '@/api/types'
import type { MLTask } from '@/api/ml'

export const user: User = {
  id: 1,
  username: 'alice',
  email: 'alice@example.org',
  first_name: 'Alice',
  last_name: 'Liddell',
  is_staff: false,
  is_superuser: false,
  groups: ['lab'],
}

/** Everything: what an owner of the project may do. */
export const ALL_ACTIONS: Action[] = ['view', 'download', 'upload', 'edit', 'delete', 'manage']
/** What a viewer may do. */
export const VIEW_ACTIONS: Action[] = ['view', 'download']

export function project(overrides: Partial<Project> = {}): Project {
  return {
    id: 1,
    name: 'Liver atlas',
    description: 'scRNA-seq of mouse liver',
    owner: 'alice',
    access_level: 'internal',
    retention_days: null,
    holds_human_data: false,
    quota_bytes: null,
    my_role: 'owner',
    my_permissions: [...ALL_ACTIONS],
    file_count: 3,
    total_size: 1_200_000_000,
    created_at: '2026-01-01T10:00:00Z',
    updated_at: '2026-01-02T10:00:00Z',
    seen_from_outside: false,
    ...overrides,
  }
}

export function folder(overrides: Partial<FolderDetail> = {}): FolderDetail {
  return {
    id: 10,
    project: 1,
    parent: null,
    name: 'raw',
    path: '/raw',
    access_level: 'inherit',
    effective_access_level: 'internal',
    my_permissions: [...ALL_ACTIONS],
    created_at: '2026-01-01T10:00:00Z',
    updated_at: '2026-01-01T10:00:00Z',
    ancestors: [],
    ...overrides,
  }
}

/** A folder as lists give it (no ancestors). */
export function plainFolder(overrides: Partial<Folder> = {}): Folder {
  return folder({ ancestors: [], ...overrides })
}

export function dataFile(overrides: Partial<DataFile> = {}): DataFile {
  return {
    id: 100,
    project: 1,
    folder: null,
    name: 'sample1.fastq.gz',
    size: 1234567,
    sha256: 'ab'.repeat(32),
    md5: 'cd'.repeat(16),
    final_checksums: ['sha256', 'md5'],
    content_type: 'application/gzip',
    description: '',
    tags: [],
    access_level: 'inherit',
    effective_access_level: 'internal',
    owner: 'alice',
    my_permissions: [...ALL_ACTIONS],
    parse_status: 'done',
    parse_error: '',
    stats: { reads: 3412908, gc_percent: 41.6 },
    upload_method: 'web',
    created_at: '2026-01-01T10:00:00Z',
    updated_at: '2026-01-01T10:00:00Z',
    download_url: '/api/files/100/download/',
    notes: null,
    donor_id: null,
    privacy_hints: [],
    autofilled_fields: [],
    index_of: null,
    index_files: [],
    organism: 'Mus musculus',
    taxon_id: 10090,
    tissue: 'liver',
    cell_type: '',
    disease: '',
    sex: '',
    developmental_stage: '',
    sample_id: 'S1',
    treatment: '',
    genotype: '',
    assay_type: 'RNA-seq',
    data_type: '',
    file_format: 'FASTQ',
    platform: '',
    instrument_model: '',
    library_layout: '',
    read_length: null,
    reference_genome: '',
    sequencing_date: null,
    bioproject_accession: '',
    biosample_accession: '',
    sra_accession: '',
    ...overrides,
  }
}

const text = (name: string, label: string, group: 'biological' | 'technical'): MetadataField => ({
  name: name as MetadataField['name'],
  label,
  group,
  type: 'text',
  choices: null,
  help: '',
})

/** The 22 fields, as the API publishes them. */
export const metadataFields: MetadataField[] = [
  text('organism', 'Organism', 'biological'),
  { ...text('taxon_id', 'Taxon ID', 'biological'), type: 'integer' },
  text('tissue', 'Tissue', 'biological'),
  text('cell_type', 'Cell type', 'biological'),
  text('disease', 'Disease', 'biological'),
  { ...text('sex', 'Sex', 'biological'), type: 'choice', choices: ['female', 'male', 'mixed'] },
  text('developmental_stage', 'Developmental stage', 'biological'),
  text('sample_id', 'Sample ID', 'biological'),
  text('treatment', 'Treatment', 'biological'),
  text('genotype', 'Genotype', 'biological'),
  {
    ...text('assay_type', 'Assay type', 'technical'),
    type: 'choice',
    choices: ['RNA-seq', 'scRNA-seq', 'WGS', 'ChIP-seq'],
  },
  text('data_type', 'Data type', 'technical'),
  {
    ...text('file_format', 'File format', 'technical'),
    type: 'choice',
    choices: ['FASTQ', 'BAM', 'VCF'],
  },
  text('platform', 'Platform', 'technical'),
  text('instrument_model', 'Instrument model', 'technical'),
  {
    ...text('library_layout', 'Library layout', 'technical'),
    type: 'choice',
    choices: ['single', 'paired'],
  },
  { ...text('read_length', 'Read length', 'technical'), type: 'integer' },
  text('reference_genome', 'Reference genome', 'technical'),
  { ...text('sequencing_date', 'Sequencing date', 'technical'), type: 'date' },
  text('bioproject_accession', 'BioProject accession', 'technical'),
  text('biosample_accession', 'BioSample accession', 'technical'),
  text('sra_accession', 'SRA accession', 'technical'),
]

export function grant(overrides: Partial<Grant> = {}): Grant {
  return {
    id: 5,
    subject_type: 'user',
    subject: 'bob',
    object_type: 'folder',
    object: 10,
    object_name: 'raw',
    project: 1,
    permission: 'view',
    granted_by: 'alice',
    created_at: '2026-01-03T10:00:00Z',
    ...overrides,
  }
}

/** The access explanation of folder "raw" (restricted, set on itself) in "Liver atlas". */
export function accessInfo(overrides: Partial<AccessInfo> = {}): AccessInfo {
  return {
    object_type: 'folder',
    object: 10,
    name: 'raw',
    access_level: 'restricted',
    effective_access_level: 'restricted',
    source: { type: 'folder', id: 10, name: 'raw', access_level: 'restricted' },
    chain: [
      { type: 'folder', id: 10, name: 'raw', access_level: 'restricted' },
      { type: 'project', id: 1, name: 'Liver atlas', access_level: 'internal' },
    ],
    rules: [
      {
        kind: 'project_owner',
        subject_type: 'user',
        subject: 'alice',
        description: 'alice owns the project “Liver atlas”',
      },
      {
        kind: 'grant',
        description: 'bob can view (granted on folder “raw”)',
        subject_type: 'user',
        subject: 'bob',
        permission: 'view',
      },
    ],
    ...overrides,
  }
}

export function auditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: 41,
    timestamp: '2026-01-05T09:30:00Z',
    actor: 'alice',
    action: 'file.update',
    object_type: 'file',
    object_id: '100',
    object_repr: 'sample1.fastq.gz',
    project_id: 1,
    ip: '10.0.0.7',
    user_agent: 'Mozilla/5.0',
    details: { changes: { organism: ['', 'Mus musculus'] } },
    prev_hash: 'a'.repeat(64),
    hash: 'b'.repeat(64),
    mac: 'c'.repeat(64),
    ...overrides,
  }
}

/** An analysis task (QC on sample1.fastq.gz, done, no result). */
export function task(overrides: Partial<MLTask> = {}): MLTask {
  return {
    id: 7,
    task_type: 'qc',
    label: 'Quality control',
    file: 100,
    file_name: 'sample1.fastq.gz',
    submitter: 'alice',
    status: 'done',
    params: {},
    result: null,
    error: '',
    created_at: '2026-01-01T10:00:00Z',
    started_at: '2026-01-01T10:00:01Z',
    finished_at: '2026-01-01T10:00:02Z',
    ...overrides,
  }
}
