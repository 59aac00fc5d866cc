/** `GET /`: the portal home page (record counts, installed applications). */
import type { Router } from 'express';
import { actingUser, noUser, uqOf, type HostContext } from '../context.js';
import { appTitle, esc, link, page, visibleApps } from '../html.js';

export function mountHome(r: Router, h: HostContext): void {
  const { portal } = h;
  r.get('/', (req, res) => {
    const user = actingUser(portal, req);
    if (!user) return noUser(res);
    const uq = uqOf(user);
    const apps = visibleApps(portal);
    const rows = apps.map((a) => `<tr data-client-id="${esc(a.clientId)}">
      <td><a class="app-link" href="${esc(link(`/app/${encodeURIComponent(a.clientId)}`, uq))}">${esc(appTitle(a))}</a></td>
      <td><code>${esc(a.clientId)}</code></td><td>${esc(a.scopes.join(', '))}</td>
      <td class="app-status">${a.installed ? '<span class="ok">installed</span>' : '<span class="warn">installation not finished</span>'}</td></tr>`).join('');
    const stats = [
      ['Contacts', portal.contacts.size, '/crm/contact/list/'], ['Companies', portal.companies.size, null],
      ['Deals', portal.deals.size, '/crm/deal/list/'], ['Products', portal.products.size, null], ['Users', portal.users.size, null],
    ].map(([l, n, href]) => `<div class="stat">${href ? `<a href="${esc(link(String(href), uq))}">` : ''}<b>${Number(n).toLocaleString('en-US')}</b><span>${esc(l)}</span>${href ? '</a>' : ''}</div>`).join('');
    res.type('html').send(page({ portal, user, uq, title: 'Portal home', active: 'home' }, `
      <section class="stats">${stats}</section>
      <section class="card"><h2>Installed applications</h2>
      ${apps.length ? `<table class="grid" id="apps"><thead><tr><th>Application</th><th>client_id</th><th>Scopes</th><th>Status</th></tr></thead><tbody>${rows}</tbody></table>`
        : '<p class="muted" id="apps">No applications yet. Install one with <code>POST /_emulator/apps/install</code>.</p>'}
      </section>
      <section class="card muted small"><p>Member ID <code>${esc(portal.memberId)}</code> · language <code>${esc(portal.language)}</code> ·
      time zone <code>${esc(portal.timeZone)}</code> · portal time <code>${esc(new Date(portal.clock.now()).toISOString())}</code></p></section>`));
  });
}
