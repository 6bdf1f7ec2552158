import { beforeEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { controlByLabel } from '@/test/dom'
import { mountPageAt } from '@/test/mount'
import { mockFetch, page } from '@/test/http'
import { auditEvent } from '@/test/fixtures'
import AuditView from './AuditView.vue'

function mountAt(path: string) {
  return mountPageAt(AuditView, path)
}

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('AuditView', () => {
  it('reads the filters from the URL and asks the API with them', async () => {
    const { calls } = mockFetch({
      'GET /api/audit/': {
        body: { ...page([auditEvent()]), count: 120, next: '/api/audit/?page=3' },
      },
      'GET /api/audit/verify/': { body: { ok: true, checked: 1204, first_broken: null } },
    })
    const { wrapper } = await mountAt(
      '/audit?actor=alice&action=file.&object_type=file&object_id=100&since=2026-01-01T00:00:00Z&page=2',
    )
    const list = calls.find((c) => c.url.startsWith('/api/audit/?'))!
    const params = new URL(list.url, 'http://x').searchParams
    expect(Object.fromEntries(params)).toEqual({
      actor: 'alice',
      action: 'file.',
      object_type: 'file',
      object_id: '100',
      since: '2026-01-01T00:00:00Z',
      page: '2',
      page_size: '50',
    })
    expect(controlByLabel('Actor').value).toBe('alice')
    expect(controlByLabel('Action').value).toBe('file.')
    expect(controlByLabel('Object type').value).toBe('file')
    expect(controlByLabel('Object id').value).toBe('100')
    expect(controlByLabel('From').value).toBe('2026-01-01')
    expect(controlByLabel('To').value).toBe('')
    const row = wrapper.find('table tbody tr')
    expect(row.text()).toContain('file.update')
    expect(row.text()).toContain('organism: — → Mus musculus')
    expect(row.text()).toContain('10.0.0.7')
    expect(wrapper.find('[data-testid="chain-status"]').text()).toBe(
      'Chain intact — 1,204 events checked',
    )
    wrapper.unmount()
  })

  it('puts applied filters into the URL', async () => {
    const { calls } = mockFetch({
      'GET /api/audit/': { body: page([]) },
      'GET /api/audit/verify/': { body: { ok: true, checked: 0, first_broken: null } },
    })
    const { wrapper, router } = await mountAt('/audit')
    await wrapper.find('#audit-actor').setValue('bob')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(router.currentRoute.value.query).toEqual({ actor: 'bob' })
    expect(calls.filter((c) => c.url.startsWith('/api/audit/?')).at(-1)?.url).toBe(
      '/api/audit/?actor=bob&page=1&page_size=50',
    )
    wrapper.unmount()
  })

  it('shows a broken chain in red with the first bad event', async () => {
    mockFetch({
      'GET /api/audit/': { body: page([]) },
      'GET /api/audit/verify/': { body: { ok: false, checked: 57, first_broken: 42 } },
    })
    const { wrapper } = await mountAt('/audit')
    const badge = wrapper.find('[data-testid="chain-status"]')
    expect(badge.text()).toBe('Chain broken at event #42')
    expect(badge.classes()).toContain('el-tag--danger')
    wrapper.unmount()
  })
})
