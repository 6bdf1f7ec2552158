import type { Action } from '@/api/types'

interface HasPermissions {
  my_permissions?: Action[] | null
}

const REASONS: Record<Action, string> = {
  view: "You can't see this",
  download: "You can't download this",
  upload: 'You can only view here — ask an owner for an editor role to add files',
  edit: 'You can only view this — ask an owner for an editor role to change it',
  delete: "Only the file's owner (as an editor) and the project's owners can delete this",
  manage: "Only the project's owners can change this",
}

/** Whether the API said the caller may do `action` on `obj`. */
export function may(obj: HasPermissions | null | undefined, action: Action): boolean {
  return Boolean(obj?.my_permissions?.includes(action))
}

/** '' when allowed, else a sentence saying why not (for a disabled control's tooltip). */
export function whyNot(obj: HasPermissions | null | undefined, action: Action): string {
  if (!obj) return 'Not loaded yet'
  if (obj.my_permissions === undefined) return 'Sign in to do this'
  return may(obj, action) ? '' : REASONS[action]
}

/** For a selection: '' when every item allows `action`, else the first reason with its name. */
export function whyNotAll<T extends HasPermissions & { name: string }>(
  items: T[],
  action: Action,
): string {
  if (!items.length) return 'Select files or folders first'
  const refused = items.find((item) => !may(item, action))
  return refused ? `${refused.name}: ${REASONS[action]}` : ''
}
