import { createRouter, createWebHistory } from 'vue-router'
import { ready, session } from './lib/session'

// Each view is its own chunk: ECharts comes only with the views that draw.
export const views = ['overview', 'touchpoints', 'verbatims', 'alerts', 'taxonomy', 'review', 'admin'] as const

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', redirect: (to) => ({ path: '/overview', query: to.query }) },
    { path: '/signin', name: 'signin', component: () => import('./views/SignIn.vue'), meta: { public: true } },
    { path: '/overview', name: 'overview', component: () => import('./views/Overview.vue') },
    { path: '/touchpoints', name: 'touchpoints', component: () => import('./views/Touchpoints.vue') },
    { path: '/verbatims', name: 'verbatims', component: () => import('./views/Verbatims.vue') },
    { path: '/alerts', name: 'alerts', component: () => import('./views/Alerts.vue') },
    { path: '/taxonomy', name: 'taxonomy', component: () => import('./views/Taxonomy.vue') },
    { path: '/review', name: 'review', component: () => import('./views/Review.vue') },
    { path: '/admin', name: 'admin', component: () => import('./views/Admin.vue') },
    { path: '/:rest(.*)*', name: 'notfound', component: () => import('./views/NotFound.vue'), meta: { public: true } },
  ],
  scrollBehavior: (to, from) => (to.path === from.path ? false : { top: 0 }),
})

router.beforeEach(async (to) => {
  await ready
  if (!to.meta.public && !session.me) {
    return { name: 'signin', query: { redirect: to.fullPath } }
  }
  if (to.name === 'signin' && session.me) return { path: '/overview' }
  return true
})

// A title per view, so a tab and the history say where one is.
router.afterEach((to) => {
  document.title = to.name && typeof to.name === 'string' && to.name !== 'notfound' ? `${titles[to.name] ?? ''} · 洞听` : '洞听 Dongting'
})

const titles: Record<string, string> = {
  signin: '登录', overview: '概览', touchpoints: '触点', verbatims: '原声', alerts: '预警', taxonomy: '分类体系', review: '标注', admin: '管理',
}
