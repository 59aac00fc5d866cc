/**
 * The emulator's human face: a light Bitrix24-like portal (left menu, header) that opens apps
 * the way Bitrix24 does (reference §1.4, b24jssdk §4):
 *
 *  - a hidden form POSTs to `APP_URL?DOMAIN=&PROTOCOL=&LANG=&APP_SID=` with AUTH_ID, AUTH_EXPIRES,
 *    REFRESH_ID, SERVER_ENDPOINT, APPLICATION_TOKEN, APPLICATION_SCOPE, member_id, status, PLACEMENT,
 *    PLACEMENT_OPTIONS, targeting `<iframe name="DOMAIN|PROTOCOL|APP_SID">`;
 *  - the page answers the child's postMessage commands (assets/host.js) — getInitData, refreshAuth,
 *    setInstallFinish, resizeWindow, setTitle, openPath, openApplication, setAppOption, selectUser…
 *
 * Pages: `/` (installed apps), `/app/<clientId>`, `/crm/contact/list/`, `/crm/contact/details/<id>/`
 * (fields incl. UF_CRM_* and one tab per CRM_CONTACT_DETAIL_TAB placement), `/crm/deal/list/`,
 * `/crm/deal/details/<id>/`. The acting user is `?user=<id>` (default 1, the admin).
 * Host endpoints (JSON, same origin): `POST /_host/frame`, `/_host/refresh-auth`,
 * `/_host/install-finish`, `/_host/app-option`, `/_host/user-option`; assets under `/_host/assets/`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import express, { type Request, type Response } from 'express';
import type { AppRec, ContactRec, DealRec, PlacementBindingRec, UserFieldRec, UserRec } from '../model.js';
import type { Portal } from '../portal.js';
import { issueTokens } from '../tokens.js';
import { appTitle, esc, link, page, userName, visibleApps } from './html.js';

export interface HostRouterOptions {
  /** Extra options B's server passes (runtime, delivery); unused here. */
  [k: string]: unknown;
}

/** One rendered app frame: what the parent page answers for it. */
export interface FrameSession {
  appSid: string;
  clientId: string;
  userId: number;
  placement: string;
  placementOptions: Record<string, unknown>;
  install: boolean;
  createdAt: number;
}

/** What the browser needs to mount one app frame (POST form + iframe + getInitData answer). */
export interface FrameSpec {
  appSid: string;
  clientId: string;
  /** `<iframe name>`: DOMAIN|PROTOCOL|APP_SID. */
  name: string;
  /** Form action: the app URL with DOMAIN, PROTOCOL, LANG, APP_SID in the query. */
  action: string;
  /** Form body fields. */
  fields: Record<string, string>;
  /** Origin of the app URL (postMessage target). */
  appOrigin: string;
  /** The getInitData answer. */
  init: Record<string, unknown>;
  install: boolean;
}

const PLACEMENT_TABS = 'CRM_CONTACT_DETAIL_TAB';
const DEAL_TABS = 'CRM_DEAL_DETAIL_TAB';
const PAGE_SIZE = 50;

type AppWithFlag = AppRec & { uninstalled?: boolean };

function assetText(name: string): string {
  return readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
}

export function createHostRouter(portal: Portal, _opts: HostRouterOptions = {}): express.Router {
  const r = express.Router();
  const sessions = new Map<string, FrameSession>();
  const assets: Record<string, [string, string]> = {
    'host.js': [assetText('host.js'), 'text/javascript; charset=utf-8'],
    'host.css': [assetText('host.css'), 'text/css; charset=utf-8'],
  };

  r.get('/_host/assets/:name', (req, res) => {
    const a = assets[String(req.params.name)];
    if (!a) return res.status(404).end();
    res.type(a[1]).set('Cache-Control', 'no-cache').send(a[0]);
  });

  // ---- helpers --------------------------------------------------------------------------------
  const actingUser = (req: Request): UserRec | null => {
    const q = req.query.user;
    const id = typeof q === 'string' && /^\d+$/.test(q) ? Number(q) : 1;
    return portal.users.get(id) ?? null;
  };
  const uqOf = (u: UserRec): string => (u.id === 1 ? '' : `?user=${u.id}`);
  const hostOf = (req: Request): string => req.get('host') ?? portal.domain;
  const protoOf = (req: Request): 0 | 1 => (req.protocol === 'https' ? 1 : 0);
  const bare = (req: Request): boolean => req.query.IFRAME === 'Y';

  const noUser = (res: Response): void => {
    res.status(404).type('html').send('<!doctype html><p>No such user on this portal. <a href="/">Home</a></p>');
  };
  const liveApp = (clientId: string): AppWithFlag | null => {
    const a = portal.apps.get(clientId) as AppWithFlag | undefined;
    return a && !a.uninstalled ? a : null;
  };

  /** Creates a frame session: fresh tokens for (app, user), APP_SID, form fields, init data. */
  const makeFrame = (req: Request, app: AppRec, user: UserRec, placement: string,
    placementOptions: Record<string, unknown>, handler: string | null): FrameSpec => {
    const host = hostOf(req);
    const protocol = protoOf(req);
    const install = !app.installed;
    const appSid = randomBytes(16).toString('hex');
    const tok = issueTokens(portal, app.clientId, user.id);
    sessions.set(appSid, {
      appSid, clientId: app.clientId, userId: user.id, placement, placementOptions, install, createdAt: portal.clock.now(),
    });
    if (sessions.size > 5000) {
      const first = sessions.keys().next().value;
      if (first !== undefined) sessions.delete(first);
    }
    const target = handler ?? (install ? app.installUrl ?? app.appUrl : app.appUrl);
    const url = new URL(target);
    url.searchParams.set('DOMAIN', host);
    url.searchParams.set('PROTOCOL', String(protocol));
    url.searchParams.set('LANG', portal.language);
    url.searchParams.set('APP_SID', appSid);
    const ep = `${protocol ? 'https' : 'http'}://${host}/rest/`;
    const authExpires = String(portal.accessTokenTtl);
    const fields: Record<string, string> = {
      AUTH_ID: tok.accessToken,
      AUTH_EXPIRES: authExpires,
      REFRESH_ID: tok.refreshToken,
      SERVER_ENDPOINT: portal.serverEndpoint ?? ep,
      APPLICATION_TOKEN: app.applicationToken,
      APPLICATION_SCOPE: app.scopes.join(','),
      member_id: portal.memberId,
      status: app.status,
      PLACEMENT: placement,
      PLACEMENT_OPTIONS: JSON.stringify(placementOptions),
    };
    const init = {
      DOMAIN: host,
      PROTOCOL: protocol,
      PATH: '/rest/',
      LANG: portal.language,
      MEMBER_ID: portal.memberId,
      IS_ADMIN: user.isAdmin,
      AUTH_ID: tok.accessToken,
      REFRESH_ID: tok.refreshToken,
      AUTH_EXPIRES: portal.accessTokenTtl,
      APP_OPTIONS: { ...app.options },
      USER_OPTIONS: { ...(app.userOptions[user.id] ?? {}) },
      PLACEMENT: placement,
      PLACEMENT_OPTIONS: placementOptions,
      INSTALL: install,
      FIRST_RUN: install,
    };
    return {
      appSid, clientId: app.clientId, name: `${host}|${protocol}|${appSid}`, action: url.toString(), fields,
      appOrigin: url.origin, init, install,
    };
  };

  /** Placements of installed apps visible to a user. */
  const placementsFor = (code: string, user: UserRec): Array<PlacementBindingRec & { app: AppRec }> => {
    const out: Array<PlacementBindingRec & { app: AppRec }> = [];
    for (const p of portal.placements) {
      if (p.placement.toUpperCase() !== code) continue;
      if (p.userId !== 0 && p.userId !== user.id) continue;
      const app = liveApp(p.clientId);
      if (!app || !app.installed) continue; // widgets are hidden until installFinish (§1.2)
      out.push({ ...p, app });
    }
    return out;
  };
  const placementTitle = (p: PlacementBindingRec & { app: AppRec }): string =>
    p.langAll[portal.language]?.TITLE || p.title || p.langAll.en?.TITLE || appTitle(p.app);

  const notInstalledStub = (): string => `<div class="stub" id="app-stub">
    <h2>The application is not fully installed</h2>
    <p>Its installation has not been finished yet. Please contact your Bitrix24 administrator.</p></div>`;

  // ---- host endpoints ---------------------------------------------------------------------------
  const json = express.json({ limit: '256kb' });
  const sessionOf = (req: Request, res: Response): FrameSession | null => {
    const sid = (req.body as { appSid?: unknown } | undefined)?.appSid;
    const s = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (!s) {
      res.status(404).json({ error: 'APP_SID_NOT_FOUND', error_description: 'Unknown APP_SID' });
      return null;
    }
    return s;
  };

  r.post('/_host/frame', json, (req, res) => {
    const b = (req.body ?? {}) as { clientId?: unknown; user?: unknown; placement?: unknown; options?: unknown; bindingId?: unknown };
    const user = portal.users.get(Number(b.user ?? 1));
    const app = liveApp(String(b.clientId ?? ''));
    if (!user || !app) return res.status(404).json({ error: 'NOT_FOUND', error_description: 'No such app or user' });
    const placement = typeof b.placement === 'string' && b.placement ? b.placement : 'DEFAULT';
    const options = b.options && typeof b.options === 'object' && !Array.isArray(b.options) ? b.options as Record<string, unknown> : {};
    let handler: string | null = null;
    if (placement !== 'DEFAULT') {
      const bind = portal.placements.find((p) => p.id === Number(b.bindingId) && p.clientId === app.clientId && p.placement.toUpperCase() === placement);
      if (!bind || !app.installed) return res.status(404).json({ error: 'PLACEMENT_NOT_FOUND', error_description: 'No such placement binding' });
      handler = bind.handler;
    } else if (!app.installed && !user.isAdmin) {
      return res.status(403).json({ error: 'APP_NOT_INSTALLED', error_description: 'The application is not fully installed' });
    }
    res.json(makeFrame(req, app, user, placement, options, handler));
  });

  r.post('/_host/refresh-auth', json, (req, res) => {
    const s = sessionOf(req, res);
    if (!s) return;
    if (!liveApp(s.clientId)) return res.status(404).json({ error: 'APP_NOT_FOUND', error_description: 'The application is not installed' });
    const tok = issueTokens(portal, s.clientId, s.userId);
    res.json({ AUTH_ID: tok.accessToken, REFRESH_ID: tok.refreshToken, AUTH_EXPIRES: portal.accessTokenTtl });
  });

  r.post('/_host/install-finish', json, (req, res) => {
    const s = sessionOf(req, res);
    if (!s) return;
    const app = liveApp(s.clientId);
    const user = portal.users.get(s.userId);
    if (!app) return res.status(404).json({ error: 'APP_NOT_FOUND', error_description: 'The application is not installed' });
    if (!s.install) return res.status(400).json({ error: 'INSTALL_ALREADY_FINISHED', error_description: 'Application was previously installed' });
    if (!user?.isAdmin) return res.status(403).json({ error: 'ACCESS_DENIED', error_description: 'Only an administrator can finish the installation' });
    app.installed = true;
    s.install = false;
    res.json({ result: true, installed: true });
  });

  const optionWrite = (kind: 'app' | 'user') => (req: Request, res: Response): void => {
    const s = sessionOf(req, res);
    if (!s) return;
    const app = liveApp(s.clientId);
    const b = req.body as { name?: unknown; value?: unknown };
    if (!app || typeof b.name !== 'string' || !b.name) {
      res.status(400).json({ error: 'ERROR_ARGUMENT', error_description: 'name is required' });
      return;
    }
    if (kind === 'app') {
      const user = portal.users.get(s.userId);
      if (!user?.isAdmin) {
        res.status(403).json({ error: 'ACCESS_DENIED', error_description: 'Only an administrator can set application options' });
        return;
      }
      app.options[b.name] = b.value;
    } else {
      (app.userOptions[s.userId] ??= {})[b.name] = b.value;
    }
    res.json({ result: true });
  };
  r.post('/_host/app-option', json, optionWrite('app'));
  r.post('/_host/user-option', json, optionWrite('user'));

  r.get('/_host/users', (_req, res) => {
    res.json([...portal.users.values()].filter((u) => u.active).map((u) => ({
      id: String(u.id), name: userName(u), position: u.workPosition ?? '', photo: '', url: `/company/personal/user/${u.id}/`,
    })));
  });

  // ---- pages ----------------------------------------------------------------------------------
  r.get('/', (req, res) => {
    const user = actingUser(req);
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

  r.get('/app/:clientId', (req, res) => {
    const user = actingUser(req);
    if (!user) return noUser(res);
    const uq = uqOf(user);
    const app = liveApp(String(req.params.clientId));
    if (!app) {
      res.status(404);
      return res.type('html').send(page({ portal, user, uq, title: 'Application not found' }, '<p>This application is not installed on the portal.</p>'));
    }
    const chrome = { portal, user, uq, title: appTitle(app), active: `app:${app.clientId}` as const, bare: bare(req) };
    if (!app.installed && !user.isAdmin) {
      return res.type('html').send(page(chrome, notInstalledStub()));
    }
    let options: Record<string, unknown> = {};
    if (typeof req.query.options === 'string') {
      try { const o = JSON.parse(req.query.options) as unknown; if (o && typeof o === 'object' && !Array.isArray(o)) options = o as Record<string, unknown>; } catch { /* ignore */ }
    }
    const spec = makeFrame(req, app, user, 'DEFAULT', options, null);
    res.type('html').send(page({ ...chrome, config: { mainFrame: spec } },
      `${spec.install ? '<div class="notice" id="install-notice">Installing the application… it becomes available once it calls installFinish.</div>' : ''}
      <div class="app-frame" id="app-frame" data-app-sid="${esc(spec.appSid)}"></div>`));
  });

  r.get('/crm/contact/list/', (req, res) => {
    const user = actingUser(req);
    if (!user) return noUser(res);
    const uq = uqOf(user);
    const pageNo = Math.max(1, Number(req.query.page) || 1);
    const total = portal.contacts.size;
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const rows: string[] = [];
    const from = (pageNo - 1) * PAGE_SIZE;
    let i = 0;
    for (const c of portal.contacts.values()) {
      if (i >= from + PAGE_SIZE) break;
      if (i++ < from) continue;
      const phone = c.fm.find((m) => m.typeId === 'PHONE')?.value ?? '';
      const email = c.fm.find((m) => m.typeId === 'EMAIL')?.value ?? '';
      rows.push(`<tr><td>${c.id}</td><td><a href="${esc(link(`/crm/contact/details/${c.id}/`, uq))}">${esc(contactName(c))}</a></td>
        <td>${esc(phone)}</td><td>${esc(email)}</td><td>${esc(c.addressCity ?? '')}</td>
        <td>${esc(userName(portal.users.get(c.assignedById)))}</td><td>${esc(fmtDate(c.dateCreate, portal))}</td></tr>`);
    }
    const nav = pager(pageNo, pages, (p) => link('/crm/contact/list/', uq, `page=${p}`));
    res.type('html').send(page({ portal, user, uq, title: 'Contacts', active: 'contacts' }, `
      <p class="muted">${total.toLocaleString('en-US')} contacts</p>
      <table class="grid" id="contacts"><thead><tr><th>ID</th><th>Name</th><th>Phone</th><th>E-mail</th><th>City</th><th>Responsible</th><th>Created</th></tr></thead>
      <tbody>${rows.join('')}</tbody></table>${nav}`));
  });

  r.get('/crm/deal/list/', (req, res) => {
    const user = actingUser(req);
    if (!user) return noUser(res);
    const uq = uqOf(user);
    const pageNo = Math.max(1, Number(req.query.page) || 1);
    const total = portal.deals.size;
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const from = (pageNo - 1) * PAGE_SIZE;
    const rows: string[] = [];
    let i = 0;
    for (const d of portal.deals.values()) {
      if (i >= from + PAGE_SIZE) break;
      if (i++ < from) continue;
      rows.push(`<tr><td>${d.id}</td><td><a href="${esc(link(`/crm/deal/details/${d.id}/`, uq))}">${esc(d.title)}</a></td>
        <td>${esc(stageName(portal, d))}</td><td class="num">${esc(money(d.opportunity, d.currencyId))}</td>
        <td>${esc(d.closeDate)}</td><td>${esc(userName(portal.users.get(d.assignedById)))}</td></tr>`);
    }
    const nav = pager(pageNo, pages, (p) => link('/crm/deal/list/', uq, `page=${p}`));
    res.type('html').send(page({ portal, user, uq, title: 'Deals', active: 'deals' }, `
      <p class="muted">${total.toLocaleString('en-US')} deals</p>
      <table class="grid" id="deals"><thead><tr><th>ID</th><th>Deal</th><th>Stage</th><th>Amount</th><th>Close date</th><th>Responsible</th></tr></thead>
      <tbody>${rows.join('')}</tbody></table>${nav}`));
  });

  r.get('/crm/contact/details/:id/', (req, res) => {
    const user = actingUser(req);
    if (!user) return noUser(res);
    const uq = uqOf(user);
    const c = portal.contacts.get(Number(req.params.id));
    const chrome = { portal, user, uq, title: 'Contact', active: 'contacts' as const, bare: bare(req) };
    if (!c) {
      res.status(404);
      return res.type('html').send(page(chrome, '<p class="stub">Contact not found.</p>'));
    }
    const status = (entity: string, id: string | null): string =>
      id ? portal.statuses.find((s) => s.entityId === entity && s.statusId === id)?.name ?? id : '';
    const company = c.companyId !== null ? portal.companies.get(c.companyId) : undefined;
    const fields: Array<[string, string, string?]> = [
      ['ID', String(c.id)],
      ['Name', [c.name, c.secondName, c.lastName].filter(Boolean).join(' ')],
      ['Type', status('CONTACT_TYPE', c.typeId)],
      ['Source', status('SOURCE', c.sourceId)],
      ['Phone', c.fm.filter((m) => m.typeId === 'PHONE').map((m) => `${m.value} (${m.valueType.toLowerCase()})`).join(', ')],
      ['E-mail', c.fm.filter((m) => m.typeId === 'EMAIL').map((m) => m.value).join(', ')],
      ['City', c.addressCity ?? ''],
      ['Position', c.post ?? ''],
      ['Company', company ? company.title : ''],
      ['Birthdate', c.birthdate ?? ''],
      ['Responsible', userName(portal.users.get(c.assignedById))],
      ['Created', fmtDateTime(c.dateCreate, portal)],
      ['Modified', fmtDateTime(c.dateModify, portal)],
    ];
    const ufRows = ufFields(portal, 'CRM_CONTACT').map((f) => [label(f, portal.language), fmtUf(f, c.uf[f.fieldName]), f.fieldName] as [string, string, string]);
    const deals = dealsOfContact(portal, c.id);
    const tabs = placementsFor(PLACEMENT_TABS, user);
    const tabHeads = tabs.map((p) => `<button class="tab" role="tab" data-tab="pl-${p.id}" data-placement-id="${p.id}">${esc(placementTitle(p))}</button>`).join('');
    const tabPanels = tabs.map((p) => `<section class="tab-panel placement-panel" role="tabpanel" id="pl-${p.id}" hidden
      data-client-id="${esc(p.clientId)}" data-placement="${PLACEMENT_TABS}" data-binding-id="${p.id}" data-options="${esc(JSON.stringify({ ID: String(c.id) }))}"></section>`).join('');
    res.type('html').send(page({ ...chrome, title: contactName(c) }, `
      <div class="tabs" role="tablist" id="card-tabs"><button class="tab active" role="tab" data-tab="general">General</button>
      <button class="tab" role="tab" data-tab="deals">Deals <span class="badge">${deals.length}</span></button>${tabHeads}</div>
      <section class="tab-panel" role="tabpanel" id="general">
        <div class="card"><h2>About the contact</h2>${fieldTable(fields, 'contact-fields')}</div>
        <div class="card"><h2>User fields</h2>${ufRows.length ? fieldTable(ufRows, 'contact-uf') : '<p class="muted" id="contact-uf">No user fields.</p>'}</div>
      </section>
      <section class="tab-panel" role="tabpanel" id="deals" hidden>${dealTable(portal, deals, uq)}</section>
      ${tabPanels}`));
  });

  r.get('/crm/deal/details/:id/', (req, res) => {
    const user = actingUser(req);
    if (!user) return noUser(res);
    const uq = uqOf(user);
    const d = portal.deals.get(Number(req.params.id));
    const chrome = { portal, user, uq, title: 'Deal', active: 'deals' as const, bare: bare(req) };
    if (!d) {
      res.status(404);
      return res.type('html').send(page(chrome, '<p class="stub">Deal not found.</p>'));
    }
    const cat = portal.categories.find((x) => x.id === d.categoryId);
    const contacts = d.contactIds.map((id) => portal.contacts.get(id)).filter((x): x is ContactRec => !!x)
      .map((c, i) => `<a href="${esc(link(`/crm/contact/details/${c.id}/`, uq))}">${esc(contactName(c))}</a>${i === 0 ? ' <em>primary</em>' : ''}`).join(', ');
    const fields: Array<[string, string, string?]> = [
      ['ID', String(d.id)], ['Title', d.title], ['Funnel', cat?.name ?? String(d.categoryId)], ['Stage', stageName(portal, d)],
      ['Amount', money(d.opportunity, d.currencyId)], ['Begin date', d.beginDate], ['Close date', d.closeDate],
      ['Company', d.companyId !== null ? portal.companies.get(d.companyId)?.title ?? '' : ''],
      ['Responsible', userName(portal.users.get(d.assignedById))], ['Created', fmtDateTime(d.dateCreate, portal)],
    ];
    const ufRows = ufFields(portal, 'CRM_DEAL').map((f) => [label(f, portal.language), fmtUf(f, d.uf[f.fieldName]), f.fieldName] as [string, string, string]);
    const rows = portal.productRows.get(d.id) ?? [];
    const rowsHtml = rows.length ? `<table class="grid" id="product-rows"><thead><tr><th>Product</th><th>Price</th><th>Qty</th><th>Discount</th><th>Sum</th></tr></thead><tbody>
      ${rows.map((pr) => `<tr><td>${esc(pr.productName)}</td><td class="num">${esc(money(pr.price, d.currencyId))}</td><td class="num">${pr.quantity}</td>
      <td class="num">${pr.discountRate ? `${pr.discountRate}%` : ''}</td><td class="num">${esc(money(pr.price * pr.quantity, d.currencyId))}</td></tr>`).join('')}</tbody></table>`
      : '<p class="muted">No products.</p>';
    const tabs = placementsFor(DEAL_TABS, user);
    const tabHeads = tabs.map((p) => `<button class="tab" role="tab" data-tab="pl-${p.id}">${esc(placementTitle(p))}</button>`).join('');
    const tabPanels = tabs.map((p) => `<section class="tab-panel placement-panel" role="tabpanel" id="pl-${p.id}" hidden
      data-client-id="${esc(p.clientId)}" data-placement="${DEAL_TABS}" data-binding-id="${p.id}" data-options="${esc(JSON.stringify({ ID: String(d.id) }))}"></section>`).join('');
    res.type('html').send(page({ ...chrome, title: d.title }, `
      <div class="tabs" role="tablist"><button class="tab active" role="tab" data-tab="general">General</button>${tabHeads}</div>
      <section class="tab-panel" role="tabpanel" id="general">
      <div class="card"><h2>Deal</h2>${fieldTable(fields, 'deal-fields')}<p>Contacts: ${contacts || '—'}</p></div>
      <div class="card"><h2>User fields</h2>${ufRows.length ? fieldTable(ufRows, 'deal-uf') : '<p class="muted">No user fields.</p>'}</div>
      <div class="card"><h2>Products</h2>${rowsHtml}</div></section>${tabPanels}`));
  });

  // Pages the SDK may open that the emulator does not draw.
  r.get(['/company/personal/user/:id/', '/marketplace/', '/crm/company/details/:id/'], (req, res) => {
    const user = actingUser(req);
    if (!user) return noUser(res);
    res.type('html').send(page({ portal, user, uq: uqOf(user), title: 'Not emulated', bare: bare(req) }, '<p class="muted">This portal page is not emulated.</p>'));
  });

  return r;
}

// ---- rendering helpers ----------------------------------------------------------------------------
function contactName(c: ContactRec): string {
  return `${c.name} ${c.lastName}`.trim() || `Contact #${c.id}`;
}

function fmtDate(ms: number, portal: Portal): string {
  return fmtDateTime(ms, portal).slice(0, 10);
}

function fmtDateTime(ms: number, portal: Portal): string {
  try {
    const d = new Date(ms);
    const f = new Intl.DateTimeFormat('sv-SE', { timeZone: portal.timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    return f.format(d);
  } catch {
    return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  }
}

function money(v: number, cur: string): string {
  return `${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${cur}`;
}

function stageName(portal: Portal, d: DealRec): string {
  const entity = d.categoryId === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${d.categoryId}`;
  return portal.statuses.find((s) => s.entityId === entity && s.statusId === d.stageId)?.name ?? d.stageId;
}

function ufFields(portal: Portal, entity: UserFieldRec['entityId']): UserFieldRec[] {
  return [...portal.userFields.values()].filter((f) => f.entityId === entity).sort((a, b) => a.sort - b.sort || a.id - b.id);
}

function label(f: UserFieldRec, lang: string): string {
  return f.editFormLabel[lang] || f.editFormLabel.en || f.listColumnLabel[lang] || f.listColumnLabel.en || f.fieldName;
}

/** A user-field value as the card shows it: enumerations by VALUE, booleans Yes/No, lists joined. */
export function fmtUf(f: UserFieldRec, v: unknown): string {
  if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) return '';
  const one = (x: unknown): string => {
    if (x === null || x === undefined) return '';
    if (f.userTypeId === 'enumeration') {
      const item = f.list.find((it) => String(it.id) === String(x));
      return item ? item.value : String(x);
    }
    if (f.userTypeId === 'boolean') return x === true || x === 1 || x === '1' || x === 'Y' ? 'Yes' : 'No';
    if (typeof x === 'object') return JSON.stringify(x);
    return String(x);
  };
  return Array.isArray(v) ? v.map(one).filter(Boolean).join(', ') : one(v);
}

function fieldTable(rows: Array<[string, string, string?]>, id: string): string {
  return `<table class="fields" id="${esc(id)}">${rows.map(([k, v, code]) =>
    `<tr${code ? ` data-field="${esc(code)}"` : ''}><th>${esc(k)}</th><td>${v ? esc(v) : '<span class="muted">—</span>'}</td></tr>`).join('')}</table>`;
}

function dealsOfContact(portal: Portal, contactId: number): DealRec[] {
  const out: DealRec[] = [];
  for (const d of portal.deals.values()) if (d.contactIds.includes(contactId)) out.push(d);
  return out;
}

function dealTable(portal: Portal, deals: DealRec[], uq: string): string {
  if (deals.length === 0) return '<p class="muted">No deals.</p>';
  return `<table class="grid" id="contact-deals"><thead><tr><th>ID</th><th>Deal</th><th>Stage</th><th>Amount</th><th>Close date</th></tr></thead><tbody>${
    deals.slice(-200).reverse().map((d) => `<tr><td>${d.id}</td><td><a href="${esc(link(`/crm/deal/details/${d.id}/`, uq))}">${esc(d.title)}</a></td>
    <td>${esc(stageName(portal, d))}</td><td class="num">${esc(money(d.opportunity, d.currencyId))}</td><td>${esc(d.closeDate)}</td></tr>`).join('')}</tbody></table>`;
}

function pager(cur: number, pages: number, href: (p: number) => string): string {
  if (pages <= 1) return '';
  const items: string[] = [];
  if (cur > 1) items.push(`<a href="${esc(href(cur - 1))}" rel="prev">← Previous</a>`);
  items.push(`<span>Page ${cur} of ${pages}</span>`);
  if (cur < pages) items.push(`<a href="${esc(href(cur + 1))}" rel="next">Next →</a>`);
  return `<nav class="pager">${items.join(' ')}</nav>`;
}
