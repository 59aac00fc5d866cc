/**
 * A sales manager's day through the UI API, against the real emulator (its CRM roles: admin all,
 * head of sales department + subdepartments, managers own records) on PGlite and PostgreSQL:
 * exact numbers of what a user sees, names instead of IDs, search by name / phone / e-mail, phones
 * and e-mails read with the user's token, saved views per user (unique names per language, shared
 * by admins, isolated per portal and user), bulk actions done as the user (done / refused by CRM
 * rights / failed), and the CSV as a call sheet in the user's language.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal as EmuPortal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { issueTokens } from '../../src/emulator/tokens.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { runScoring } from '../../src/pipeline/score.js';
import { createTokenCipher, generateTokenKey, latestScoreRun, parseTokenKey, setTokenCipher, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { PortalUserVerifier } from '../../src/server/ui-api/portal-user.js';
import { clientForPortal } from '../../src/portal-clients.js';
import { createUiRouter, MIN_GROUP, type UiContext } from '../../src/server/ui-api/serve.js';
import { signSession } from '../../src/server/ui-api/session.js';

const SECRET = 'day-test-session-secret-0123456789abcdef';
const CLIENT = 'local.dayui.0001';
const TEMPLATE = 41;

/** RFC 4180 records with a given separator. */
function parseCsv(text: string, sep: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') q = false; else cell += ch;
    } else if (ch === '"' && cell === '') q = true;
    else if (ch === sep) { row.push(cell); cell = ''; }
    else if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); out.push(row); row = []; cell = ''; i++; }
    else cell += ch;
  }
  if (cell !== '' || row.length) { row.push(cell); out.push(row); }
  return out;
}

eachDb('a sales manager\'s day through the UI API (emulator CRM roles)', (getDb) => {
  let emu: RunningEmulator;
  let server: Server;
  let base: string;
  let portalId: number;
  let runId: number;
  const tokens = new Map<number, string>();
  const sessions = new Map<string, string>();

  const call = async (user: number, method: string, p: string, body?: unknown, o: { lang?: string; token?: boolean } = {}) => {
    const key = `${user}:${o.lang ?? 'en'}`;
    if (!sessions.has(key)) sessions.set(key, signSession(SECRET, { p: portalId, m: emu.portal.memberId, u: user, a: user === 1, l: o.lang ?? 'en' }));
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Authorization: `Bearer ${sessions.get(key)}` };
    if (o.token !== false) headers['X-B24-Auth'] = tokens.get(user)!;
    const r = await fetch(`${base}/api/ui${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      /* csv */
    }
    return { status: r.status, json, text, headers: r.headers };
  };
  const own = (user: number) => [...emu.portal.contacts.values()].filter((c) => c.assignedById === user);
  const labelOf = async (id: number) => (await getDb().query<{ segment: string; monetary: number }>(
    `SELECT segment, monetary::float8 AS monetary FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND contact_id = $3`, [portalId, runId, id])).rows[0]!;

  beforeAll(async () => {
    setTokenCipher(createTokenCipher(parseTokenKey(generateTokenKey())));
    const portal = new EmuPortal({ language: 'en' });
    generatePortal(portal, { contacts: 400, seed: 11 });
    portal.bizprocTemplates.push({ id: TEMPLATE, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Win-back call', autoExecute: 0 });
    emu = await startEmulator({ portal, port: 0, hostPage: false, log: () => {} });
    const admin = (p: string, body: unknown) => fetch(`${emu.url}_emulator/${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await admin('apps/install', { clientId: CLIENT, clientSecret: 's', appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user_brief', 'bizproc'], mode: 'wizard' })).status).toBe(201);
    expect((await admin(`apps/${CLIENT}/install-finish`, {})).status).toBe(200);
    const db: Db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: portal.memberId, domain: new URL(emu.url).host, clientEndpoint: `${emu.url}rest/`, applicationToken: 'x', status: 'active' })).id;
    await mirrorEmulatorPortal(portal, db, portalId);
    const cs = [...portal.contacts.values()];
    await db.query(
      `UPDATE contacts c SET city = u.city, source_id = u.src, assigned_by_id = u.resp, has_email = u.em, has_phone = u.ph
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::boolean[], $7::boolean[]) AS u(id, city, src, resp, em, ph)
        WHERE c.portal_id = $1 AND c.id = u.id`,
      [portalId, cs.map((c) => c.id), cs.map((c) => c.addressCity), cs.map((c) => c.sourceId), cs.map((c) => c.assignedById),
        cs.map((c) => c.fm.some((m) => m.typeId === 'EMAIL')), cs.map((c) => c.fm.some((m) => m.typeId === 'PHONE'))],
    );
    await runScoring(db, portalId, new Date(portal.clock.now()));
    runId = (await latestScoreRun(db, portalId))!.id;
    for (const u of [1, 2, 3, 4]) tokens.set(u, issueTokens(portal, CLIENT, u).accessToken);
    const dist = mkdtempSync(path.join(os.tmpdir(), 'ui-dist-'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><html><body></body></html>');
    const clientFor = (id: number) => clientForPortal(db, id, { clientId: CLIENT, clientSecret: 's' });
    const ctx: UiContext = { db, config: { sessionSecret: SECRET, production: false, clientId: CLIENT }, clientFor, verifier: new PortalUserVerifier([CLIENT], clientFor), uiDist: dist };
    const app = express();
    app.use(createUiRouter(ctx));
    server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await emu?.close();
  });

  it('a manager gets exact numbers of their own contacts however few, and exports the one row they see', async () => {
    const mine = own(3);
    const one = mine[0]!;
    const f = { filter: { all: [{ field: 'search', text: `#${one.id}` }] } };
    const c = await call(3, 'POST', '/segments/count', f);
    expect(c.json).toMatchObject({ count: 1, scope: 'visible' });
    expect((await call(3, 'POST', '/segments/quality', f)).json).toMatchObject({ size: 1 });
    const csv = await call(3, 'POST', '/segments/export', { ...f, columns: ['name'] });
    const rows = parseCsv(csv.text.replace(/^\uFEFF/, ''), ',');
    expect(rows.slice(1).map((r) => Number(r[0]))).toEqual([one.id]);
    // a segment small for the manager but not for the portal: exact for them
    const seg = (await labelOf(one.id)).segment;
    const n = (await getDb().query<{ n: number }>(`SELECT count(*)::int AS n FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND segment = $3 AND contact_id = ANY($4::bigint[])`,
      [portalId, runId, seg, mine.map((x) => x.id)])).rows[0]!.n;
    expect((await call(3, 'POST', '/segments/count', { filter: { all: [{ field: 'segment', values: [seg] }] } })).json.count).toBe(n);
    // aggregates over contacts the manager cannot see keep the small-group rule
    const d = await call(3, 'GET', '/dashboard');
    for (const h of d.json.heatmap as Array<{ count: number | null }>) expect(h.count === null || h.count >= MIN_GROUP).toBe(true);
  });

  it('names, not IDs: the portal\'s users (the dismissed one marked) and lead sources by name, asked with the user\'s token', async () => {
    const m = (await call(3, 'GET', '/meta')).json as { users: Array<{ id: number; name: string; active: boolean }>; sourceNames: Record<string, string>; namesKnown: boolean; cities: string[] };
    expect(m.namesKnown).toBe(true);
    for (const u of emu.portal.users.values()) {
      expect(m.users.find((x) => x.id === u.id), `user ${u.id}`).toMatchObject({ name: `${u.name} ${u.lastName}`, active: u.active });
    }
    expect(m.users.some((u) => !u.active)).toBe(true);
    expect(m.sourceNames.WEB).toBe(emu.portal.statuses.find((s) => s.entityId === 'SOURCE' && s.statusId === 'WEB')!.name);
    // the manager's own cities are offered even when fewer than MIN_GROUP contacts hold them
    for (const c of own(3)) if (c.addressCity) expect(m.cities).toContain(c.addressCity);
  });

  it('search by name, phone or e-mail finds only contacts the user may read; phones and e-mails come with the page when shown', async () => {
    const mine = own(3).find((c) => c.fm.some((x) => x.typeId === 'PHONE') && c.fm.some((x) => x.typeId === 'EMAIL'))!;
    const phone = mine.fm.find((x) => x.typeId === 'PHONE')!.value;
    const email = mine.fm.find((x) => x.typeId === 'EMAIL')!.value;
    for (const text of [phone, email, mine.lastName]) {
      const l = await call(3, 'POST', '/segments/list', { filter: { all: [{ field: 'search', text }] }, columns: ['name', 'phone', 'email'] });
      const rows = l.json.rows as Array<{ id: number; phones: string[]; emails: string[]; assignedById: number }>;
      expect(rows.map((r) => Number(r.id)), text).toContain(mine.id);
      expect(rows.every((r) => Number(r.assignedById) === 3)).toBe(true);
      const row = rows.find((r) => Number(r.id) === mine.id)!;
      expect(row.phones).toContain(phone);
      expect(row.emails).toContain(email);
    }
    // another manager's contact, by its phone: the manager finds nothing, the admin finds it
    const other = own(4).find((c) => c.fm.some((x) => x.typeId === 'PHONE'))!;
    const otherPhone = other.fm.find((x) => x.typeId === 'PHONE')!.value;
    const f = { filter: { all: [{ field: 'search', text: otherPhone }] } };
    expect((await call(3, 'POST', '/segments/count', f)).json.count).toBe(0);
    expect(((await call(1, 'POST', '/segments/list', { ...f, columns: ['phone'] })).json.rows as Array<{ id: number }>).map((r) => Number(r.id))).toContain(other.id);
  });

  it('views: personal per user, names unique as compared in the user\'s language, replaced only when confirmed, shared by admins only', async () => {
    const view = { filter: { all: [{ field: 'sleeping', value: true }] }, sort: 'clv', dir: 'desc', columns: ['name', 'phone'] };
    const a = await call(3, 'POST', '/views', { name: 'VIP клиенты', view }, { lang: 'ru' });
    const b = await call(3, 'POST', '/views', { name: 'VIP покупатели', view }, { lang: 'ru' });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const clash = await call(3, 'POST', '/views', { name: '  vip   КЛИЕНТЫ ', view: { ...view, sort: 'name' } }, { lang: 'ru' });
    expect(clash.status).toBe(409);
    expect(clash.json).toMatchObject({ error: 'NAME_TAKEN', id: (a.json.view as { id: number }).id });
    const replaced = await call(3, 'POST', '/views', { name: 'vip КЛИЕНТЫ', view: { ...view, sort: 'name' }, replace: true }, { lang: 'ru' });
    expect(replaced.json.view).toMatchObject({ id: (a.json.view as { id: number }).id, view: { sort: 'name' } });
    const mine = (await call(3, 'GET', '/views')).json.views as Array<{ name: string; mine: boolean }>;
    expect(mine.map((v) => v.name).sort()).toEqual(['VIP покупатели', 'vip КЛИЕНТЫ']);
    // another manager sees none of them; sharing is for admins
    expect((await call(4, 'GET', '/views')).json.views).toEqual([]);
    expect((await call(3, 'POST', '/views', { name: 'Team', shared: true, view })).status).toBe(403);
    expect((await call(1, 'POST', '/views', { name: 'Whom to call', shared: true, view })).status).toBe(200);
    expect(((await call(4, 'GET', '/views')).json.views as Array<{ name: string; mine: boolean; shared: boolean }>)).toEqual([expect.objectContaining({ name: 'Whom to call', mine: false, shared: true })]);
    // a manager cannot delete another's view or a shared one
    expect((await call(4, 'DELETE', `/views/${(b.json.view as { id: number }).id}`)).status).toBe(404);
    const sharedId = ((await call(4, 'GET', '/views')).json.views as Array<{ id: number }>)[0]!.id;
    expect((await call(4, 'DELETE', `/views/${sharedId}`)).status).toBe(404);
  });

  it('views stay in their portal and with their owner; at most 100 per user', async () => {
    const db = getDb();
    const other = await upsertPortalOnInstall(db, { memberId: 'member-day-other', domain: 'other.test', clientEndpoint: 'https://other.test/rest/', status: 'active' });
    const mine = ((await call(3, 'GET', '/views')).json.views as Array<{ id: number; mine: boolean }>).filter((v) => v.mine);
    expect(mine.length).toBeGreaterThan(0);
    // the same user id on another portal: none of portal 1's views, and cannot delete them
    const s2 = signSession(SECRET, { p: other.id, m: 'member-day-other', u: 3, a: false, l: 'en' });
    const on2 = (method: string, p: string) => fetch(`${base}/api/ui${p}`, { method, headers: { Authorization: `Bearer ${s2}` } });
    expect(((await (await on2('GET', '/views')).json()) as { views: unknown[] }).views).toEqual([]);
    expect((await on2('DELETE', `/views/${mine[0]!.id}`)).status).toBe(404);
    expect((await call(3, 'GET', '/views')).json.views).toContainEqual(expect.objectContaining({ id: mine[0]!.id }));
    // the 100th view is the last
    const have = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ui_views WHERE portal_id = $1 AND user_id = 5`, [portalId])).rows[0]!.n;
    for (let i = have; i < 100; i++) {
      await db.query(`INSERT INTO ui_views (portal_id, user_id, name, name_key, view) VALUES ($1, 5, $2, $2, '{"filter":{"all":[]}}')`, [portalId, `v${i}`]);
    }
    tokens.set(5, issueTokens(emu.portal, CLIENT, 5).accessToken);
    const full = await call(5, 'POST', '/views', { name: 'one more', view: { filter: { all: [] } } });
    expect(full.status).toBe(400);
    expect(full.json.error).toBe('TOO_MANY_VIEWS');
  });

  it('bulk actions run as the user: to-dos for the responsibles, a workflow the manager may not start is refused, a hidden contact is refused', async () => {
    const mine = own(3).slice(0, 3).map((c) => c.id);
    const hidden = own(4)[0]!.id;
    const before = emu.portal.todos.length;
    const t = await call(3, 'POST', '/bulk/todo', { ids: [...mine, hidden], title: 'Call back', deadlineDays: 2 });
    expect(t.status).toBe(200);
    expect(t.json).toMatchObject({ done: 3, refused: 1, failed: 0, recipients: [{ userId: 3, count: 3 }] });
    const todos = emu.portal.todos.slice(before);
    expect(todos.map((x) => x.ownerId).sort()).toEqual([...mine].sort());
    expect(todos.every((x) => x.responsibleId === 3 && x.title === 'Call back')).toBe(true);
    const w = await call(3, 'POST', '/bulk/workflow', { ids: mine, templateId: TEMPLATE });
    expect(w.json).toMatchObject({ done: 0, refused: 3, failed: 0 });
    const wa = await call(1, 'POST', '/bulk/workflow', { ids: mine.slice(0, 1), templateId: TEMPLATE });
    expect(wa.json).toMatchObject({ done: 1 });
    expect((await call(3, 'GET', '/bulk/workflows')).json.templates).toEqual([{ id: TEMPLATE, name: 'Win-back call' }]);
    // the head of sales reassigns a contact; a dismissed user cannot be the new responsible
    const moved = own(4)[1]!.id;
    expect((await call(2, 'POST', '/bulk/assign', { ids: [moved], userId: 5 })).json).toMatchObject({ done: 1 });
    expect(emu.portal.contacts.get(moved)!.assignedById).toBe(5);
    const dismissed = [...emu.portal.users.values()].find((u) => !u.active)!.id;
    expect((await call(2, 'POST', '/bulk/assign', { ids: [moved], userId: dismissed })).status).toBe(400);
    // without the user's token nothing is done
    expect((await call(3, 'POST', '/bulk/todo', { ids: mine, title: 'x' }, { token: false })).status).toBe(401);
  });

  it('add to a list: a new personal list, then more; the list is a view whose filter is those contacts', async () => {
    const mine = own(3).slice(0, 4).map((c) => c.id);
    const first = await call(3, 'POST', '/bulk/list', { ids: mine.slice(0, 2), newName: 'Call on Monday' });
    expect(first.json).toMatchObject({ done: 2 });
    const id = (first.json.view as { id: number }).id;
    const more = await call(3, 'POST', '/bulk/list', { ids: [...mine.slice(1), own(4)[0]!.id], view: id });
    expect(more.json).toMatchObject({ done: 3, refused: 1 });
    const c = await call(3, 'POST', '/segments/count', { filter: { all: [{ field: 'contact', ids: mine }] } });
    expect(c.json.count).toBe(4);
    const v = ((await call(3, 'GET', '/views')).json.views as Array<{ id: number; view: { filter: { all: Array<{ ids: number[] }> } } }>).find((x) => x.id === id)!;
    expect(v.view.filter.all[0]!.ids.sort()).toEqual([...mine].sort());
  });

  it('the CSV is a call sheet in Russian: ";" and decimal commas, translated headers, names of responsibles and sources, phones, the screen\'s order', async () => {
    const body = { filter: { all: [] }, sort: 'monetary', dir: 'desc', columns: ['name', 'segment', 'monetary', 'responsible', 'source', 'phone', 'last_purchase'], name: 'Все мои клиенты' };
    const r = await call(3, 'POST', '/segments/export', body, { lang: 'ru' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('Все мои клиенты')}`);
    const [head, ...rows] = parseCsv(r.text.replace(/^\uFEFF/, ''), ';');
    expect(head).toEqual(['ID', 'Имя', 'Сегмент', 'Спящий (пропустил покупку)', 'Выручка', 'Ответственный', 'Источник', 'Телефон', 'Последняя покупка']);
    const list = (await call(3, 'POST', '/segments/list', { ...body, page: 1, pageSize: 200 })).json.rows as Array<{ id: number }>;
    expect(rows.map((x) => Number(x[0]))).toEqual(list.map((x) => Number(x.id)));
    const me = emu.portal.users.get(3)!;
    expect(new Set(rows.map((x) => x[5]))).toEqual(new Set([`${me.name} ${me.lastName}`]));
    for (const x of rows) {
      expect(x[4]).toMatch(/^(\d+(,\d{1,2})?)?$/);
      if (x[8]) expect(x[8]).toMatch(/^\d{2}\.\d{2}\.\d{4}$/);
      const c = emu.portal.contacts.get(Number(x[0]))!;
      // a phone starting with + is written like any cell starting with a formula sign: with a leading '
      const phones = c.fm.filter((m) => m.typeId === 'PHONE').map((m) => m.value).join(', ');
      expect(x[7]).toBe(/^[+=@-]/.test(phones) ? `'${phones}` : phones);
      if (c.sourceId) expect(x[6]).toBe(emu.portal.statuses.find((s) => s.entityId === 'SOURCE' && s.statusId === c.sourceId)!.name);
    }
    // English: commas and decimal points
    const en = await call(3, 'POST', '/segments/export', { ...body, columns: ['monetary'] });
    const enRows = parseCsv(en.text.replace(/^\uFEFF/, ''), ',');
    expect(enRows[0]).toEqual(['ID', 'Revenue']);
    for (const x of enRows.slice(1)) expect(x[1]).toMatch(/^(\d+(\.\d{1,2})?)?$/);
  });

  it('settings errors name their field, code and numbers; the page gets the current bounds and the buyers\' spread; the preview counts buyers per level', async () => {
    const cur = (await call(1, 'GET', '/settings')).json as { settings: { scoring: Record<string, unknown> }; current: { bounds: Record<string, number[]>; spread: Record<string, number[]>; buyers: number; mode: string } };
    expect(cur.current.bounds.recency).toHaveLength(4);
    expect(cur.current.spread.monetary).toHaveLength(5);
    expect(cur.current.mode).toBe('fresh');
    const bad = await call(1, 'PUT', '/settings', { settings: { scoring: { rfm: { mode: 'fixed', fixed: { scale5: { recency: [1, 2, 3, 4], frequency: [1, 2, 4, 8], monetary: [1, 2, 3, 4] } } } } } });
    expect(bad.status).toBe(400);
    expect(bad.json.issues).toContainEqual(expect.objectContaining({ path: 'scoring.rfm.fixed.scale5.recency', code: 'custom', params: { i18n: 'descending' } }));
    const rules = [{ segment: 'champions', r: [1, 999] }];
    const big = await call(1, 'POST', '/settings/preview', { scoring: { segments: { scale5: rules } } });
    expect(big.json.issues).toContainEqual(expect.objectContaining({ path: 'scoring.segments.scale5.0.r.1', code: 'too_big', maximum: 5 }));
    const pv = await call(1, 'POST', '/settings/preview', { scoring: { rfm: { mode: 'fixed' } } });
    const levels = pv.json.levels as { m: number[] };
    expect(levels.m).toHaveLength(5);
    expect(levels.m.reduce((a, b) => a + b, 0)).toBe(cur.current.buyers);
    expect(Object.values(pv.json.draft as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(Object.values(pv.json.current as Record<string, number>).reduce((a, b) => a + b, 0));
  });

  it('the sync page gets the schedule and its next run', async () => {
    const s = await call(3, 'GET', '/sync');
    expect(s.json.schedule).toMatchObject({ mode: 'daily', hour: 3 });
    expect(Date.parse(s.json.nextRun as string)).toBeGreaterThan(Date.now());
    expect(Date.parse(s.json.nextRun as string)).toBeLessThan(Date.now() + 25 * 3_600_000);
  });

  it('automation: how many contacts a rule would have fired for since the last run, whose to-dos, and the log of fired actions', async () => {
    const db = getDb();
    // a second run 60 days later: contacts fall asleep
    await runScoring(db, portalId, new Date(emu.portal.clock.now() + 60 * 86_400_000));
    const [cur, prev] = (await db.query<{ id: number }>(`SELECT id FROM score_runs WHERE portal_id = $1 ORDER BY id DESC LIMIT 2`, [portalId])).rows.map((r) => Number(r.id));
    const { rows } = await db.query<{ resp: number; n: number }>(
      `SELECT k.assigned_by_id AS resp, count(*)::int AS n FROM contact_labels c JOIN contact_labels p ON p.portal_id = c.portal_id AND p.run_id = $3 AND p.contact_id = c.contact_id
         JOIN contacts k ON k.portal_id = c.portal_id AND k.id = c.contact_id WHERE c.portal_id = $1 AND c.run_id = $2 AND c.sleeping AND NOT p.sleeping GROUP BY 1`,
      [portalId, cur, prev]);
    const want = rows.reduce((a, r) => a + r.n, 0);
    expect(want).toBeGreaterThan(0);
    const rule = { id: 'wake', enabled: true, trigger: { type: 'becameSleeping' }, action: { type: 'todo', title: 'Call {name}', deadlineDays: 1 } };
    const e = await call(1, 'POST', '/automation/estimate', { rules: [rule, { ...rule, id: 'bad', action: { type: 'workflow', templateId: 'abc' } }] });
    const est = e.json.rules as Array<{ expected: number | null; recipients: Array<{ userId: number; count: number }> }>;
    expect(est[0]!.expected).toBe(want);
    expect(est[0]!.recipients.map((x) => [x.userId, x.count]).sort()).toEqual(rows.map((r) => [Number(r.resp), r.n]).sort());
    expect(est[1]!.expected).toBeNull();
    expect((await call(3, 'POST', '/automation/estimate', { rules: [rule] })).status).toBe(403);
    const contact = own(3)[0]!;
    await db.query(`INSERT INTO automation_firings (portal_id, rule_id, contact_id, transition_key, action, status, result) VALUES ($1, 'wake', $2, 'sleeping:1', 'todo', 'done', '{"id":7}')`, [portalId, contact.id]);
    const f = await call(1, 'GET', '/automation/firings');
    expect(f.json.firings).toContainEqual(expect.objectContaining({ ruleId: 'wake', contactId: contact.id, contact: `${contact.name} ${contact.lastName}`, status: 'done', action: 'todo' }));
  });
});

