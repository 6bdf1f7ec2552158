import { describe, expect, it } from 'vitest'
import { mockFetch, page, setCookie } from '@/test/http'
import { accessInfo, auditEvent, grant } from '@/test/fixtures'
import { getAccess, searchGroups, searchUsers, setAccessLevel } from './access'
import { listAuditEvents, verifyAuditChain } from './audit'
import { createGrant, deleteGrant, listGrants, updateGrant } from './grants'
import { addMember, listMembers, removeMember } from './members'

describe('access api', () => {
  it('explains access of projects, folders and files, optionally for a user', async () => {
    const { calls } = mockFetch({
      'GET /api/projects/1/access/': { body: accessInfo() },
      'GET /api/folders/10/access/': { body: accessInfo() },
      'GET /api/files/100/access/': { body: accessInfo() },
    })
    await getAccess('project', 1)
    await getAccess('folder', 10)
    await getAccess('file', 100, 'bob smith')
    expect(calls.map((c) => c.url)).toEqual([
      '/api/projects/1/access/',
      '/api/folders/10/access/',
      '/api/files/100/access/?user=bob+smith',
    ])
  })

  it('PATCHes only access_level, with the CSRF header', async () => {
    setCookie('csrftoken=tok')
    const { calls } = mockFetch({
      'PATCH /api/projects/1/': { body: {} },
      'PATCH /api/folders/10/': { body: {} },
      'PATCH /api/files/100/': { body: {} },
    })
    await setAccessLevel('project', 1, 'restricted')
    await setAccessLevel('folder', 10, 'inherit')
    await setAccessLevel('file', 100, 'public')
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['PATCH', '/api/projects/1/', { access_level: 'restricted' }],
      ['PATCH', '/api/folders/10/', { access_level: 'inherit' }],
      ['PATCH', '/api/files/100/', { access_level: 'public' }],
    ])
    expect(calls[0].headers['x-csrftoken']).toBe('tok')
  })

  it('searches users and groups', async () => {
    const { calls } = mockFetch({
      'GET /api/users/': { body: [{ id: 2, username: 'bob', first_name: '', last_name: '' }] },
      'GET /api/groups/': { body: [{ id: 3, name: 'wetlab' }] },
    })
    expect((await searchUsers('bo'))[0].username).toBe('bob')
    expect((await searchGroups('wet'))[0].name).toBe('wetlab')
    expect(calls.map((c) => c.url)).toEqual(['/api/users/?q=bo', '/api/groups/?q=wet'])
  })
})

describe('grants api', () => {
  it('lists, creates, updates and deletes grants', async () => {
    const { calls } = mockFetch({
      'GET /api/grants/': { body: page([grant()]) },
      'POST /api/grants/': { status: 201, body: grant() },
      'PATCH /api/grants/5/': { body: grant({ permission: 'edit' }) },
      'DELETE /api/grants/5/': { status: 204 },
    })
    expect((await listGrants('folder', 10)).results).toHaveLength(1)
    await createGrant({
      subject_type: 'group',
      subject: 'wetlab',
      object_type: 'folder',
      object: 10,
      permission: 'edit',
    })
    await updateGrant(5, 'edit')
    await deleteGrant(5)
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', '/api/grants/?object_type=folder&object=10&page_size=200', undefined],
      [
        'POST',
        '/api/grants/',
        {
          subject_type: 'group',
          subject: 'wetlab',
          object_type: 'folder',
          object: 10,
          permission: 'edit',
        },
      ],
      ['PATCH', '/api/grants/5/', { permission: 'edit' }],
      ['DELETE', '/api/grants/5/', undefined],
    ])
  })
})

describe('members api', () => {
  it('lists, adds and removes project members', async () => {
    const { calls } = mockFetch({
      'GET /api/projects/1/members/': { body: [] },
      'POST /api/projects/1/members/': {
        status: 201,
        body: { id: 4, kind: 'user', name: 'bob', role: 'editor' },
      },
      'DELETE /api/projects/1/members/': { status: 204 },
    })
    await listMembers(1)
    await addMember(1, { kind: 'user', name: 'bob', role: 'editor' })
    await removeMember(1, 'group', 'wet lab')
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', '/api/projects/1/members/', undefined],
      ['POST', '/api/projects/1/members/', { kind: 'user', name: 'bob', role: 'editor' }],
      ['DELETE', '/api/projects/1/members/?kind=group&name=wet+lab', undefined],
    ])
  })
})

describe('audit api', () => {
  it('sends only the filters that are set, with the page', async () => {
    const { calls } = mockFetch({
      'GET /api/audit/': { body: page([auditEvent()]) },
      'GET /api/audit/verify/': { body: { ok: true, checked: 3, first_broken: null } },
    })
    await listAuditEvents({ actor: 'alice', action: 'file.', object_type: '', object_id: '100' }, 2)
    expect(calls[0].url).toBe(
      '/api/audit/?actor=alice&action=file.&object_id=100&page=2&page_size=50',
    )
    expect(await verifyAuditChain()).toEqual({ ok: true, checked: 3, first_broken: null })
    expect(calls[1].url).toBe('/api/audit/verify/')
  })
})
