import { createRouter, createWebHistory, type RouteRecordRaw, type Router } from 'vue-router'
import { useAuthStore } from '@/stores/auth'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without signing in. */
    public?: boolean
    /** Only for staff (and superusers); everyone else is told they need those rights. */
    staff?: boolean
    title?: string
  }
}

export const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/views/LoginView.vue'),
    meta: { public: true, title: 'Sign in' },
  },
  {
    path: '/',
    name: 'home',
    component: () => import('@/views/ProjectListView.vue'),
    meta: { title: 'Projects' },
  },
  {
    path: '/projects',
    name: 'projects',
    component: () => import('@/views/ProjectListView.vue'),
    meta: { title: 'Projects' },
  },
  {
    path: '/projects/:id(\\d+)',
    name: 'project',
    // Public projects, folders and files have pages anonymous visitors can open.
    meta: { public: true },
    component: () => import('@/views/WorkspaceView.vue'),
  },
  {
    path: '/projects/:id(\\d+)/folders/:fid(\\d+)',
    name: 'folder',
    // Public projects, folders and files have pages anonymous visitors can open.
    meta: { public: true },
    component: () => import('@/views/WorkspaceView.vue'),
  },
  {
    path: '/files/:id(\\d+)',
    name: 'file',
    // Public projects, folders and files have pages anonymous visitors can open.
    meta: { public: true },
    component: () => import('@/views/FileDetailView.vue'),
  },
  {
    path: '/trash',
    name: 'trash',
    component: () => import('@/views/TrashView.vue'),
    meta: { title: 'Trash' },
  },
  {
    path: '/search',
    name: 'search',
    component: () => import('@/views/SearchView.vue'),
    meta: { title: 'Search' },
  },
  {
    path: '/cellxgene-app',
    name: 'cellxgene',
    component: () => import('@/views/CellxgeneView.vue'),
    meta: { title: 'Cellxgene' },
  },
  {
    path: '/tasks',
    name: 'tasks',
    component: () => import('@/views/TaskListView.vue'),
    meta: { title: 'Analysis tasks' },
  },
  {
    path: '/audit',
    name: 'audit',
    component: () => import('@/views/AuditView.vue'),
    meta: { staff: true, title: 'Audit trail' },
  },
  {
    path: '/no-access',
    name: 'no-access',
    component: () => import('@/views/NoAccessView.vue'),
    meta: { title: 'No access' },
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: () => import('@/views/NotFoundView.vue'),
    meta: { title: 'Not found' },
  },
]

/** Only same-site paths are followed after sign-in (no open redirect via ?next=). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/'
}

export function installGuards(router: Router): void {
  router.beforeEach(async (to) => {
    const auth = useAuthStore()
    if (!auth.checked) await auth.fetchMe()
    if (!to.meta.public && !auth.isAuthenticated) {
      return { name: 'login', query: to.fullPath === '/' ? {} : { next: to.fullPath } }
    }
    if (to.meta.staff && !auth.isStaff) {
      return { name: 'no-access', query: { from: to.fullPath } }
    }
    if (to.name === 'login' && auth.isAuthenticated) return safeNext(to.query.next)
    return true
  })
  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} · BioFileManager` : 'BioFileManager'
  })
}

export function createAppRouter(): Router {
  const router = createRouter({ history: createWebHistory('/'), routes })
  installGuards(router)
  return router
}
