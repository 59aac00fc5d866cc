/** HTML helpers and the portal chrome (left menu, header) of the host page. */
import type { Portal } from '../portal.js';
import type { AppRec, UserRec } from '../model.js';

export function esc(s: unknown): string {
  return String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON safe to embed inside a <script> element. */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function userName(u: UserRec | undefined): string {
  return u ? `${u.name} ${u.lastName}`.trim() : '—';
}

/** Apps shown on the portal (not uninstalled). */
export function visibleApps(portal: Portal): AppRec[] {
  return [...portal.apps.values()].filter((a) => !(a as AppRec & { uninstalled?: boolean }).uninstalled);
}

export function appTitle(app: AppRec): string {
  return app.code && app.code !== app.clientId ? app.code : app.clientId;
}

export interface Chrome {
  portal: Portal;
  user: UserRec;
  /** Query suffix that keeps the acting user in links, e.g. "?user=2" or "". */
  uq: string;
  title: string;
  active?: 'home' | 'contacts' | 'companies' | 'deals' | `app:${string}`;
  /** Render without the portal chrome (slider content, IFRAME=Y). */
  bare?: boolean;
  /** Data for the host script (window.__hostConfig). */
  config?: Record<string, unknown>;
}

/** Appends the user query to a path (`link('/crm/', '?user=2')`). */
export function link(path: string, uq: string, extra = ''): string {
  const q = [uq.replace(/^\?/, ''), extra].filter(Boolean).join('&');
  return q ? `${path}?${q}` : path;
}

export function page(c: Chrome, body: string): string {
  const { portal, user, uq } = c;
  const cfg = { ...(c.config ?? {}), user: user.id, uq, bare: !!c.bare };
  const head = `<!doctype html><html lang="${esc(portal.language)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(c.title)} — ${esc(portal.domain)}</title>
<link rel="stylesheet" href="/_host/assets/host.css">
<script>window.__hostConfig = ${jsonForScript(cfg)};</script>
<script src="/_host/assets/host.js" defer></script></head>`;
  if (c.bare) {
    return `${head}<body class="bare"><main class="content"><h1 id="pagetitle">${esc(c.title)}</h1>${body}</main></body></html>`;
  }
  const apps = visibleApps(portal);
  const item = (href: string, label: string, key: string, icon: string): string =>
    `<a class="menu-item${c.active === key ? ' active' : ''}" href="${esc(href)}"><span class="ico">${icon}</span>${esc(label)}</a>`;
  const appItems = apps.map((a) => item(link(`/app/${encodeURIComponent(a.clientId)}`, uq), appTitle(a), `app:${a.clientId}`, '▣')).join('');
  const users = [...portal.users.values()].filter((u) => u.active);
  const switcher = users.map((u) => `<option value="${u.id}"${u.id === user.id ? ' selected' : ''}>${esc(userName(u))}${u.isAdmin ? ' (admin)' : ''}</option>`).join('');
  return `${head}<body>
<aside class="leftmenu">
  <div class="logo">Bitrix<b>24</b><small>emulator</small></div>
  ${item(link('/', uq), 'Home', 'home', '⌂')}
  <div class="menu-group">CRM</div>
  ${item(link('/crm/contact/list/', uq), 'Contacts', 'contacts', '☺')}
  ${item(link('/crm/company/list/', uq), 'Companies', 'companies', '▦')}
  ${item(link('/crm/deal/list/', uq), 'Deals', 'deals', '◆')}
  <div class="menu-group">Applications</div>
  ${appItems || '<div class="menu-empty">No applications</div>'}
</aside>
<div class="workarea">
<header class="topbar">
  <div class="portal-name">${esc(portal.domain)}</div>
  <form class="whoami" method="get" onsubmit="return false">
    <label>Acting as <select id="user-switch" aria-label="Current user">${switcher}</select></label>
    <span class="me" id="current-user" data-user-id="${user.id}" data-admin="${user.isAdmin ? 'Y' : 'N'}">${esc(userName(user))}${user.isAdmin ? ' <em>admin</em>' : ''}</span>
  </form>
</header>
<main class="content"><h1 id="pagetitle">${esc(c.title)}</h1>${body}</main>
</div>
<div id="slider-stack"></div>
</body></html>`;
}
