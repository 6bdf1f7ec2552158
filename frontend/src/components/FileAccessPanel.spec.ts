import { beforeEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { mockFetch } from '@/test/http'
import { accessInfo } from '@/test/fixtures'
import FileAccessPanel from './FileAccessPanel.vue'

const fileAccess = accessInfo({
  object_type: 'file',
  object: 100,
  name: 'sample1.fastq.gz',
  access_level: 'inherit',
  chain: [
    { type: 'file', id: 100, name: 'sample1.fastq.gz', access_level: 'inherit' },
    { type: 'folder', id: 10, name: 'raw', access_level: 'restricted' },
    { type: 'project', id: 1, name: 'Liver atlas', access_level: 'internal' },
  ],
})

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('FileAccessPanel', () => {
  it('shows the level, the chain and the rules, and checks a user', async () => {
    const { calls } = mockFetch({
      'GET /api/files/100/access/': (call) => ({
        body: call.url.includes('user=')
          ? {
              ...fileAccess,
              check: {
                user: 'carol',
                visible: false,
                rank: 'none',
                reasons: ['The folder “raw” is restricted and carol has no grant.'],
              },
            }
          : fileAccess,
      }),
    })
    const wrapper = mount(FileAccessPanel, {
      props: { fileId: 100 },
      global: { plugins: [ElementPlus] },
      attachTo: document.body,
    })
    await flushPromises()
    expect(wrapper.text()).toContain('Restricted — inherited from folder “raw”')
    const chain = wrapper
      .findAll('ol.chain li')
      .map((li) => ['.node-type', '.node-name', '.level-badge'].map((c) => li.find(c).text()))
    expect(chain).toEqual([
      ['file', 'sample1.fastq.gz', 'inherit'],
      ['folder', 'raw', 'restricted'],
      ['project', 'Liver atlas', 'internal'],
    ])
    expect(wrapper.text()).toContain('bob can view (granted on folder “raw”)')

    const label = Array.from(document.querySelectorAll('label')).find(
      (l) => l.textContent?.trim() === 'Check user',
    )!
    expect(document.getElementById(label.getAttribute('for')!)).toBe(
      wrapper.find('#access-check-user').element,
    )
    await wrapper.find('#access-check-user').setValue('carol')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(calls.at(-1)?.url).toBe('/api/files/100/access/?user=carol')
    expect(wrapper.find('.check-result').text()).toContain("carol can't see this file")
    expect(wrapper.find('.check-result').text()).toContain('has no grant')
    wrapper.unmount()
  })
})
