/**
 * The customer filters through the UI API (issue 14 item 7), on PGlite and PostgreSQL, against an
 * emulated portal the app synced: GET /meta lists the portal's contact fields with their kinds and
 * items (read with the user's token), a count on any field equals the emulator's own number, and
 * attacker input is refused with a 4xx JSON reason: an unknown field (also one only another portal
 * has), an injection-like name, an operator the field's type has not, oversize lists and values,
 * repeated and nested conditions.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { issueTokens } from '../../src/emulator/tokens.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runSync } from '../../src/sync/index.js';
import { createTokenCipher, generateTokenKey, parseTokenKey, setTokenCipher, updatePortalSettings, upsertPortalOnInstall } from '../../src/store/index.js';
import { PortalUserVerifier } from '../../src/server/ui-api/portal-user.js';
import { clientForPortal } from '../../src/portal-clients.js';
import { createUiRouter, type UiContext } from '../../src/server/ui-api/serve.js';
import { signSession } from '../../src/server/ui-api/session.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';
import { makeClient } from './helpers/sync-env.js';

/** The fixtures' batches set fixed field values: safe to repeat, so a connection reset is retried as the write-back's are. */
const SET_FIELDS = { halt: true, idempotent: true } as const;

const SECRET = 'customer-fields-session-secret-0123456789';
const TS = 200;

eachDb('customer filters through the UI API', (getDb) => {
  let tp: TestPortal;
  let server: Server;
  let base: string;
  let portalId: number;
  let otherPortalId: number;
  let userToken: string;
  const tier = new Map<string, number>();

  const call = async (p: string, body: unknown, o: { portal?: number; token?: boolean; method?: string } = {}) => {
    const pid = o.portal ?? portalId;
    const session = signSession(SECRET, { p: pid, m: pid === portalId ? tp.emu.portal.memberId : 'other-member', u: 1, a: true, l: 'en' });
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Authorization: `Bearer ${session}` };
    if (o.token !== false) headers['X-B24-Auth'] = userToken;
    const r = await fetch(`${base}/api/ui${p}`, { method: o.method ?? 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as Record<string, any> };
  };
  const count = (filter: unknown, o: { portal?: number; token?: boolean } = {}) => call('/segments/count', { filter }, o);

  beforeAll(async () => {
    setTokenCipher(createTokenCipher(parseTokenKey(generateTokenKey())));
    tp = await startTestPortal({ contacts: 150, deals: 500, seed: 31, timeScale: TS });
    const client = makeClient(tp.tokens, TS);
    await client.call('crm.contact.userfield.add', { fields: { FIELD_NAME: 'TIER', USER_TYPE_ID: 'enumeration', LIST: [{ VALUE: 'Gold' }, { VALUE: 'Silver' }] } });
    await client.call('crm.contact.userfield.add', { fields: { FIELD_NAME: 'NOTE', USER_TYPE_ID: 'string' } });
    const p = tp.emu.portal;
    for (const i of [...p.userFields.values()].find((f) => f.fieldName === 'UF_CRM_TIER')!.list) tier.set(i.value, i.id);
    const ids = [...p.contacts.keys()];
    for (let i = 0; i < ids.length; i += 50) {
      await client.batch(Object.fromEntries(ids.slice(i, i + 50).map((id, k) => [`c${id}`, ['crm.contact.update', {
        id, fields: { UF_CRM_TIER: tier.get((i + k) % 3 ? 'Silver' : 'Gold'), UF_CRM_NOTE: (i + k) % 4 ? '' : 'call back' },
      }]])), SET_FIELDS);
    }
    p.clock.advance(3600 * 1000);
    const db = getDb();
    const emuHost = tp.emu.url;
    portalId = (await upsertPortalOnInstall(db, { memberId: p.memberId, domain: new URL(emuHost).host, clientEndpoint: `${emuHost}rest/`, applicationToken: 'x', status: 'active' })).id;
    otherPortalId = (await upsertPortalOnInstall(db, { memberId: 'other-member', domain: 'other.example.com', clientEndpoint: 'http://127.0.0.1:9/rest/', applicationToken: 'y', status: 'active' })).id;
    await runSync({ db, portalId, client }, { kind: 'full' });
    await runScoring(db, portalId, new Date(p.clock.now()));
    userToken = issueTokens(p, tp.clientId, 1).accessToken;
    const dist = mkdtempSync(path.join(os.tmpdir(), 'ui-dist-'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><html><body></body></html>');
    const clientFor = (id: number) => clientForPortal(db, id, { clientId: tp.clientId, clientSecret: tp.clientSecret });
    const ctx: UiContext = { db, config: { sessionSecret: SECRET, production: false, clientId: tp.clientId }, clientFor, verifier: new PortalUserVerifier([tp.clientId], clientFor), uiDist: dist };
    const app = express();
    app.use(createUiRouter(ctx));
    server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 180_000);
  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await tp?.emu.close();
  });

  it('GET /meta lists the portal\'s contact fields by title, kind and items, read with the user\'s token', async () => {
    const m = await call('/meta', undefined, { method: 'GET' });
    expect(m.status).toBe(200);
    const fields = m.json.fields as Array<{ key: string; title: string; kind: string; custom: boolean; items?: Array<{ id: string; name: string }> }>;
    const byKey = new Map(fields.map((f) => [f.key, f]));
    expect(byKey.get('UF_CRM_TIER')).toMatchObject({ kind: 'list', custom: true, items: [{ id: String(tier.get('Gold')), name: 'Gold' }, { id: String(tier.get('Silver')), name: 'Silver' }] });
    expect(byKey.get('UF_CRM_NOTE')).toMatchObject({ kind: 'text', custom: true });
    expect(byKey.get('COMMENTS')).toMatchObject({ kind: 'text', custom: false });
    expect(byKey.get('OPENED')).toMatchObject({ kind: 'bool' });
    // HONORIFIC's items are the portal's salutations by name
    const hon = tp.emu.portal.statuses.filter((s) => s.entityId === 'HONORIFIC').map((s) => ({ id: s.statusId, name: s.name }));
    expect(byKey.get('HONORIFIC')).toMatchObject({ kind: 'list', items: hon });
    // fields with a condition of their own, and multi-fields, are not offered twice
    for (const k of ['ID', 'POST', 'BIRTHDATE', 'ASSIGNED_BY_ID', 'PHONE', 'EMAIL']) expect(byKey.has(k), k).toBe(false);
    const industries = Object.fromEntries(tp.emu.portal.statuses.filter((s) => s.entityId === 'INDUSTRY').map((s) => [s.statusId, s.name]));
    expect(m.json.industries).toEqual(industries);
  });

  it('a count on any field equals the emulator\'s own number', async () => {
    const gold = tier.get('Gold')!;
    const want = [...tp.emu.portal.contacts.values()].filter((c) => Number(c.uf['UF_CRM_TIER']) === gold).length;
    const r = await count({ all: [{ field: 'crm', key: 'UF_CRM_TIER', op: 'in', values: [String(gold)] }] });
    expect(r.status).toBe(200);
    expect(r.json.count).toBe(want);
    const notes = [...tp.emu.portal.contacts.values()].filter((c) => c.uf['UF_CRM_NOTE'] === 'call back').length;
    expect((await count({ all: [{ field: 'crm', key: 'UF_CRM_NOTE', op: 'contains', value: 'CALL' }] })).json.count).toBe(notes);
    // without the user's token (the portal's fields unknown) the store's keys decide
    expect((await count({ all: [{ field: 'crm', key: 'UF_CRM_NOTE', op: 'not_empty' }] }, { token: false })).json.count).toBe(notes);
  });

  it('a company condition alone, in a saved segment and as its exclusion: 200 with the emulator\'s own numbers (summed per company, migration 030); repeated, oversize, a missing saved segment, another portal', async () => {
    const p = tp.emu.portal;
    const industryOf = (c: { companyId: number | null }) => (c.companyId === null ? null : p.companies.get(c.companyId)?.industry || null);
    const byIndustry = new Map<string, number>();
    for (const c of p.contacts.values()) {
      const i = industryOf(c);
      if (i) byIndustry.set(i, (byIndustry.get(i) ?? 0) + 1);
    }
    const [ind, want] = [...byIndustry].sort((a, b) => b[1] - a[1])[0]!;
    expect(want).toBeGreaterThan(0);
    await updatePortalSettings(getDb(), portalId, { savedSegments: [{ id: 'co-ind', name: 'One industry', filter: { all: [{ field: 'company_industry', values: [ind] }] }, priority: 1 }] });
    const everyone = (await count({ all: [] })).json.count as number;
    expect(everyone).toBe(p.contacts.size);
    for (const [filter, n] of [
      [{ all: [{ field: 'company_industry', values: [ind] }] }, want],
      [{ all: [{ field: 'saved', id: 'co-ind' }] }, want],
      [{ all: [], exclude: { all: [{ field: 'saved', id: 'co-ind' }] } }, everyone - want],
      [{ all: [{ field: 'company_industry', op: 'not_in', values: [ind] }] }, everyone - want],
    ] as const) {
      const r = await count(filter);
      expect([r.status, r.json.count], JSON.stringify(filter)).toEqual([200, n]);
    }
    // repeated, a missing saved segment, too many conditions, and another portal's session
    const one = { field: 'company_industry', values: [ind] };
    const rep = await count({ all: Array.from({ length: 20 }, () => one) });
    expect([rep.status, rep.json.count]).toEqual([200, want]);
    const missing = await count({ all: [one], exclude: { all: [{ field: 'saved', id: 'nope' }] } });
    expect([missing.status, missing.json.error ?? missing.json.code]).toEqual([400, 'BAD_FILTER']);
    const many = await count({ all: Array.from({ length: 41 }, () => one) });
    expect(many.status).toBe(400);
    // the other portal has no run of its own: this portal's counts never answer for it
    const foreign = await count({ all: [one] }, { portal: otherPortalId, token: false });
    expect([foreign.status, foreign.json.error]).toEqual([409, 'NOT_SCORED']);
  });

  it('attacker input: unknown, foreign and injection-like fields, wrong operators, oversize, repeated and nested input are 4xx JSON', async () => {
    const cases: Array<[unknown, number, string, { portal?: number; token?: boolean }?]> = [
      [{ all: [{ field: 'crm', key: 'UF_CRM_NOPE', op: 'not_empty' }] }, 400, 'UNKNOWN_FIELD'],
      [{ all: [{ field: 'crm', key: 'FOO_BAR', op: 'not_empty' }] }, 400, 'UNKNOWN_FIELD'],
      // a field in the store and in the exclusion: still checked
      [{ all: [], exclude: { all: [{ field: 'crm', key: 'UF_CRM_NOPE', op: 'empty' }] } }, 400, 'UNKNOWN_FIELD'],
      // the field exists on this portal, not on the other one (whose session asks, without a portal to ask)
      [{ all: [{ field: 'crm', key: 'UF_CRM_TIER', op: 'not_empty' }] }, 400, 'UNKNOWN_FIELD', { portal: -1, token: false }],
      [{ all: [{ field: 'crm', key: "UF_CRM_TIER') OR 1=1 --", op: 'not_empty' }] }, 400, 'BAD_REQUEST'],
      [{ all: [{ field: 'crm', key: 'uf->>0', op: 'not_empty' }] }, 400, 'BAD_REQUEST'],
      [{ all: [{ field: 'crm', key: 'UF_CRM_NOTE', op: 'range', min: 1 }] }, 400, 'BAD_FILTER'],
      [{ all: [{ field: 'crm', key: 'UF_CRM_TIER', op: 'contains', value: 'Go' }] }, 400, 'BAD_FILTER'],
      [{ all: [{ field: 'crm', key: 'UF_CRM_NOTE', op: 'eq' }] }, 400, 'BAD_FILTER'],
      [{ all: [{ field: 'post', op: 'contains' }] }, 400, 'BAD_FILTER'],
      [{ all: [{ field: 'crm', key: 'UF_CRM_TIER', op: 'in', values: Array.from({ length: 101 }, (_, i) => String(i)) }] }, 400, 'BAD_REQUEST'],
      [{ all: [{ field: 'crm', key: 'UF_CRM_NOTE', op: 'eq', value: 'x'.repeat(201) }] }, 400, 'BAD_REQUEST'],
      [{ all: [{ field: 'age', min: -1 }] }, 400, 'BAD_REQUEST'],
      [{ all: [{ field: 'created', from: '2024-13-45x' }] }, 400, 'BAD_REQUEST'],
      // the count table keeps 'infinity' for "no created day / birth date" (migration 027): never a bound a request can give
      [{ all: [{ field: 'created', to: 'infinity' }] }, 400, 'BAD_REQUEST'],
      [{ all: [{ field: 'created', from: '-infinity' }] }, 400, 'BAD_REQUEST'],
      [{ all: [{ field: 'age', min: 'infinity' }] }, 400, 'BAD_REQUEST'],
      [{ all: [{ field: 'company_industry', values: Array.from({ length: 101 }, (_, i) => `I${i}`) }] }, 400, 'BAD_REQUEST'],
      [{ all: Array.from({ length: 41 }, () => ({ field: 'crm', key: 'UF_CRM_NOTE', op: 'not_empty' })) }, 400, 'BAD_REQUEST'],
      [{ all: Array.from({ length: 11 }, () => ({ field: 'crm', key: 'UF_CRM_TIER', op: 'in', values: Array.from({ length: 100 }, (_, i) => String(i)) })) }, 400, 'FILTER_TOO_LARGE'],
      [{ all: [{ field: 'crm', key: 'UF_CRM_NOTE', op: 'not_empty', extra: { all: [] } }] }, 200, ''],
      [JSON.parse('{"all":[]' + ',"exclude":{"all":[]'.repeat(12) + '}'.repeat(12) + '}'), 400, 'FILTER_TOO_LARGE'],
    ];
    // saved segments and views keep only fields of the portal too
    const bad = { all: [{ field: 'crm', key: 'UF_CRM_NOPE', op: 'not_empty' }] };
    const sv = await call('/saved', { id: 'nope', name: 'Nope', priority: 1, filter: bad }, { method: 'PUT' });
    expect({ status: sv.status, code: sv.json.error ?? sv.json.code }).toEqual({ status: 400, code: 'UNKNOWN_FIELD' });
    const vw = await call('/views', { name: 'Nope', view: { filter: bad, sort: 'monetary', dir: 'desc', columns: [] } });
    expect({ status: vw.status, code: vw.json.error ?? vw.json.code }).toEqual({ status: 400, code: 'UNKNOWN_FIELD' });
    const ok = await call('/views', { name: 'Gold', view: { filter: { all: [{ field: 'crm', key: 'UF_CRM_TIER', op: 'not_empty' }] }, sort: 'monetary', dir: 'desc', columns: [] } });
    expect(ok.status).toBe(200);
    for (const [filter, status, code, o] of cases) {
      const opt = o?.portal === -1 ? { ...o, portal: otherPortalId } : o;
      const r = await count(filter, opt);
      expect({ filter, status: r.status, code: r.json.error ?? r.json.code ?? '' }, JSON.stringify(filter).slice(0, 120)).toMatchObject({ filter, status, ...(code ? { code } : {}) });
    }
  });
});
