/**
 * The UI API's contacts/companies switch (B2B) against the real emulator (B2B profile, real CRM
 * permissions: managers read their own companies) and a store filled from it and scored:
 *  - entity=company counts, pages and the dashboard cover the companies, with numbers recomputed
 *    here from the emulator's raw deals (revenue of a company = its won deals by COMPANY_ID);
 *  - the company card: its labels and exactly its contacts;
 *  - a manager sees only the companies the portal lets them read (ASSIGNED_BY_ID), 403 on others;
 *  - attacker input: entity=foo / nested / repeated → 400 JSON; a foreign portal's company → 404;
 *    oversize or malformed ids → 400; companies before a B2B run → 409 NO_COMPANIES.
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
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { issueTokens } from '../../src/emulator/tokens.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { runScoring } from '../../src/pipeline/score.js';
import { createTokenCipher, generateTokenKey, parseTokenKey, setTokenCipher, upsertCompanies, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { PortalUserVerifier } from '../../src/server/ui-api/portal-user.js';
import { clientForPortal } from '../../src/portal-clients.js';
import { createUiRouter, type UiContext } from '../../src/server/ui-api/serve.js';
import { signSession } from '../../src/server/ui-api/session.js';

const SECRET = 'b2b-test-session-secret-0123456789abcdef';
const CLIENT = 'local.b2bui.0001';
const ALL = { all: [] };

eachDb('ui api: contacts / companies switch (B2B)', (getDb) => {
  let emu: RunningEmulator;
  let server: Server;
  let base: string;
  let portalId: number;
  const FOREIGN = 990_001;
  const tokens = new Map<number, string>();
  const sessions = new Map<number, string>();

  const emuAdmin = (p: string, body: unknown) =>
    fetch(`${emu.url}_emulator/${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const call = async (user: number, method: string, p: string, body?: unknown) => {
    const r = await fetch(`${base}/api/ui${p}`, {
      method,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sessions.get(user)}`, 'X-B24-Auth': tokens.get(user)! },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  /** Revenue per company in the base currency from the emulator's raw won deals (cent-rounded per deal, as stored). */
  const revenueByCompany = (): Map<number, number> => {
    const p = emu.portal;
    const rate = new Map(p.currencies.map((c) => [c.currency, c.amount / (c.amountCnt || 1)]));
    const out = new Map<number, number>();
    for (const d of p.deals.values()) {
      if (!d.companyId || stageSemantic(p, d.stageId) !== 'S') continue;
      out.set(d.companyId, (out.get(d.companyId) ?? 0) + Math.round(d.opportunity * (rate.get(d.currencyId) ?? 1) * 100) / 100);
    }
    return out;
  };

  beforeAll(async () => {
    setTokenCipher(createTokenCipher(parseTokenKey(generateTokenKey())));
    const portal = new EmuPortal({ language: 'en' });
    generatePortal(portal, { contacts: 400, seed: 17, profile: 'b2b' });
    emu = await startEmulator({ portal, port: 0, hostPage: false, log: () => {} });
    expect((await emuAdmin('apps/install', { clientId: CLIENT, clientSecret: 's', appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user_brief'], mode: 'wizard' })).status).toBe(201);
    expect((await emuAdmin(`apps/${CLIENT}/install-finish`, {})).status).toBe(200);
    const db: Db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: portal.memberId, domain: new URL(emu.url).host, clientEndpoint: `${emu.url}rest/`, applicationToken: 'x', status: 'active' })).id;
    await mirrorEmulatorPortal(portal, db, portalId);
    const cs = [...portal.contacts.values()];
    await db.query(
      `UPDATE contacts c SET company_id = u.co, assigned_by_id = u.resp FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS u(id, co, resp)
        WHERE c.portal_id = $1 AND c.id = u.id`,
      [portalId, cs.map((c) => c.id), cs.map((c) => c.companyId), cs.map((c) => c.assignedById)],
    );
    // another portal in the same store with a company id this portal does not have
    const other = await upsertPortalOnInstall(db, { memberId: 'foreign-b2b', domain: 'foreign.bitrix24.com', applicationToken: 'y', status: 'active' });
    await upsertCompanies(db, other.id, [{ id: FOREIGN, title: 'Foreign Ltd', assignedById: 1 }]);
    for (const u of [1, 3]) {
      tokens.set(u, issueTokens(portal, CLIENT, u).accessToken);
      sessions.set(u, signSession(SECRET, { p: portalId, m: portal.memberId, u, a: u === 1, l: 'en' }));
    }
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

  it('before a B2B run: companies answer 409 NO_COMPANIES, contacts work', async () => {
    await runScoring(getDb(), portalId, new Date(emu.portal.clock.now()), { b2b: false });
    const c = await call(1, 'POST', '/segments/count', { filter: ALL, entity: 'company' });
    expect([c.status, c.json.error]).toEqual([409, 'NO_COMPANIES']);
    expect((await call(1, 'GET', '/dashboard?entity=company')).status).toBe(409);
    expect((await call(1, 'POST', '/segments/count', { filter: ALL })).status).toBe(200);
    expect(((await call(1, 'GET', '/meta')).json.b2b as { companiesScored: boolean }).companiesScored).toBe(false);
    await runScoring(getDb(), portalId, new Date(emu.portal.clock.now()), { b2b: true });
    expect(((await call(1, 'GET', '/meta')).json.b2b as { companiesScored: boolean }).companiesScored).toBe(true);
  });

  it('admin: count, page and dashboard of companies match the raw deals', async () => {
    const rev = revenueByCompany();
    const n = emu.portal.companies.size;
    const total = [...rev.values()].reduce((s, x) => s + x, 0);
    const c = await call(1, 'POST', '/segments/count', { filter: ALL, entity: 'company' });
    expect(c.status).toBe(200);
    expect(c.json.count).toBe(n);
    expect(c.json.revenue as number).toBeCloseTo(total, 1);
    const buyers = await call(1, 'POST', '/segments/count', { filter: { all: [{ field: 'range', key: 'frequency', min: 1 }] }, entity: 'company' });
    expect(buyers.json.count).toBe(rev.size);
    // the page: companies by revenue (desc, then id desc), named by their titles
    const want = [...emu.portal.companies.keys()].map((id) => ({ id, m: rev.get(id) ?? null }))
      .sort((a, b) => (a.m === b.m ? b.id - a.id : a.m === null ? 1 : b.m === null ? -1 : b.m - a.m)).slice(0, 25);
    const page = await call(1, 'POST', '/segments/list', { filter: ALL, entity: 'company', sort: 'monetary', dir: 'desc', pageSize: 25 });
    expect(page.status).toBe(200);
    const rows = page.json.rows as Array<{ id: number; name: string; monetary: number | null }>;
    expect(rows.map((r) => Number(r.id))).toEqual(want.map((w) => w.id));
    for (const r of rows) expect(r.name).toBe(emu.portal.companies.get(Number(r.id))!.title);
    // a name search finds a company by its title
    const one = emu.portal.companies.get(want[0]!.id)!;
    const found = await call(1, 'POST', '/segments/list', { filter: { all: [{ field: 'search', text: one.title }] }, entity: 'company' });
    expect((found.json.rows as Array<{ id: number }>).map((r) => Number(r.id))).toContain(one.id);
    const d = await call(1, 'GET', '/dashboard?entity=company');
    expect(d.status).toBe(200);
    expect((d.json.totals as { count: number }).count).toBe(n);
    expect((d.json.segments as Array<{ count: number }>).reduce((s, x) => s + x.count, 0)).toBe(n);
    // the CSV of the companies: one line per company, by its title
    const csv = await fetch(`${base}/api/ui/segments/export`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sessions.get(1)}`, 'X-B24-Auth': tokens.get(1)! },
      body: JSON.stringify({ filter: ALL, entity: 'company', columns: ['name', 'segment'] }),
    });
    expect(csv.status).toBe(200);
    const lines = (await csv.text()).replace(/^\uFEFF/, '').split('\r\n').filter(Boolean).slice(1);
    expect(lines).toHaveLength(n);
    const ids = lines.map((l) => Number(l.split(',')[0])).sort((a, b) => a - b);
    expect(ids).toEqual([...emu.portal.companies.keys()].sort((a, b) => a - b));
    expect(lines.join('\n')).toContain(emu.portal.companies.get(ids[0]!)!.title);
    // contacts are unchanged by the switch: the contact count is the contacts'
    expect((await call(1, 'POST', '/segments/count', { filter: ALL, entity: 'contact' })).json.count).toBe(emu.portal.contacts.size);
  });

  it('the company card: its labels and exactly its contacts', async () => {
    const rev = revenueByCompany();
    const id = [...rev.keys()][0]!;
    const r = await call(1, 'GET', `/companies/${id}`);
    expect(r.status).toBe(200);
    expect((r.json.company as { title: string }).title).toBe(emu.portal.companies.get(id)!.title);
    expect((r.json.label as { monetary: number }).monetary).toBeCloseTo(rev.get(id)!, 1);
    const mine = [...emu.portal.contacts.values()].filter((c) => c.companyId === id).map((c) => c.id).sort((a, b) => a - b);
    expect((r.json.contacts as Array<{ id: number }>).map((c) => c.id)).toEqual(mine);
    expect(mine.length).toBeGreaterThan(0);
  });

  it('a manager sees only the companies the portal lets them read (own, by ASSIGNED_BY_ID)', async () => {
    const own = new Set([...emu.portal.companies.values()].filter((c) => c.assignedById === 3).map((c) => c.id));
    expect(own.size).toBeGreaterThan(0);
    const page = await call(3, 'POST', '/segments/list', { filter: ALL, entity: 'company', pageSize: 200 });
    expect(page.status).toBe(200);
    expect(new Set((page.json.rows as Array<{ id: number }>).map((r) => Number(r.id)))).toEqual(own);
    const c = await call(3, 'POST', '/segments/count', { filter: ALL, entity: 'company' });
    expect([c.json.count, c.json.scope]).toEqual([own.size, 'visible']);
    const other = [...emu.portal.companies.values()].find((x) => x.assignedById !== 3)!;
    const denied = await call(3, 'GET', `/companies/${other.id}`);
    expect([denied.status, denied.json.error]).toEqual([403, 'ACCESS_DENIED']);
    const mineId = [...own][0]!;
    const card = await call(3, 'GET', `/companies/${mineId}`);
    expect(card.status).toBe(200);
    // of its contacts only those the manager may read (own contacts)
    for (const p of card.json.contacts as Array<{ id: number }>) expect(emu.portal.contacts.get(p.id)!.assignedById).toBe(3);
  });

  it('attacker input: bad, nested and repeated entity → 400; foreign and malformed ids → 404 / 400', async () => {
    for (const entity of ['foo', { $ne: 'x' }, ['company'], 'COMPANY', '']) {
      const r = await call(1, 'POST', '/segments/count', { filter: ALL, entity });
      expect([r.status, r.json.error]).toEqual([400, 'BAD_REQUEST']);
    }
    expect((await call(1, 'POST', '/segments/list', { filter: ALL, entity: 'foo' })).status).toBe(400);
    expect((await call(1, 'POST', '/segments/quality', { filter: ALL, entity: 'lead' })).status).toBe(400);
    for (const q of ['entity=foo', 'entity=company&entity=contact', 'entity=%00company', `entity=${'c'.repeat(5000)}`]) {
      const r = await call(1, 'GET', `/dashboard?${q}`);
      expect([q.slice(0, 40), r.status, r.json.error]).toEqual([q.slice(0, 40), 400, 'BAD_REQUEST']);
    }
    // a bracketed name is another parameter (the query parser keeps it flat): the contacts' dashboard
    const flat = await call(1, 'GET', '/dashboard?entity[a]=company');
    expect([flat.status, (flat.json.totals as { count: number }).count]).toEqual([200, emu.portal.contacts.size]);
    const foreign = await call(1, 'GET', `/companies/${FOREIGN}`);
    expect([foreign.status, foreign.json.error]).toEqual([404, 'NOT_FOUND']);
    expect(JSON.stringify(foreign.json)).not.toContain('Foreign Ltd');
    for (const id of ['0', '-1', '1e3', '99999999999999999999', 'abc']) {
      expect([id, (await call(1, 'GET', `/companies/${id}`)).status]).toEqual([id, 400]);
    }
  });
});
