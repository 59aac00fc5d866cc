/**
 * The UI API against the real emulator with real Bitrix24-style CRM permissions (the emulator's
 * roles: admin all, head of sales department + subdepartments, managers own records): each
 * user's pages, numbers, CSV and contact tab cover exactly what the portal lets that user see,
 * asked with the user's own token; pages are pages of visible rows; small groups are withheld
 * from non-admins. Store filled from the emulator (mirror + the sync's contact columns), scored.
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

const SECRET = 'perm-test-session-secret-0123456789abcdef';
const CLIENT = 'local.permui.0001';

eachDb('ui api with emulator CRM permissions', (getDb) => {
  let emu: RunningEmulator;
  let server: Server;
  let base: string;
  let portalId: number;
  let runId: number;
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
    const text = await r.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      /* csv */
    }
    return { status: r.status, json, text };
  };
  /** Contact ids of the run in the list's order (monetary desc, id desc), optionally only some. */
  const sortedIds = async (where = 'TRUE', params: unknown[] = []): Promise<number[]> => {
    const { rows } = await getDb().query<{ id: number }>(
      `SELECT l.contact_id AS id FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        WHERE l.portal_id = $1 AND l.run_id = $2 AND ${where} ORDER BY l.monetary DESC NULLS LAST, l.contact_id DESC`,
      [portalId, runId, ...params],
    );
    return rows.map((r) => Number(r.id));
  };
  const assignee = (id: number): number => emu.portal.contacts.get(id)!.assignedById;
  const csvIds = (text: string): number[] => text.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean).slice(1).map((l) => Number(l.split(',')[0]));

  beforeAll(async () => {
    setTokenCipher(createTokenCipher(parseTokenKey(generateTokenKey())));
    const portal = new EmuPortal({ language: 'en' });
    generatePortal(portal, { contacts: 400, seed: 11 });
    emu = await startEmulator({ portal, port: 0, hostPage: false, log: () => {} });
    const ins = await emuAdmin('apps/install', { clientId: CLIENT, clientSecret: 's', appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user_brief'], mode: 'wizard' });
    expect(ins.status).toBe(201);
    expect((await emuAdmin(`apps/${CLIENT}/install-finish`, {})).status).toBe(200);
    const db: Db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: portal.memberId, domain: new URL(emu.url).host, clientEndpoint: `${emu.url}rest/`, applicationToken: 'x', status: 'active' })).id;
    await mirrorEmulatorPortal(portal, db, portalId);
    // the mirror copies ids, names and UF only; add the contact columns the sync stores
    const cs = [...portal.contacts.values()];
    await db.query(
      `UPDATE contacts c SET city = u.city, assigned_by_id = u.resp, has_email = u.em, has_phone = u.ph
         FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::boolean[], $6::boolean[]) AS u(id, city, resp, em, ph)
        WHERE c.portal_id = $1 AND c.id = u.id`,
      [portalId, cs.map((c) => c.id), cs.map((c) => c.addressCity), cs.map((c) => c.assignedById),
        cs.map((c) => c.fm.some((m) => m.typeId === 'EMAIL')), cs.map((c) => c.fm.some((m) => m.typeId === 'PHONE'))],
    );
    await runScoring(db, portalId, new Date(portal.clock.now()));
    runId = (await latestScoreRun(db, portalId))!.id;
    for (const u of [1, 2, 3, 4, 5]) {
      tokens.set(u, issueTokens(portal, CLIENT, u).accessToken);
      sessions.set(u, signSession(SECRET, { p: portalId, m: portal.memberId, u, a: u === 1, l: 'en' }));
    }
    const dist = mkdtempSync(path.join(os.tmpdir(), 'ui-dist-'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><html><body></body></html>');
    // verdicts are cached per token for a minute (as in production): a role change shows with the next token
    // users' tokens go to the emulator through the portal's shared client (its limiter)
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

  const all = { filter: { all: [] } };
  const listBody = (page: number, pageSize = 25) => ({ ...all, sort: 'monetary', dir: 'desc', page, pageSize });

  it('the admin sees every contact: pages, count, CSV', async () => {
    const want = await sortedIds();
    expect(want.length).toBe(400);
    const p1 = await call(1, 'POST', '/segments/list', listBody(1));
    expect((p1.json.rows as Array<{ id: number }>).map((r) => r.id)).toEqual(want.slice(0, 25));
    expect((await call(1, 'POST', '/segments/count', all)).json.count).toBe(400);
    expect(csvIds((await call(1, 'POST', '/segments/export', all)).text).sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b));
  });

  it('a manager (own records) pages through exactly their contacts, in order, full pages, nothing about the others', async () => {
    const want = (await sortedIds()).filter((id) => assignee(id) === 3);
    expect(want.length).toBeGreaterThan(40);
    expect(want.length).toBeLessThan(200);
    const p1 = await call(3, 'POST', '/segments/list', listBody(1));
    const p2 = await call(3, 'POST', '/segments/list', listBody(2));
    expect(p1.status).toBe(200);
    const r1 = (p1.json.rows as Array<{ id: number; assignedById: number }>);
    const r2 = (p2.json.rows as Array<{ id: number }>);
    // page rows = the visible rows in list order, without gaps; full pages; no hidden count
    expect(r1.map((r) => r.id)).toEqual(want.slice(0, 25));
    expect(r2.map((r) => r.id)).toEqual(want.slice(25, 50));
    expect(r1.every((r) => r.assignedById === 3)).toBe(true);
    expect(p1.json.hiddenOnPage).toBe(0);
    expect(p1.json.more).toBe(true);
    const last = Math.ceil(want.length / 25);
    const pl = await call(3, 'POST', '/segments/list', listBody(last));
    expect((pl.json.rows as unknown[]).length).toBe(want.length - (last - 1) * 25);
    expect(pl.json.more).toBe(false);
    expect(((await call(3, 'POST', '/segments/list', listBody(last + 1))).json.rows as unknown[]).length).toBe(0);
    // the count is the count of what the manager sees; pages follow from it
    const c = await call(3, 'POST', '/segments/count', all);
    expect(c.json).toMatchObject({ count: want.length, total: want.length, revenue: null, share: 1, scope: 'visible' });
    // CSV: exactly the visible contacts
    expect(csvIds((await call(3, 'POST', '/segments/export', all)).text).sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b));
  });

  it('the contact tab: another manager\'s contact is 403, one\'s own is 200; the admin opens both', async () => {
    const ids = await sortedIds();
    const own = ids.find((id) => assignee(id) === 3)!;
    const others = ids.find((id) => assignee(id) === 4)!;
    expect((await call(3, 'GET', `/contacts/${others}`)).status).toBe(403);
    expect((await call(3, 'GET', `/contacts/${others}`)).json.error).toBe('ACCESS_DENIED');
    const mine = await call(3, 'GET', `/contacts/${own}`);
    expect(mine.status).toBe(200);
    expect(((mine.json.label as { segment: string | null }) ?? {}).segment).not.toBeUndefined();
    expect((await call(1, 'GET', `/contacts/${others}`)).status).toBe(200);
    expect((await call(1, 'GET', `/contacts/${own}`)).status).toBe(200);
  });

  it('the head of sales (department + subdepartments) sees every sales contact but not the owner\'s', async () => {
    const ids = await sortedIds();
    const want = ids.filter((id) => assignee(id) !== 1);
    expect(want.length).toBeLessThan(ids.length);
    const c = await call(2, 'POST', '/segments/count', all);
    expect(c.json.count).toBe(want.length);
    const p1 = await call(2, 'POST', '/segments/list', listBody(1, 50));
    expect((p1.json.rows as Array<{ id: number }>).map((r) => r.id)).toEqual(want.slice(0, 50));
    const ownerContact = ids.find((id) => assignee(id) === 1)!;
    expect((await call(2, 'GET', `/contacts/${ownerContact}`)).status).toBe(403);
  });

  it(`numbers for non-admins cover only their contacts, exactly; portal-wide groups under ${MIN_GROUP} are withheld`, async () => {
    const mine = new Set((await sortedIds()).filter((id) => assignee(id) === 3));
    // a segment code in which the manager holds fewer than MIN_GROUP contacts but the portal more
    const { rows } = await getDb().query<{ segment: string; ids: number[] }>(
      `SELECT segment, array_agg(contact_id::int) AS ids FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND segment IS NOT NULL GROUP BY segment`,
      [portalId, runId],
    );
    const small = rows.find((r) => r.ids.length >= MIN_GROUP && r.ids.filter((id) => mine.has(id)).length < MIN_GROUP);
    const big = rows.find((r) => r.ids.filter((id) => mine.has(id)).length >= MIN_GROUP && r.ids.length > r.ids.filter((id) => mine.has(id)).length);
    expect(small, 'a segment small for manager 3').toBeDefined();
    const sf = { filter: { all: [{ field: 'segment', values: [small!.segment] }] } };
    // every contact counted is the manager's own: the number is exact however small
    const few = small!.ids.filter((id) => mine.has(id)).length;
    expect((await call(3, 'POST', '/segments/count', sf)).json.count).toBe(few);
    expect((await call(3, 'POST', '/segments/quality', sf)).json).toMatchObject({ size: few });
    expect((await call(1, 'POST', '/segments/count', sf)).json.count).toBe(small!.ids.length);
    expect(big, 'a segment with at least MIN_GROUP of manager 3').toBeDefined();
    {
      const bf = { filter: { all: [{ field: 'segment', values: [big!.segment] }] } };
      const n = big!.ids.filter((id) => mine.has(id)).length;
      const cnt = await call(3, 'POST', '/segments/count', bf);
      expect(cnt.json.count).toBe(n);
      expect((await call(1, 'POST', '/segments/count', bf)).json.count).toBe(big!.ids.length); // the portal-wide number differs
      expect(cnt.json.share).toBeCloseTo(n / mine.size, 10);
      const q = await call(3, 'POST', '/segments/quality', bf);
      expect(q.json).toMatchObject({ size: n, revenue: null, openDeals: null });
    }
    // dashboard cells for a manager: none under MIN_GROUP
    const d = await call(3, 'GET', '/dashboard');
    expect(d.status).toBe(200);
    for (const h of d.json.heatmap as Array<{ count: number | null }>) expect(h.count === null || h.count >= MIN_GROUP).toBe(true);
    // pick lists: cities held by at least MIN_GROUP contacts portal-wide, and the cities of the manager's own contacts
    const { rows: cities } = await getDb().query<{ v: string; n: number; mine: boolean }>(
      `SELECT city AS v, count(*)::int AS n, bool_or(assigned_by_id = 3) AS mine FROM contacts WHERE portal_id = $1 AND city IS NOT NULL AND city <> '' GROUP BY 1`, [portalId]);
    const mm = (await call(3, 'GET', '/meta')).json.cities as string[];
    expect(new Set(mm)).toEqual(new Set(cities.filter((c) => c.n >= MIN_GROUP || c.mine).map((c) => c.v)));
    expect(((await call(1, 'GET', '/meta')).json.cities as string[]).length).toBe(Math.min(200, cities.length));
  });

  it('role changes on the portal apply (with the user\'s next token): no access → nothing; all → everything', async () => {
    expect((await emuAdmin('users/5/crm-perms', { level: 'none' })).status).toBe(200);
    tokens.set(5, issueTokens(emu.portal, CLIENT, 5).accessToken);
    const none = await call(5, 'POST', '/segments/list', listBody(1));
    expect(none.status).toBe(200);
    expect(none.json.rows).toEqual([]);
    expect((await call(5, 'POST', '/segments/count', all)).json.count).toBe(0);
    expect(csvIds((await call(5, 'POST', '/segments/export', all)).text)).toEqual([]);
    const someone = (await sortedIds())[0]!;
    expect((await call(5, 'GET', `/contacts/${someone}`)).status).toBe(403);
    expect((await emuAdmin('users/5/crm-perms', { level: 'X' })).status).toBe(200);
    tokens.set(5, issueTokens(emu.portal, CLIENT, 5).accessToken);
    expect((await call(5, 'POST', '/segments/count', all)).json.count).toBe(400);
    expect(((await call(5, 'POST', '/segments/list', listBody(1))).json.rows as Array<{ id: number }>).map((r) => r.id)).toEqual((await sortedIds()).slice(0, 25));
  });
});
