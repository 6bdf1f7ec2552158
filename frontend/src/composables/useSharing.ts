import { ref, shallowRef } from 'vue'
import { getAccess, setAccessLevel } from '@/api/access'
import { createGrant, deleteGrant, listGrants } from '@/api/grants'
import { addMember, listMembers, removeMember } from '@/api/members'
import type {
  AccessInfo,
  FolderAccessLevel,
  Grant,
  Member,
  Permission,
  ProjectRole,
  ShareObjectType,
  SubjectType,
} from '@/api/types'

export interface ShareTarget {
  type: ShareObjectType
  id: number
}

/**
 * The sharing state of one object (project, folder or file): its access explanation, the
 * grants set on it and, for projects, the members. Every change reloads the access
 * explanation, since levels, members and grants all change who can see the object.
 * Actions throw ApiErrors; callers wrap them in `useAsync` to show the error where it belongs.
 */
export function useSharing() {
  const target = shallowRef<ShareTarget | null>(null)
  const access = ref<AccessInfo | null>(null)
  const grants = ref<Grant[]>([])
  const members = ref<Member[]>([])
  // An older, slower load must not overwrite the state of a newer target.
  let loadSeq = 0

  function current(): ShareTarget {
    if (!target.value) throw new Error('no sharing target')
    return target.value
  }

  async function load(next: ShareTarget): Promise<void> {
    const seq = ++loadSeq
    target.value = next
    access.value = null
    grants.value = []
    members.value = []
    const [a, g, m] = await Promise.all([
      getAccess(next.type, next.id),
      listGrants(next.type, next.id),
      next.type === 'project' ? listMembers(next.id) : Promise.resolve([]),
    ])
    if (seq !== loadSeq) return
    access.value = a
    grants.value = g.results
    members.value = m
  }

  async function reloadAccess(): Promise<void> {
    const t = current()
    const seq = loadSeq
    const a = await getAccess(t.type, t.id)
    if (seq === loadSeq) access.value = a
  }

  async function saveLevel(level: FolderAccessLevel): Promise<void> {
    const t = current()
    await setAccessLevel(t.type, t.id, level)
    await reloadAccess()
  }

  async function addGrant(
    subjectType: SubjectType,
    subject: string,
    permission: Permission,
  ): Promise<Grant> {
    const t = current()
    const grant = await createGrant({
      subject_type: subjectType,
      subject,
      object_type: t.type,
      object: t.id,
      permission,
    })
    grants.value = [...grants.value, grant]
    await reloadAccess()
    return grant
  }

  async function removeGrant(grant: Grant): Promise<void> {
    await deleteGrant(grant.id)
    grants.value = grants.value.filter((g) => g.id !== grant.id)
    await reloadAccess()
  }

  async function reloadMembers(): Promise<void> {
    const t = current()
    const seq = loadSeq
    const list = await listMembers(t.id)
    if (seq === loadSeq) members.value = list
  }

  /** Adds a member, or (same kind and name) changes an existing member's role. */
  async function saveMember(kind: SubjectType, name: string, role: ProjectRole): Promise<Member> {
    const t = current()
    if (t.type !== 'project') throw new Error('only projects have members')
    const member = await addMember(t.id, { kind, name, role })
    await Promise.all([reloadMembers(), reloadAccess()])
    return member
  }

  async function dropMember(member: Member): Promise<void> {
    const t = current()
    await removeMember(t.id, member.kind, member.name)
    members.value = members.value.filter((m) => !(m.kind === member.kind && m.name === member.name))
    await reloadAccess()
  }

  return {
    target,
    access,
    grants,
    members,
    load,
    reloadAccess,
    saveLevel,
    addGrant,
    removeGrant,
    saveMember,
    dropMember,
  }
}
