/**
 * UI API against a real store (PGlite and PostgreSQL): page auth (AUTH_ID verified with the
 * portal, session issued), session checks, admin-only actions, CRM-permission filtering with the
 * user's own token, small-group suppression for non-admins, counts = SQL, CSV = count, settings
 * validation and preview. The portal is a fake REST endpoint (profile, app.info, crm.contact.list).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import {
  createScoreRun, createTokenCipher, generateTokenKey, insertContactLabels, parseTokenKey, setTokenCipher,
  upsertContacts, upsertDealContacts, upsertDeals, upsertPortalOnInstall, type Db,
} from '../../src/store/index.js';
import { PortalUserVerifier } from '../../src/server/ui-api/portal-user.js';
import { createUiRouter, MIN_GROUP, renderAppPage, type UiContext } from '../../src/server/ui-api/serve.js';
import { signSession } from '../../src/server/ui-api/session.js';
import { savedSegmentAssignments } from '../../src/writeback/saved-segment.js';
import { decodeCommand } from '../../src/b24/batch-encoding.js';
import { B24Client, WebhookTokenSource, type Transport } from '../../src/b24/index.js';

type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<{ status: number; json(): Promise<unknown> }>;

const SECRET = 'integration-session-secret-0123456789';
const ENDPOINT = 'http://portal.test:8080/rest/';
const APP_CODE = 'local.uiauth.0001';
const SEGS = ['champions', 'loyal', 'at_risk', 'lost', 'new'];
const N = 120;

/**
 * Fake portal: admin-token → user 1 (admin), mgr-token → user 2 (sees even contact ids only).
 * crm.contact.list answers {"@ID": ids} checks and full listings (50 a page, total), also
 * inside batch.
 */
function fakePortal() {
  const calls: string[] = [];
  const users: Record<string, { ID: string; ADMIN: boolean }> = {
    'admin-token-0001': { ID: '1', ADMIN: true },
    'mgr-token-00002': { ID: '2', ADMIN: false },
    'mgr-token-00003': { ID: '3', ADMIN: false },
  };
  const fetchImpl: FetchLike = async (url, init) => {
    const method = url.slice(ENDPOINT.length);
    calls.push(method);
    const body = JSON.parse(init.body) as { auth: string; filter?: { '@ID'?: number[] }; cmd?: Record<string, string> };
    const u = users[body.auth];
    const reply = (status: number, j: unknown) => ({ status, json: async () => j });
    if (!url.startsWith(ENDPOINT)) return reply(404, { error: 'NOT_FOUND' });
    if (!u) return reply(401, { error: 'invalid_token', error_description: 'The access token provided is invalid.' });
    if (method === 'profile') return reply(200, { result: { ...u, NAME: 'U', LAST_NAME: u.ID } });
    if (method === 'app.info') return reply(200, { result: { INSTALLED: true, CODE: APP_CODE } });
    const contactList = (params: { filter?: { '@ID'?: unknown }; start?: unknown }) => {
      const asked = params.filter?.['@ID'];
      const ids = asked !== undefined ? Object.values(asked as Record<string, unknown>).map(Number) : Array.from({ length: N }, (_, i) => i + 1);
      const visible = u.ADMIN ? ids : ids.filter((id) => id % 2 === 0);
      if (asked !== undefined) return { result: visible.map((id) => ({ ID: String(id) })) };
      const start = Math.max(0, Number(params.start ?? 0));
      return { result: visible.slice(start, start + 50).map((id) => ({ ID: String(id) })), total: visible.length };
    };
    if (method === 'crm.contact.list') return reply(200, contactList(body));
    if (method === 'batch') {
      const result: Record<string, unknown> = {};
      const total: Record<string, unknown> = {};
      for (const [k, c] of Object.entries(body.cmd ?? {})) {
        const d = decodeCommand(c);
        if (d.method !== 'crm.contact.list') return reply(400, { error: 'ERROR_METHOD_NOT_FOUND' });
        const r = contactList(d.params as never);
        result[k] = r.result;
        if ('total' in r) total[k] = r.total;
      }
      return reply(200, { result: { result, result_error: [], result_total: total, result_next: [] } });
    }
    return reply(400, { error: 'ERROR_METHOD_NOT_FOUND' });
  };
  // the portal's REST client plays the fake portal through its transport; users' tokens are
  // checked with clients over this client's limiter (as with src/portal-clients.ts)
  const transport: Transport = async ({ url, body }) => {
    const r = await fetchImpl(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, data: await r.json() };
  };
  const portalClient = new B24Client({ tokens: new WebhookTokenSource(ENDPOINT), transport });
  return { fetchImpl, calls, portalClient };
}

eachDb('ui api', (getDb) => {
  let server: Server;
  let base: string;
  let portalId: number;
  let portal2Id: number;
  let runId: number;
  let ctx: UiContext;
  const fp = fakePortal();
  let adminSession = '';
  let mgrSession = '';

  const call = async (method: string, p: string, o: { session?: string; token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (o.session) headers.Authorization = `Bearer ${o.session}`;
    if (o.token) headers['X-B24-Auth'] = o.token;
    const r = await fetch(`${base}/api/ui${p}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
    const text = await r.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      /* csv */
    }
    return { status: r.status, json, text, headers: r.headers };
  };
  const admin = (m: string, p: string, body?: unknown) => call(m, p, { session: adminSession, token: 'admin-token-0001', body });
  const mgr = (m: string, p: string, body?: unknown) => call(m, p, { session: mgrSession, token: 'mgr-token-00002', body });
  const sql = async (where: string, params: unknown[] = []) => {
    const { rows } = await getDb().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        WHERE l.portal_id = $1 AND l.run_id = $2 AND ${where}`,
      [portalId, runId, ...params],
    );
    return rows[0]!.n;
  };

  beforeAll(async () => {
    setTokenCipher(createTokenCipher(parseTokenKey(generateTokenKey())));
    const db: Db = getDb();
    const p = await upsertPortalOnInstall(db, { memberId: 'member-ui-0001', domain: 'portal.test:8080', clientEndpoint: ENDPOINT, applicationToken: 'apptoken-1', status: 'active', language: 'de' });
    portalId = p.id;
    portal2Id = (await upsertPortalOnInstall(db, { memberId: 'member-ui-0002', domain: 'other.test', clientEndpoint: 'https://other.test/rest/', status: 'active' })).id;
    await upsertContacts(db, portalId, Array.from({ length: N }, (_, i) => ({
      id: i + 1, name: `N${i + 1}`, lastName: `L${i + 1}`, city: i % 3 === 0 ? 'Berlin' : 'Kyiv', sourceId: i % 2 ? 'WEB' : 'CALL',
      assignedById: (i % 4) + 1, hasEmail: i % 2 === 0, hasPhone: i % 5 === 0, uf: i % 7 === 0 ? { UF_CRM_TIER: 'gold' } : {},
    })));
    await upsertDeals(db, portalId, Array.from({ length: 40 }, (_, i) => ({
      id: i + 1, stageSemantic: i % 3 === 0 ? 'P' : i % 3 === 1 ? 'S' : 'F', opportunity: 100 * (i + 1), opportunityBase: 100 * (i + 1),
      closeDate: `2026-0${(i % 9) + 1}-15`,
    })));
    await upsertDealContacts(db, portalId, Array.from({ length: 40 }, (_, i) => ({ dealId: i + 1, contactId: (i % N) + 1 })));
    const prev = await createScoreRun(db, portalId, { asOf: new Date('2026-09-01T00:00:00Z'), settings: { rfm: { scale: 5 } } });
    await insertContactLabels(db, portalId, prev.id, Array.from({ length: N }, (_, i) => ({ contactId: i + 1, segment: SEGS[(i + 1) % SEGS.length] })));
    const run = await createScoreRun(db, portalId, { asOf: new Date('2026-10-01T00:00:00Z'), settings: { rfm: { scale: 5 } } });
    runId = run.id;
    await insertContactLabels(db, portalId, runId, Array.from({ length: N }, (_, i) => ({
      contactId: i + 1, segment: SEGS[i % SEGS.length], r: (i % 5) + 1, f: ((i >> 1) % 5) + 1, m: ((i >> 2) % 5) + 1,
      rfm: `${(i % 5) + 1}${((i >> 1) % 5) + 1}${((i >> 2) % 5) + 1}`, monetary: 10 * i, clv: 5 * i, pAlive: (i % 10) / 10,
      recencyDays: i, frequency: (i % 6) + 1, lastPurchase: `2026-0${(i % 9) + 1}-01`, lifecycle: i % 2 ? 'regular' : 'one_time',
      sleeping: i % 4 === 0, interests: i % 3 === 0 ? ['bikes', 'tents'] : i % 3 === 1 ? ['bikes'] : [], extra: { revenue: 10 * i },
    })));
    const dist = mkdtempSync(path.join(os.tmpdir(), 'ui-dist-'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><html lang="en"><head><title>t</title></head><body><div id="app"></div></body></html>');
    ctx = { db, config: { sessionSecret: SECRET, production: false, clientId: APP_CODE }, verifier: new PortalUserVerifier([APP_CODE], () => fp.portalClient), uiDist: dist };
    const app = express();
    app.use(createUiRouter(ctx));
    app.post('/app', express.urlencoded({ extended: true }), (req, res, next) => void renderAppPage(req, res, ctx).catch(next));
    server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  const openPage = async (fields: Record<string, string>, query = '?DOMAIN=portal.test:8080&PROTOCOL=0&LANG=ua&APP_SID=x') => {
    const r = await fetch(`${base}/app${query}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    const html = await r.text();
    const boot = /window\.__SEG_BOOT=(\{.*?\});<\/script>/.exec(html)?.[1];
    return { status: r.status, html, csp: r.headers.get('content-security-policy') ?? '', boot: boot ? (JSON.parse(boot) as { session: string; isAdmin: boolean; lang: string; placementOptions: Record<string, unknown>; userId: number }) : null };
  };

  it('the app page verifies AUTH_ID with the portal and issues a session; framing only for the portal origin', async () => {
    expect((await openPage({})).status).toBe(400);
    expect((await openPage({ member_id: 'nope-nope-nope', AUTH_ID: 'admin-token-0001' })).status).toBe(403);
    expect((await openPage({ member_id: 'member-ui-0001', AUTH_ID: 'forged-token-xx' })).status).toBe(401);
    const a = await openPage({ member_id: 'member-ui-0001', AUTH_ID: 'admin-token-0001', PLACEMENT: 'CRM_CONTACT_DETAIL_TAB', PLACEMENT_OPTIONS: '{"ID":"12"}' });
    expect(a.status).toBe(200);
    expect(a.csp).toContain('frame-ancestors http://portal.test:8080');
    expect(a.csp).toMatch(/script-src 'self' 'nonce-/);
    expect(a.html).toContain('<html lang="uk">');
    expect(a.boot).toMatchObject({ isAdmin: true, userId: 1, lang: 'ua', placementOptions: { ID: '12' } });
    adminSession = a.boot!.session;
    const m = await openPage({ member_id: 'member-ui-0001', AUTH_ID: 'mgr-token-00002' });
    expect(m.boot).toMatchObject({ isAdmin: false, userId: 2 });
    mgrSession = m.boot!.session;
    const me = await call('GET', '/me', { session: adminSession });
    expect(me.json).toMatchObject({ userId: 1, isAdmin: true, lang: 'ua' });
    // the verdict is cached briefly: opening again does not re-ask the portal
    const before = fp.calls.filter((c) => c === 'profile').length;
    await openPage({ member_id: 'member-ui-0001', AUTH_ID: 'admin-token-0001' });
    expect(fp.calls.filter((c) => c === 'profile').length).toBe(before);
  });

  it('every /api call needs a valid session for an existing portal', async () => {
    expect((await call('GET', '/meta')).status).toBe(401);
    expect((await call('GET', '/meta', { session: 'abc.def' })).status).toBe(401);
    const [payload, sig] = adminSession.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), u: 99 })).toString('base64url');
    expect((await call('GET', '/meta', { session: `${forged}.${sig}` })).status).toBe(401);
    // a session signed for portal 2 but claiming portal 1's member id
    const cross = signSession(SECRET, { p: portal2Id, m: 'member-ui-0001', u: 1, a: true, l: 'en' });
    expect((await call('GET', '/meta', { session: cross })).status).toBe(401);
    const expired = signSession(SECRET, { p: portalId, m: 'member-ui-0001', u: 1, a: true, l: 'en' }, 60, Date.now() - 3_600_000);
    expect((await call('GET', '/meta', { session: expired })).status).toBe(401);
    const meta = await admin('GET', '/meta');
    expect(meta.status).toBe(200);
    expect((meta.json.segments as Array<{ code: string; name: string }>).find((s) => s.code === 'champions')?.name).toBe('Чемпіони');
    expect(meta.json.ufKeys).toContain('UF_CRM_TIER');
  });

  it('counts equal the SQL counts; bad filters are 400', async () => {
    const cases: Array<[unknown, string, unknown[]]> = [
      [{ all: [{ field: 'segment', values: ['champions', 'lost'] }] }, `l.segment IN ('champions','lost')`, []],
      [{ all: [{ field: 'range', key: 'monetary', min: 300, max: 900 }] }, 'l.monetary BETWEEN 300 AND 900', []],
      [{ all: [{ field: 'interests', mode: 'all', values: ['bikes', 'tents'] }] }, `l.interests @> ARRAY['bikes','tents']`, []],
      [{ all: [{ field: 'interests', mode: 'any', values: ['tents', 'bikes'] }] }, `l.interests && ARRAY['bikes','tents']`, []],
      [{ all: [{ field: 'city', op: 'in', values: ['berlin'] }, { field: 'reachable', value: true }] }, `c.city = 'Berlin' AND (c.has_email OR c.has_phone)`, []],
      [{ all: [{ field: 'uf', key: 'UF_CRM_TIER', op: 'eq', value: 'gold' }] }, `c.uf->>'UF_CRM_TIER' = 'gold'`, []],
      [{ all: [{ field: 'segment', values: ['loyal'] }], exclude: { all: [{ field: 'sleeping', value: true }] } }, `l.segment = 'loyal' AND NOT l.sleeping`, []],
      [{ all: [{ field: 'last_purchase', from: '2026-03-01', to: '2026-05-31' }, { field: 'responsible', values: [1, 2] }] }, `l.last_purchase BETWEEN '2026-03-01' AND '2026-05-31' AND c.assigned_by_id IN (1, 2)`, []],
    ];
    for (const [filter, where, params] of cases) {
      const r = await admin('POST', '/segments/count', { filter });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json.count, where).toBe(await sql(where, params));
    }
    expect((await admin('POST', '/segments/count', { filter: { all: [{ field: 'range', key: 'id; drop', min: 1 }] } })).status).toBe(400);
    expect((await admin('POST', '/segments/count', { filter: { all: [{ field: 'saved', id: 'missing' }] } })).status).toBe(400);
  });

  it('saved segments: admin saves, exclusion A minus B works, non-admin cannot save', async () => {
    const vip = { id: 'vip', name: 'VIP', priority: 5, filter: { all: [{ field: 'segment', values: ['champions'] }] } };
    expect((await mgr('PUT', '/saved', vip)).status).toBe(403);
    expect((await admin('PUT', '/saved', vip)).status).toBe(200);
    const r = await admin('POST', '/segments/count', { filter: { all: [{ field: 'segment', values: ['champions', 'loyal'] }], exclude: { all: [{ field: 'saved', id: 'vip' }] } } });
    expect(r.json.count).toBe(await sql(`l.segment = 'loyal'`));
    // overlap: each contact gets its highest-priority saved segment
    const saved = [
      { id: 'vip', priority: 5, filter: { all: [{ field: 'segment' as const, values: ['champions' as const] }] } },
      { id: 'berlin', priority: 9, filter: { all: [{ field: 'city' as const, op: 'in' as const, values: ['Berlin'] }] } },
    ];
    const got = new Map<number, string>();
    for await (const rows of savedSegmentAssignments(getDb(), portalId, saved, 17)) for (const x of rows) got.set(x.contactId, x.savedId);
    expect([...got.values()].filter((v) => v === 'berlin').length).toBe(await sql(`c.city = 'Berlin'`));
    expect([...got.values()].filter((v) => v === 'vip').length).toBe(await sql(`l.segment = 'champions' AND c.city <> 'Berlin'`));
  });

  it('lists are sorted, paginated and, for a manager, filtered by the portal with the user\'s own token', async () => {
    const body = { filter: { all: [] }, sort: 'monetary', dir: 'desc', page: 1, pageSize: 10 };
    const a = await admin('POST', '/segments/list', body);
    const rows = a.json.rows as Array<{ id: number; monetary: number }>;
    expect(rows.map((x) => x.monetary)).toEqual([...rows.map((x) => x.monetary)].sort((x, y) => y - x));
    expect(rows[0]!.id).toBe(N);
    const p2 = await admin('POST', '/segments/list', { ...body, page: 2 });
    expect((p2.json.rows as Array<{ id: number }>)[0]!.id).toBe(N - 10);
    // the manager's pages are pages of the contacts they see (even ids): full, in order, no hidden count
    const m = await mgr('POST', '/segments/list', body);
    const mrows = m.json.rows as Array<{ id: number }>;
    expect(mrows.map((x) => x.id)).toEqual([120, 118, 116, 114, 112, 110, 108, 106, 104, 102]);
    expect(m.json.hiddenOnPage).toBe(0);
    const m2 = await mgr('POST', '/segments/list', { ...body, page: 2 });
    expect((m2.json.rows as Array<{ id: number }>)[0]!.id).toBe(100);
    expect(fp.calls).toContain('crm.contact.list');
    expect(fp.calls).toContain('batch');
    // without its own token, or with another user's token: refused
    expect((await call('POST', '/segments/list', { session: mgrSession, body })).status).toBe(401);
    expect((await call('POST', '/segments/list', { session: mgrSession, token: 'mgr-token-00003', body })).status).toBe(401);
    // the contact tab: a hidden contact is 403 for the manager, fine for the admin
    expect((await mgr('GET', '/contacts/3')).status).toBe(403);
    const c = await mgr('GET', '/contacts/4');
    expect(c.status).toBe(200);
    expect((c.json.label as { segment: string }).segment).toBe(SEGS[3]);
    expect((c.json.history as unknown[]).length).toBe(2);
    expect((await admin('GET', '/contacts/3')).status).toBe(200);
  });

  it(`non-admins see exact numbers of the contacts they see, and no portal-wide group smaller than ${MIN_GROUP}`, async () => {
    const small = { filter: { all: [{ field: 'uf', key: 'UF_CRM_TIER', op: 'eq', value: 'gold' }, { field: 'segment', values: ['lost'] }] } };
    expect(await sql(`c.uf->>'UF_CRM_TIER' = 'gold' AND l.segment = 'lost'`)).toBeLessThan(MIN_GROUP);
    // the manager sees the even half: the small group's visible part, exactly
    const mine = await sql(`c.uf->>'UF_CRM_TIER' = 'gold' AND l.segment = 'lost' AND l.contact_id % 2 = 0`);
    expect((await mgr('POST', '/segments/count', small)).json.count).toBe(mine);
    expect((await mgr('POST', '/segments/quality', small)).json).toMatchObject({ size: mine });
    expect(typeof (await admin('POST', '/segments/count', small)).json.count).toBe('number');
    // a manager's count covers the contacts they see (the even half)
    const big = await mgr('POST', '/segments/count', { filter: { all: [] } });
    expect(big.json.count).toBe(N / 2);
    expect(big.json.share).toBe(1);
    expect(big.json.revenue).toBeNull();
    const d = await mgr('GET', '/dashboard');
    expect(d.status).toBe(200);
    for (const h of d.json.heatmap as Array<{ count: number | null }>) expect(h.count === null || h.count >= MIN_GROUP).toBe(true);
    const da = await admin('GET', '/dashboard');
    expect((da.json.movement as unknown[]).length).toBeGreaterThan(0);
    expect((da.json.segments as Array<{ count: number }>).reduce((s, x) => s + x.count, 0)).toBe(N);
  });

  it('CSV export: rows = count (admin), only visible rows (manager), formulas neutralised', async () => {
    const filter = { all: [{ field: 'segment', values: ['champions', 'at_risk'] }] };
    const n = (await admin('POST', '/segments/count', { filter })).json.count as number;
    const a = await admin('POST', '/segments/export', { filter });
    expect(a.headers.get('content-type')).toContain('text/csv');
    const lines = a.text.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean);
    expect(lines.length - 1).toBe(n);
    // the sessions are in Ukrainian: cells separated by ';'
    const m = await mgr('POST', '/segments/export', { filter });
    const mlines = m.text.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean).slice(1);
    expect(mlines.every((l) => Number(l.split(';')[0]) % 2 === 0)).toBe(true);
    expect(mlines.length).toBe(await sql(`l.segment IN ('champions','at_risk') AND l.contact_id % 2 = 0`));
  });

  it('settings: admin only, validated with the scoring schema, preview diffs the draft with the current labels', async () => {
    expect((await mgr('GET', '/settings')).status).toBe(403);
    expect((await mgr('PUT', '/settings', { settings: {} })).status).toBe(403);
    expect((await mgr('POST', '/settings/preview', { scoring: {} })).status).toBe(403);
    expect((await mgr('POST', '/sync/run')).status).toBe(403);
    const g = await admin('GET', '/settings');
    expect(g.json.settings).toMatchObject({ scoring: { rfm: { scale: 5, mode: 'quantile' } }, b2b: false });
    const bad = await admin('PUT', '/settings', { settings: { scoring: { rfm: { mode: 'fixed', fixed: { scale5: { recency: [1, 2, 3, 4], frequency: [1, 2, 4, 8], monetary: [1, 2, 3, 4] } } } } } });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/descending/);
    const ok = await admin('PUT', '/settings', { settings: { scoring: { sleeping: { oneTimeDays: 90 } }, b2b: true, schedule: { mode: 'hourly' } } });
    expect(ok.status).toBe(200);
    expect((await admin('GET', '/settings')).json.settings).toMatchObject({ scoring: { sleeping: { oneTimeDays: 90 } }, b2b: true, schedule: { mode: 'hourly' } });
    const pv = await admin('POST', '/settings/preview', { scoring: { rfm: { mode: 'fixed' } } });
    expect(pv.status).toBe(200);
    expect(pv.json.scored).toBe(N);
    const moves = pv.json.moves as Array<{ count: number }>;
    expect(moves.reduce((s, x) => s + x.count, 0)).toBe(pv.json.changed);
    expect((await admin('POST', '/sync/run')).status).toBe(501);
  });
});
