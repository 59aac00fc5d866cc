/**
 * Health and metrics of a process (src/server/health.ts, src/server/metrics.ts), over real HTTP:
 *  - /livez, /readyz (database, migrations, role checks, draining), /healthz;
 *  - per-portal sync lag and write-back backlog equal figures built into the store by hand
 *    (a sync finished 100 s ago; 3 labels of which a crashed write-back recorded 1); series
 *    only for active portals, labelled by id;
 *  - REST counters from a real B24Client against the emulator: one 200, one injected 503, one
 *    injected 429, counted by method class and status;
 *  - METRICS_TOKEN: missing, wrong, padded, oversize and repeated Authorization headers get 401.
 */
import axios from 'axios';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { createHealthRouter } from '../../src/server/health.js';
import { createMetrics, methodClass } from '../../src/server/metrics.js';
import { createScoreRun, insertContactLabels, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { eachDb } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';

const TOKEN = 'metrics-token-0123456789abcdef';

async function serve(routers: express.Router[]): Promise<{ url: string; server: Server }> {
  const app = express();
  for (const r of routers) app.use(r);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** value of one sample in the Prometheus text format, or undefined */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z0-9_:]+)(?:\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

let tp: TestPortal;
beforeAll(async () => {
  tp = await startTestPortal({ contacts: 20, timeScale: 1 });
});
afterAll(async () => {
  await tp?.emu.close();
});

eachDb('process health and metrics', (getDb, { kind }) => {
  let db: Db;
  let draining = false;
  let workersUp = true;
  let url: string;
  let server: Server;
  let metrics: ReturnType<typeof createMetrics>;
  const ids: Record<'synced' | 'never' | 'gone', number> = { synced: 0, never: 0, gone: 0 };

  beforeAll(async () => {
    db = getDb();
    ids.synced = (await upsertPortalOnInstall(db, { memberId: `m-${kind}-synced`, domain: 'a.example.com', status: 'active' })).id;
    ids.never = (await upsertPortalOnInstall(db, { memberId: `m-${kind}-never`, domain: 'b.example.com', status: 'active' })).id;
    ids.gone = (await upsertPortalOnInstall(db, { memberId: `m-${kind}-gone`, domain: 'c.example.com', status: 'uninstalled' })).id;
    await db.query(`UPDATE portals SET installed_at = now() - interval '500 seconds' WHERE id = $1`, [ids.never]);
    await db.query(
      `INSERT INTO sync_runs (portal_id, kind, status, started_at, finished_at) VALUES ($1, 'full', 'done', now() - interval '400 seconds', now() - interval '300 seconds'),
                                                                                   ($1, 'incremental', 'done', now() - interval '150 seconds', now() - interval '100 seconds'),
                                                                                   ($1, 'incremental', 'failed', now() - interval '20 seconds', now() - interval '10 seconds')`,
      [ids.synced],
    );
    // synced: its latest run has 3 labels, a crashed write-back of it recorded 1 → backlog 2
    const old = await createScoreRun(db, ids.synced, { asOf: new Date() });
    await insertContactLabels(db, ids.synced, old.id, [{ contactId: 9 }]);
    const run = await createScoreRun(db, ids.synced, { asOf: new Date() });
    await insertContactLabels(db, ids.synced, run.id, [{ contactId: 1 }, { contactId: 2 }, { contactId: 3 }]);
    const wb = await db.query<{ id: number }>(`INSERT INTO writeback_runs (portal_id, score_run_id, status) VALUES ($1, $2, 'failed') RETURNING id`, [ids.synced, run.id]);
    await db.query(`INSERT INTO written_values (portal_id, entity, entity_id, "values", run_id) VALUES ($1, 'contact', 2, '{}', $2)`, [ids.synced, wb.rows[0]!.id]);
    // never: one run, written back completely → 0
    const r2 = await createScoreRun(db, ids.never, { asOf: new Date() });
    await insertContactLabels(db, ids.never, r2.id, [{ contactId: 1 }, { contactId: 2 }]);
    await db.query(`INSERT INTO writeback_runs (portal_id, score_run_id, status) VALUES ($1, $2, 'done')`, [ids.never, r2.id]);

    metrics = createMetrics({ db, token: TOKEN, cacheMs: 0, queueDepth: async () => [{ queue: 'b24seg-sync', state: 'queued', jobs: 4 }] });
    const health = createHealthRouter({ db, draining: () => draining, checks: { workers: () => workersUp } });
    ({ url, server } = await serve([health, metrics.router]));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  const get = (path: string, headers: Record<string, string> = {}) => axios.get(`${url}${path}`, { headers, validateStatus: () => true });

  it('/livez, /readyz and /healthz', async () => {
    expect((await get('/livez')).data).toEqual({ ok: true });
    const ready = await get('/readyz');
    expect([ready.status, ready.data]).toEqual([200, { ok: true, checks: { accepting: true, database: true, migrations: true, workers: true } }]);
    expect((await get('/healthz')).status).toBe(200);
    workersUp = false;
    expect((await get('/readyz')).data.checks.workers).toBe(false);
    workersUp = true;
    draining = true;
    const d = await get('/readyz');
    expect([d.status, d.data.checks.accepting]).toEqual([503, false]);
    expect((await get('/livez')).status).toBe(200); // alive while draining
    draining = false;
    // a migration of this build the database lacks → not ready
    const { rows } = await db.query<{ version: number; name: string; checksum: string }>(`SELECT version, name, checksum FROM schema_migrations ORDER BY version DESC LIMIT 1`);
    await db.query(`DELETE FROM schema_migrations WHERE version = $1`, [rows[0]!.version]);
    try {
      const m = await get('/readyz');
      expect([m.status, m.data.checks.migrations]).toEqual([503, false]);
    } finally {
      await db.query(`INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [rows[0]!.version, rows[0]!.name, rows[0]!.checksum]);
    }
    expect((await get('/readyz')).status).toBe(200);
  });

  it('sync lag and write-back backlog per active portal, labelled by id', async () => {
    const text = (await get('/metrics', { Authorization: `Bearer ${TOKEN}` })).data as string;
    const lag = (p: number) => sample(text, 'b24seg_portal_sync_lag_seconds', { portal: String(p) });
    expect(lag(ids.synced)).toBeGreaterThanOrEqual(100);
    expect(lag(ids.synced)).toBeLessThan(130);
    expect(lag(ids.never)).toBeGreaterThanOrEqual(500);
    expect(lag(ids.never)).toBeLessThan(530);
    expect(lag(ids.gone)).toBeUndefined();
    expect(sample(text, 'b24seg_writeback_backlog', { portal: String(ids.synced) })).toBe(2);
    expect(sample(text, 'b24seg_writeback_backlog', { portal: String(ids.never) })).toBe(0);
    expect(sample(text, 'b24seg_writeback_backlog', { portal: String(ids.gone) })).toBeUndefined();
    expect(sample(text, 'b24seg_portals', { status: 'active' })).toBe(2);
    expect(sample(text, 'b24seg_portals', { status: 'uninstalled' })).toBe(1);
    expect(sample(text, 'b24seg_job_queue_depth', { queue: 'b24seg-sync', state: 'queued' })).toBe(4);
    expect(text).not.toContain('example.com'); // never the domain
  });

  it('REST calls by method class and status, and the 429/503 refusals, from a real client', async () => {
    const admin = axios.create({ baseURL: `${tp.emu.url}_emulator/` });
    const client = new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: 1 }, maxRateLimitRetries: 0, maxOperatingRetries: 0, observer: metrics.restObserver });
    const before = (await get('/metrics', { Authorization: `Bearer ${TOKEN}` })).data as string;
    const n = (text: string, labels: Record<string, string>) => sample(text, 'b24seg_rest_requests_total', labels) ?? 0;
    const l = (text: string, code: string) => sample(text, 'b24seg_rest_limited_total', { code }) ?? 0;
    await client.call('crm.contact.list', { select: ['ID'] });
    await admin.post('faults', { spec: '503=1,method=crm.contact.list' });
    await expect(client.call('crm.contact.list', { select: ['ID'] })).rejects.toThrow();
    await admin.post('faults', { spec: '429=1,method=crm.deal.list' });
    await expect(client.call('crm.deal.list', { select: ['ID'] })).rejects.toThrow();
    await admin.post('faults', { spec: 'off' });
    const after = (await get('/metrics', { Authorization: `Bearer ${TOKEN}` })).data as string;
    expect(n(after, { method_class: 'crm.contact', status: '200' }) - n(before, { method_class: 'crm.contact', status: '200' })).toBe(1);
    expect(n(after, { method_class: 'crm.contact', status: '503' }) - n(before, { method_class: 'crm.contact', status: '503' })).toBe(1);
    expect(n(after, { method_class: 'crm.deal', status: '429' }) - n(before, { method_class: 'crm.deal', status: '429' })).toBe(1);
    expect(l(after, '503') - l(before, '503')).toBe(1);
    expect(l(after, '429') - l(before, '429')).toBe(1);
    expect(methodClass('crm.contact.userfield.add')).toBe('crm.contact');
    expect(methodClass('batch')).toBe('batch');
    expect(methodClass('x{y="1"}')).toBe('other');
  });

  it('METRICS_TOKEN: every forged or malformed header gets 401 and no metrics', async () => {
    const forged: Array<Record<string, string>> = [
      {},
      { Authorization: 'Bearer wrong-token-0123456789' },
      { Authorization: `Bearer ${TOKEN}x` },
      { Authorization: `Bearer  ${TOKEN}` },
      { Authorization: `bearer${TOKEN}` },
      { Authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
      { Authorization: `Bearer ${'a'.repeat(6000)}` },
      { Authorization: `Bearer ${TOKEN}, Bearer ${TOKEN}` },
    ];
    for (const h of forged) {
      const r = await get('/metrics', h);
      expect([JSON.stringify(h).slice(0, 60), r.status, typeof r.data === 'object' ? r.data.error : r.data]).toEqual([JSON.stringify(h).slice(0, 60), 401, 'UNAUTHORIZED']);
    }
    const ok = await get('/metrics', { Authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.data).toContain('b24seg_process_cpu_user_seconds_total');
  });
});
