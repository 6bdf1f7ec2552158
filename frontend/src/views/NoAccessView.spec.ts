import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import NoAccessView from './NoAccessView.vue'

async function mountAt(path: string) {
  const router = createRouter({ history: createMemoryHistory(), routes })
  await router.push(path)
  return mount(NoAccessView, { global: { plugins: [router, ElementPlus] } })
}

describe('NoAccessView', () => {
  it('names the page and the rights it needs', async () => {
    const wrapper = await mountAt('/no-access?from=%2Faudit%3Factor%3Dbob')
    expect(wrapper.text()).toContain('You need staff rights to see this')
    expect(wrapper.text()).toContain('The audit trail is open to the service')
    expect(wrapper.find('a').attributes('href')).toBe('/')
  })

  it('ignores a `from` that leads off the site', async () => {
    const wrapper = await mountAt('/no-access?from=%2F%2Fevil.example%2Faudit')
    expect(wrapper.text()).toContain('This page is open to the service')
  })
})
