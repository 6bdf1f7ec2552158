import { describe, expect, it } from 'vitest'
import type { Member } from '@/api/types'
import { mockFetch, page } from '@/test/http'
import { accessInfo, grant } from '@/test/fixtures'
import { useSharing } from './useSharing'

describe('useSharing', () => {
  it('loads access and grants of a folder, without members', async () => {
    const { calls } = mockFetch({
      'GET /api/folders/10/access/': { body: accessInfo() },
      'GET /api/grants/': { body: page([grant()]) },
    })
    const sharing = useSharing()
    await sharing.load({ type: 'folder', id: 10 })
    expect(sharing.access.value?.effective_access_level).toBe('restricted')
    expect(sharing.grants.value.map((g) => g.subject)).toEqual(['bob'])
    expect(sharing.members.value).toEqual([])
    expect(calls.some((c) => c.url.includes('/members/'))).toBe(false)
  })

  it('loads members of a project and changes them, reloading the access explanation', async () => {
    let members: Member[] = [{ id: null, kind: 'user', name: 'alice', role: 'owner' }]
    const { calls } = mockFetch({
      'GET /api/projects/1/access/': { body: accessInfo({ object_type: 'project', object: 1 }) },
      'GET /api/grants/': { body: page([]) },
      'GET /api/projects/1/members/': () => ({ body: members }),
      'POST /api/projects/1/members/': (call) => {
        members = [...members, { id: 7, ...(call.body as Omit<Member, 'id'>) }]
        return { status: 201, body: members.at(-1) }
      },
      'DELETE /api/projects/1/members/': () => {
        members = members.slice(0, 1)
        return { status: 204 }
      },
    })
    const sharing = useSharing()
    await sharing.load({ type: 'project', id: 1 })
    expect(sharing.members.value.map((m) => m.name)).toEqual(['alice'])

    await sharing.saveMember('group', 'wetlab', 'editor')
    expect(sharing.members.value.map((m) => [m.kind, m.name, m.role])).toEqual([
      ['user', 'alice', 'owner'],
      ['group', 'wetlab', 'editor'],
    ])
    await sharing.dropMember(sharing.members.value[1])
    expect(sharing.members.value).toHaveLength(1)
    expect(calls.filter((c) => c.url === '/api/projects/1/access/')).toHaveLength(3)
    expect(calls.find((c) => c.method === 'DELETE')?.url).toBe(
      '/api/projects/1/members/?kind=group&name=wetlab',
    )
  })

  it('adds and removes grants on the current object', async () => {
    const { calls } = mockFetch({
      'GET /api/files/100/access/': { body: accessInfo({ object_type: 'file', object: 100 }) },
      'GET /api/grants/': { body: page([]) },
      'POST /api/grants/': (call) => ({ status: 201, body: grant(call.body as object) }),
      'DELETE /api/grants/5/': { status: 204 },
      'PATCH /api/files/100/': { body: {} },
    })
    const sharing = useSharing()
    await sharing.load({ type: 'file', id: 100 })
    const added = await sharing.addGrant('user', 'bob', 'edit')
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      subject_type: 'user',
      subject: 'bob',
      object_type: 'file',
      object: 100,
      permission: 'edit',
    })
    expect(sharing.grants.value).toHaveLength(1)
    await sharing.removeGrant(added)
    expect(sharing.grants.value).toHaveLength(0)
    await sharing.saveLevel('inherit')
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ access_level: 'inherit' })
  })
})
