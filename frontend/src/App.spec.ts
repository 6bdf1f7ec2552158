import { beforeEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import { mockFetch, page } from '@/test/http'
import { user } from '@/test/fixtures'
import { useAuthStore } from '@/stores/auth'
import App from './App.vue'

async function mountApp() {
  const pinia = createPinia()
  setActivePinia(pinia)
  const auth = useAuthStore()
  auth.user = user
  auth.checked = true
  const router = createRouter({ history: createMemoryHistory(), routes })
  await router.push('/tasks')
  const wrapper = mount(App, {
    global: { plugins: [pinia, router, ElementPlus], stubs: { RouterView: true } },
  })
  await flushPromises()
  return wrapper
}

beforeEach(() => {
  localStorage.clear()
  mockFetch({ 'GET /api/projects/': { body: page([]) } })
})

describe('App', () => {
  it('folds the left rail away and remembers it', async () => {
    const wrapper = await mountApp()
    const rail = () => wrapper.find('aside.app-rail')
    const toggle = () => rail().find('button.rail-toggle')
    expect(toggle().attributes('aria-label')).toBe('Collapse sidebar')
    expect(toggle().attributes('aria-expanded')).toBe('true')
    await toggle().trigger('click')
    expect(rail().classes()).toContain('collapsed')
    expect(toggle().attributes('aria-label')).toBe('Expand sidebar')
    expect(toggle().attributes('aria-expanded')).toBe('false')
    expect(localStorage.getItem('bfm.railCollapsed')).toBe('1')
    wrapper.unmount()

    const again = await mountApp()
    expect(again.find('aside.app-rail').classes()).toContain('collapsed')
    await again.find('button.rail-toggle').trigger('click')
    expect(localStorage.getItem('bfm.railCollapsed')).toBe('0')
    again.unmount()
  })
})
