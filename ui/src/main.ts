import { createApp } from 'vue';
import { createRouter, createWebHashHistory } from 'vue-router';
import b24UiPlugin from '@bitrix24/b24ui-nuxt/vue-plugin';
import './style.css';
import App from './App.vue';
import { setLang } from './i18n';
import { state } from './state';

const boot = window.__SEG_BOOT;
setLang(boot?.lang ?? new URLSearchParams(location.search).get('LANG') ?? 'en');
if (boot) {
  state.isAdmin = boot.isAdmin;
  state.userId = boot.userId;
  state.placement = boot.placement;
  state.placementOptions = boot.placementOptions ?? {};
}

const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    {
      path: '/',
      redirect: () => (state.placement === 'CRM_CONTACT_DETAIL_TAB' ? `/contact/${Number(state.placementOptions.ID) || 0}`
        : state.placement === 'CRM_COMPANY_DETAIL_TAB' ? `/company/${Number(state.placementOptions.ID) || 0}`
          : Number(state.placementOptions.contactId) > 0 ? `/contact/${Number(state.placementOptions.contactId)}`
            : Number(state.placementOptions.companyId) > 0 ? `/company/${Number(state.placementOptions.companyId)}` : '/segments'),
    },
    { path: '/segments', name: 'segments', component: () => import('./pages/SegmentsPage.vue') },
    { path: '/dashboard', name: 'dashboard', component: () => import('./pages/DashboardPage.vue') },
    { path: '/effectiveness', name: 'effectiveness', component: () => import('./pages/EffectivenessPage.vue') },
    { path: '/campaigns/:id?', name: 'campaigns', component: () => import('./pages/CampaignsPage.vue') },
    { path: '/contact/:id', name: 'contact', component: () => import('./pages/ContactTabPage.vue') },
    { path: '/company/:id', name: 'company', component: () => import('./pages/CompanyTabPage.vue') },
    { path: '/settings', name: 'settings', component: () => import('./pages/SettingsPage.vue') },
    { path: '/sync', name: 'sync', component: () => import('./pages/SyncPage.vue') },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
});

const app = createApp(App);
app.use(router);
app.use(b24UiPlugin);
app.mount('#app');
