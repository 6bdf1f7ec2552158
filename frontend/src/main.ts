import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import './styles.css'

import App from './App.vue'
import { fetchCsrf } from './api/auth'
import { setUnauthorizedHandler } from './api/client'
import { createAppRouter } from './router'
import { useAuthStore } from './stores/auth'

async function boot(): Promise<void> {
  const app = createApp(App)
  const pinia = createPinia()
  app.use(pinia)
  const router = createAppRouter()
  app.use(router)
  app.use(ElementPlus)

  // The one place a 401 is handled: the session ended, so forget the user and ask them to
  // sign in again, coming back to where they were.
  setUnauthorizedHandler(() => {
    useAuthStore(pinia).clearSession()
    const current = router.currentRoute.value
    if (current.name !== 'login') {
      void router.push({ name: 'login', query: { next: current.fullPath } })
    }
  })

  // Django sets the CSRF cookie here; without it every POST would be refused.
  await fetchCsrf().catch(() => undefined)
  app.mount('#app')
}

void boot()
