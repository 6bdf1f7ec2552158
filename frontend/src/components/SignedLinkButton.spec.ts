import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus, { ElSelect } from 'element-plus'
import { mockFetch } from '@/test/http'
import { formatDateTime } from '@/utils/format'
import SignedLinkButton from './SignedLinkButton.vue'

const LINK = {
  url: 'http://localhost:3000/api/files/100/download/?sig=abc',
  expires_at: '2026-01-02T10:00:00Z',
}

function mountIt() {
  return mount(SignedLinkButton, {
    props: { fileId: 100 },
    global: { plugins: [ElementPlus] },
    attachTo: document.body,
  })
}

function copyButton(wrapper: ReturnType<typeof mountIt>) {
  return wrapper.findAll('button').find((b) => b.text() === 'Copy signed link')!
}

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('SignedLinkButton', () => {
  it('labels the expiry choice', async () => {
    const wrapper = mountIt()
    await flushPromises()
    expect(wrapper.find('label[for="signed-link-expiry"]').text()).toBe('Link expires in')
    expect(wrapper.find('#signed-link-expiry').exists()).toBe(true)
    wrapper.unmount()
  })

  it('asks for a link valid for the chosen time and copies it', async () => {
    const { calls } = mockFetch({ 'POST /api/files/100/download-url/': { body: LINK } })
    const writeText = vi.fn(async () => undefined)
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } })
    const wrapper = mountIt()
    await copyButton(wrapper).trigger('click')
    await flushPromises()
    expect(calls).toHaveLength(1)
    expect(calls[0].body).toEqual({ expires_in: 86400 })
    expect(writeText).toHaveBeenCalledWith(LINK.url)
    expect(wrapper.find('[role="status"]').text()).toBe(
      `Link copied — valid until ${formatDateTime(LINK.expires_at)}`,
    )

    wrapper.findComponent(ElSelect).vm.$emit('update:modelValue', 3600)
    await flushPromises()
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(calls.at(-1)!.body).toEqual({ expires_in: 3600 })
    wrapper.unmount()
  })

  it('shows the link in a read-only field when the clipboard is not available', async () => {
    mockFetch({ 'POST /api/files/100/download-url/': { body: LINK } })
    vi.stubGlobal('navigator', {
      ...navigator,
      clipboard: { writeText: vi.fn(async () => Promise.reject(new Error('denied'))) },
    })
    const wrapper = mountIt()
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(wrapper.find('label[for="signed-link-url"]').text()).toBe('Signed link')
    const input = wrapper.find('#signed-link-url').element as HTMLInputElement
    expect(input.value).toBe(LINK.url)
    expect(input.readOnly).toBe(true)
    expect(wrapper.text()).toContain('Copy the link below — valid until')
    wrapper.unmount()
  })

  it('says in words why there is no link', async () => {
    mockFetch({
      'POST /api/files/100/download-url/': {
        status: 403,
        body: { detail: 'You may not share this file.', code: 'permission_denied' },
      },
    })
    const wrapper = mountIt()
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(wrapper.find('[role="alert"]').text()).toBe('You may not share this file.')
    wrapper.unmount()
  })
})
