import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { controlByLabel } from '@/test/dom'
import { mockFetch, page, type Call } from '@/test/http'
import { accessInfo, grant } from '@/test/fixtures'
import ShareDialog from './ShareDialog.vue'

vi.mock('element-plus', async (importOriginal) => {
  const actual = await importOriginal<typeof import('element-plus')>()
  return { ...actual, ElMessage: { success: vi.fn(), error: vi.fn() } }
})

async function mountDialog(props: Record<string, unknown> = {}) {
  const wrapper = mount(ShareDialog, {
    props: { modelValue: true, objectType: 'folder', objectId: 10, objectName: 'raw', ...props },
    global: { plugins: [ElementPlus] },
    attachTo: document.body,
  })
  await flushPromises()
  return wrapper
}

function button(name: string): HTMLButtonElement {
  const found = Array.from(document.querySelectorAll('button')).find(
    (b) => b.textContent?.trim() === name || b.getAttribute('aria-label') === name,
  )
  if (!found) throw new Error(`no button "${name}"`)
  return found
}

/** Opens the select labelled `label` and clicks the option `option`, as a user would. */
async function choose(label: string, option: string): Promise<void> {
  const select = controlByLabel(label).closest('.el-select')!
  ;(select.querySelector('.el-select__wrapper') as HTMLElement).click()
  await flushPromises()
  const item = Array.from(document.querySelectorAll('.el-select-dropdown__item')).find(
    (li) => li.textContent?.trim() === option && (li as HTMLElement).offsetParent !== undefined,
  ) as HTMLElement | undefined
  if (!item) throw new Error(`no option "${option}"`)
  item.click()
  await flushPromises()
}

function folderRoutes(extra: Record<string, unknown> = {}) {
  return {
    'GET /api/folders/10/access/': { body: accessInfo() },
    'GET /api/grants/': { body: page([grant()]) },
    'GET /api/users/': { body: [] },
    ...extra,
  }
}

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('ShareDialog', () => {
  it('shows the effective level with its source, the grants and who can see it', async () => {
    mockFetch(folderRoutes())
    const wrapper = await mountDialog()
    const text = document.body.textContent ?? ''
    expect(text).toContain('Restricted — set on folder “raw”')
    expect(text).toContain('bob — view')
    expect(button('Remove access for bob')).toBeTruthy()
    const rules = Array.from(document.querySelectorAll('ul[aria-label="Who can see this"] li'))
    expect(rules.map((li) => li.textContent?.trim())).toEqual([
      'alice owns the project “Liver atlas”',
      'bob can view (granted on folder “raw”)',
    ])
    // folders have no members section; the level select starts at the folder's own level
    expect(text).not.toContain('Members')
    for (const label of ['Access level', 'Subject type', 'User or group name', 'Permission']) {
      expect(controlByLabel(label).tagName, label).toBe('INPUT')
    }
    wrapper.unmount()
  })

  it('Save PATCHes only access_level, then reloads the explanation', async () => {
    const { calls } = mockFetch(
      folderRoutes({ 'PATCH /api/folders/10/': { body: { id: 10, access_level: 'inherit' } } }),
    )
    const wrapper = await mountDialog()
    await choose('Access level', 'Inherit from parent')
    button('Save').click()
    await flushPromises()
    const patch = calls.filter((c) => c.method === 'PATCH')
    expect(patch).toHaveLength(1)
    expect(patch[0].url).toBe('/api/folders/10/')
    expect(patch[0].body).toEqual({ access_level: 'inherit' })
    expect(calls.filter((c) => c.url === '/api/folders/10/access/')).toHaveLength(2)
    expect(wrapper.emitted('changed')).toHaveLength(1)
    wrapper.unmount()
  })

  it('Add access posts the typed name (no suggestion picked) with type and permission', async () => {
    const { calls } = mockFetch(
      folderRoutes({
        'POST /api/grants/': (call: Call) => ({
          status: 201,
          body: grant({ id: 6, ...(call.body as object) }),
        }),
      }),
    )
    const wrapper = await mountDialog()
    await choose('Subject type', 'Group')
    await choose('Permission', 'Can edit')
    const name = controlByLabel('User or group name')
    name.value = 'wetlab'
    name.dispatchEvent(new Event('input'))
    await flushPromises()
    button('Add access').click()
    await flushPromises()
    const post = calls.find((c) => c.method === 'POST')!
    expect(post.url).toBe('/api/grants/')
    expect(post.body).toEqual({
      subject_type: 'group',
      subject: 'wetlab',
      object_type: 'folder',
      object: 10,
      permission: 'edit',
    })
    expect(document.body.textContent).toContain('wetlab — edit')
    expect(button('Remove access for wetlab')).toBeTruthy()
    wrapper.unmount()
  })

  it('shows a missing user beside the name and a duplicate grant in words', async () => {
    let answer = {
      status: 400,
      body: { detail: 'Invalid input.', code: 'invalid', errors: { subject: ['No user “bobb”.'] } },
    }
    mockFetch(folderRoutes({ 'POST /api/grants/': () => answer }))
    const wrapper = await mountDialog()
    const name = controlByLabel('User or group name')
    name.value = 'bobb'
    name.dispatchEvent(new Event('input'))
    await flushPromises()
    button('Add access').click()
    await flushPromises()
    const item = name.closest('.el-form-item')!
    await vi.waitFor(() =>
      expect(item.querySelector('[role="alert"]')?.textContent).toContain('No user “bobb”.'),
    )

    answer = { status: 409, body: { detail: '', code: 'grant_exists' } as never }
    name.value = 'bob'
    name.dispatchEvent(new Event('input'))
    await flushPromises()
    button('Add access').click()
    await flushPromises()
    expect(document.body.textContent).toContain('bob already has access here')
    wrapper.unmount()
  })

  it('lists project members and adds one', async () => {
    const { calls } = mockFetch({
      'GET /api/projects/1/access/': {
        body: accessInfo({ object_type: 'project', object: 1, access_level: 'internal' }),
      },
      'GET /api/grants/': { body: page([]) },
      'GET /api/projects/1/members/': {
        body: [
          { id: null, kind: 'user', name: 'alice', role: 'owner' },
          { id: 3, kind: 'group', name: 'wetlab', role: 'viewer' },
        ],
      },
      'POST /api/projects/1/members/': (call) => ({
        status: 201,
        body: { id: 4, ...(call.body as object) },
      }),
      'DELETE /api/projects/1/members/': { status: 204 },
    })
    const wrapper = await mountDialog({
      objectType: 'project',
      objectId: 1,
      objectName: 'Liver atlas',
    })
    expect(document.body.textContent).toContain('Members')
    // the owner cannot be removed; others can
    expect(() => button('Remove alice')).toThrow()
    expect(button('Remove wetlab')).toBeTruthy()
    // projects have no "inherit" level
    expect(controlByLabel('Access level').closest('.el-select')).not.toBeNull()

    const name = controlByLabel('Member name')
    name.value = 'bob'
    name.dispatchEvent(new Event('input'))
    await flushPromises()
    await choose('Role', 'Editor')
    button('Add member').click()
    await flushPromises()
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      kind: 'user',
      name: 'bob',
      role: 'editor',
    })

    button('Remove wetlab').click()
    await flushPromises()
    expect(calls.find((c) => c.method === 'DELETE')?.url).toBe(
      '/api/projects/1/members/?kind=group&name=wetlab',
    )
    wrapper.unmount()
  })

  it('says in words when the object cannot be seen', async () => {
    mockFetch({ 'GET /api/grants/': { body: page([]) } })
    const wrapper = await mountDialog()
    expect(document.body.textContent).toContain("You can't see this any more — ask its owner.")
    wrapper.unmount()
  })
})
