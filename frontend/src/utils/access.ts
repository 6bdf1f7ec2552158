/**
 * Words for access levels, permissions and roles, shared by the share dialog and the file's
 * Access tab.
 */
import type {
  AccessInfo,
  AccessLevel,
  FolderAccessLevel,
  Permission,
  ProjectRole,
  ShareObjectType,
} from '@/api/types'

export const LEVEL_WORDS: Record<FolderAccessLevel, string> = {
  public: 'Public',
  internal: 'Internal',
  restricted: 'Restricted',
  inherit: 'Inherit',
}

export const LEVEL_OPTIONS: { value: FolderAccessLevel; label: string }[] = [
  { value: 'inherit', label: 'Inherit from parent' },
  { value: 'public', label: 'Public — anyone' },
  { value: 'internal', label: 'Internal — every signed-in member' },
  { value: 'restricted', label: 'Restricted — only people given access' },
]

/** Projects have no parent to inherit from. */
export function levelOptions(type: ShareObjectType): { value: FolderAccessLevel; label: string }[] {
  return type === 'project' ? LEVEL_OPTIONS.filter((o) => o.value !== 'inherit') : LEVEL_OPTIONS
}

export const PERMISSION_OPTIONS: { value: Permission; label: string }[] = [
  { value: 'view', label: 'Can view' },
  { value: 'edit', label: 'Can edit' },
  { value: 'manage', label: 'Can manage' },
]

export const ROLE_OPTIONS: { value: ProjectRole; label: string }[] = [
  { value: 'owner', label: 'Owner' },
  { value: 'editor', label: 'Editor' },
  { value: 'viewer', label: 'Viewer' },
]

export function levelWord(level: FolderAccessLevel | AccessLevel | null | undefined): string {
  return level ? (LEVEL_WORDS[level] ?? level) : ''
}

/**
 * "Restricted — set on folder “raw”" or "Internal — inherited from project “Liver atlas”":
 * the effective level and where it comes from.
 */
export function describeEffectiveLevel(access: AccessInfo): string {
  const { source } = access
  const word = levelWord(access.effective_access_level)
  if (!source) return word
  const own = source.type === access.object_type && source.id === access.object
  return `${word} — ${own ? 'set on' : 'inherited from'} ${source.type} “${source.name}”`
}
