import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import { mockFetch } from '@/test/http'
import { user } from '@/test/fixtures'
import { installGuards, routes } from '@/router'
import LoginView from './LoginView.vue'

function setup() {
  const pinia = createPinia()
  setActivePinia(pinia)
  const router = createRouter({ history: createMemoryHistory(), routes })
  installGuards(router)
  return { pinia, router }
}

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('LoginView', () => {
  it('labels its inputs and shows the API reason on failure', async () => {
    mockFetch({
      'GET /api/auth/me/': { status: 401, body: { detail: 'Not signed in.' } },
      'POST /api/auth/login/': {
        status: 400,
        body: { detail: 'Invalid username or password.', code: 'invalid_credentials' },
      },
    })
    const { pinia, router } = setup()
    await router.push('/login')
    const wrapper = mount(LoginView, {
      global: { plugins: [pinia, router, ElementPlus] },
      attachTo: document.body,
    })
    await flushPromises()
    const labels = wrapper.findAll('label').map((l) => [l.text(), l.attributes('for')])
    expect(labels).toEqual([
      ['Username', 'login-username'],
      ['Password', 'login-password'],
    ])
    expect(document.getElementById('login-username')?.tagName).toBe('INPUT')
    await wrapper.find('#login-username').setValue('alice')
    await wrapper.find('#login-password').setValue('wrong')
    expect(wrapper.find('button[type="submit"]').text()).toBe('Sign in')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(wrapper.find('[role="alert"]').text()).toContain('Invalid username or password.')
    wrapper.unmount()
  })

  it('goes to ?next after signing in', async () => {
    let signedIn = false
    mockFetch({
      'GET /api/auth/me/': () =>
        signedIn ? { body: user } : { status: 401, body: { detail: 'Not signed in.' } },
      'POST /api/auth/login/': () => {
        signedIn = true
        return { body: user }
      },
      'GET /api/metadata/fields/': { body: { fields: [], access_levels: [] } },
      'GET /api/trash/': { body: { count: 0, next: null, previous: null, results: [] } },
    })
    const { pinia, router } = setup()
    await router.push('/trash')
    expect(router.currentRoute.value.fullPath).toBe('/login?next=/trash')
    const wrapper = mount(LoginView, {
      global: { plugins: [pinia, router, ElementPlus] },
      attachTo: document.body,
    })
    await flushPromises()
    await wrapper.find('#login-username').setValue('alice')
    await wrapper.find('#login-password').setValue('secret')
    await wrapper.find('form').trigger('submit')
    // the lazily loaded view takes a moment to import
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/trash'))
    wrapper.unmount()
  })
})
