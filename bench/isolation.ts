/**
 * `npm run bench -- isolation [--contacts-a 200000] [--contacts-b 20000] [--cities 5000]
 *   [--seconds 30] [--concurrency 4] [--timeout-ms 5000] [--probe-gap-ms 25] [--keep]`
 *
 * Tenant isolation of the UI API on PostgreSQL (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres; a scratch database b24seg_bench_isolation is
 * created and dropped unless --keep). Two portals are seeded (bench/lib/ui-load.ts: contacts and
 * labels with SQL, the score run finished by the app's finishScoreRun, which builds the count
 * tables). The real app (createServer) listens on a local port; sessions are signed with its secret.
 *
 *  1. idle: a probe loop alternates GET /healthz and portal B's count (segment + city + reachable,
 *     a filter over the count tables), one request at a time, for --seconds / 3.
 *  2. load: --concurrency loops fire portal A's worst-case ALLOWED count (worstCaseFilter: the
 *     deepest nesting and every value of the budget spent on text patterns) back to back, while
 *     the same probe loop runs, for --seconds. A's counts end 200 or, past the statement timeout,
 *     503 QUERY_TIMEOUT (429 when more than the portal's slots are asked at once).
 *
 * Prints p50 / p95 / max of both probes in both phases, A's outcomes, and one JSON line.
 * Target: /healthz and B's count p95 < 200 ms under load. The load generator and the server share
 * one Node process (as a reverse proxy's clients would not): the figures include its event loop.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadManifest } from '../manifest/index.js';
import { loadConfig } from '../src/config.js';
import { createServer } from '../src/server/app.js';
import { MemoryCrmEventQueue } from '../src/server/event-queue.js';
import { silentLogger } from '../src/server/log.js';
import { signSession } from '../src/server/ui-api/session.js';
import { UI_PORTAL_RUNNING, UI_STATEMENT_TIMEOUT_MS } from '../src/server/ui-api/limits.js';
import { MAX_FILTER_DEPTH } from '../src/segments/index.js';
import { openStore, type Db } from '../src/store/index.js';
import { conditionCount, pct, seedSyntheticPortal, valueCount, worstCaseFilter, type SeededPortal } from './lib/ui-load.js';

const { values: args } = parseArgs({
  options: {
    'contacts-a': { type: 'string', default: '200000' },
    'contacts-b': { type: 'string', default: '20000' },
    cities: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '4' },
    'timeout-ms': { type: 'string', default: String(UI_STATEMENT_TIMEOUT_MS) },
    'probe-gap-ms': { type: 'string', default: '25' },
    keep: { type: 'boolean', default: false },
  },
});
const NA = Number(args['contacts-a']);
const NB = Number(args['contacts-b']);
const CITIES = Number(args.cities);
const SECONDS = Number(args.seconds);
const CONC = Number(args.concurrency);
const TIMEOUT = Number(args['timeout-ms']);
const GAP = Number(args['probe-gap-ms']);
const TARGET_MS = 200;

const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = 'b24seg_bench_isolation';
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount;
if (!exists || !args.keep) {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
}
const db: Db = await openStore({ databaseUrl: url.toString() });

async function portal(memberId: string, n: number, cities: number): Promise<SeededPortal> {
  const have = await db.query<{ id: number; run: number; n: number }>(
    `SELECT p.id, t.run_id AS run, (SELECT count(*) FROM label_facts f WHERE f.portal_id = p.id)::int AS n
       FROM portals p JOIN label_facts_run t ON t.portal_id = p.id WHERE p.member_id = $1`,
    [memberId],
  );
  if (have.rows[0] && have.rows[0].n === n) return { portalId: have.rows[0].id, runId: have.rows[0].run, memberId };
  await db.query('DELETE FROM portals WHERE member_id = $1', [memberId]);
  return seedSyntheticPortal(db, memberId, n, { cities });
}

const t0 = performance.now();
const A = await portal('bench-iso-a', NA, CITIES);
const B = await portal('bench-iso-b', NB, 50);
await db.exec('CHECKPOINT').catch(() => {});
console.log(`seeded A ${NA.toLocaleString()} contacts (${CITIES} cities), B ${NB.toLocaleString()} contacts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const config = loadConfig({}, {
  port: 0, host: '127.0.0.1', clientId: 'local.bench.iso', clientSecret: 'bench-isolation-secret', dataDir: 'memory://', logLevel: 'error',
  sessionSecret: 'bench-isolation-session-secret-0123456789',
});
const dist = mkdtempSync(path.join(os.tmpdir(), 'ui-dist-'));
writeFileSync(path.join(dist, 'index.html'), '<!doctype html><html><body></body></html>');
const app = createServer({
  db, config, manifest: loadManifest(), log: silentLogger, events: new MemoryCrmEventQueue(),
  clientFor: () => { throw new Error('no portal client in the bench'); },
  forgetClient: () => {}, uiDist: dist, uiStatementTimeoutMs: TIMEOUT,
});
const server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const session = (p: SeededPortal) => signSession(config.sessionSecret!, { p: p.portalId, m: p.memberId, u: 1, a: true, l: 'en' });
const sa = session(A);
const sb = session(B);

const worst = worstCaseFilter();
const bFilter = { all: [{ field: 'segment', values: ['loyal', 'champions', 'at_risk'] }, { field: 'city', op: 'in', values: ['City-00001', 'City-00002'] }, { field: 'reachable', value: true }] };
const { rows: want } = await db.query<{ n: number }>(
  `SELECT count(*)::int AS n FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
    WHERE l.portal_id = $1 AND l.run_id = $2 AND l.segment IN ('loyal','champions','at_risk') AND lower(c.city) IN ('city-00001','city-00002')
      AND (c.has_email OR c.has_phone)`,
  [B.portalId, B.runId],
);

async function post(p: string, sessionToken: string, body: unknown): Promise<{ status: number; json: Record<string, unknown>; ms: number }> {
  const t = performance.now();
  const r = await fetch(`${base}${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sessionToken}` }, body: JSON.stringify(body) });
  const json = (await r.json()) as Record<string, unknown>;
  return { status: r.status, json, ms: performance.now() - t };
}
async function healthz(): Promise<number> {
  const t = performance.now();
  const r = await fetch(`${base}/healthz`);
  await r.text();
  if (r.status !== 200) throw new Error(`/healthz ${r.status}`);
  return performance.now() - t;
}

/** the probe loop: /healthz and B's count alternately, one at a time, until `until` */
async function probe(until: number) {
  const h: number[] = [];
  const b: number[] = [];
  let wrong = 0;
  while (performance.now() < until) {
    h.push(await healthz());
    const r = await post('/api/ui/segments/count', sb, { filter: bFilter });
    if (r.status !== 200 || r.json.count !== want[0]!.n) wrong++;
    b.push(r.ms);
    await new Promise((res) => setTimeout(res, GAP));
  }
  return { h, b, wrong };
}

// warm-up (pools, plans, dictionaries)
for (let i = 0; i < 5; i++) await probe(performance.now() + 1);
const idle = await probe(performance.now() + (SECONDS * 1000) / 3);

const aOut = { n: 0, ok: 0, timeout: 0, tooMany: 0, other: 0, ms: [] as number[] };
let loading = true;
const firing = Array.from({ length: CONC }, async () => {
  while (loading) {
    const r = await post('/api/ui/segments/count', sa, { filter: worst });
    aOut.n++;
    aOut.ms.push(r.ms);
    if (r.status === 200) aOut.ok++;
    else if (r.status === 503 && r.json.error === 'QUERY_TIMEOUT') aOut.timeout++;
    else if (r.status === 429) {
      aOut.tooMany++;
      await new Promise((res) => setTimeout(res, 50));
    } else aOut.other++;
  }
});
await new Promise((res) => setTimeout(res, 300)); // A's counts are running
const load = await probe(performance.now() + SECONDS * 1000);
loading = false;
await Promise.all(firing);

const row = (name: string, xs: number[]) =>
  console.log(name.padEnd(34), String(xs.length).padStart(6), pct(xs, 50).toFixed(1).padStart(9), pct(xs, 95).toFixed(1).padStart(9), Math.max(...xs).toFixed(1).padStart(9));
const version = (await db.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
console.log(`\nPostgreSQL ${version}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(2)}; statement timeout ${TIMEOUT} ms; ` +
  `A fires ${CONC} at once (${UI_PORTAL_RUNNING} run per portal); worst filter: ${conditionCount(worst)} conditions, ${valueCount(worst)} values, depth ${MAX_FILTER_DEPTH}`);
console.log('probe'.padEnd(34), 'n'.padStart(6), 'p50 ms'.padStart(9), 'p95 ms'.padStart(9), 'max ms'.padStart(9));
row('idle: GET /healthz', idle.h);
row('idle: portal B count', idle.b);
row('A worst-case running: GET /healthz', load.h);
row('A worst-case running: portal B count', load.b);
row(`portal A worst-case count`, aOut.ms);
console.log(`portal A: ${aOut.n} counts: ${aOut.ok} answered, ${aOut.timeout} cancelled (503 QUERY_TIMEOUT), ${aOut.tooMany} refused (429), ${aOut.other} other`);
if (idle.wrong + load.wrong) console.log(`portal B: ${idle.wrong + load.wrong} counts wrong or failed`);
const loadP95 = Math.max(pct(load.h, 95), pct(load.b, 95));
const pass = loadP95 < TARGET_MS && idle.wrong + load.wrong === 0 && aOut.other === 0;
console.log(`\nunder load: worst probe p95 ${loadP95.toFixed(1)} ms (target < ${TARGET_MS} ms): ${pass ? 'met' : 'NOT met'}`);
console.log(JSON.stringify({
  bench: 'isolation', postgres: version, cores: os.cpus().length, contactsA: NA, contactsB: NB, cities: CITIES, seconds: SECONDS,
  concurrency: CONC, timeoutMs: TIMEOUT, worst: { conditions: conditionCount(worst), values: valueCount(worst), depth: MAX_FILTER_DEPTH },
  idle: { healthzP95: +pct(idle.h, 95).toFixed(1), bCountP95: +pct(idle.b, 95).toFixed(1), n: idle.h.length },
  load: { healthzP50: +pct(load.h, 50).toFixed(1), healthzP95: +pct(load.h, 95).toFixed(1), bCountP50: +pct(load.b, 50).toFixed(1), bCountP95: +pct(load.b, 95).toFixed(1), n: load.h.length },
  a: { n: aOut.n, ok: aOut.ok, timeouts: aOut.timeout, refused: aOut.tooMany, other: aOut.other, p50: +pct(aOut.ms, 50).toFixed(0) },
  targetMs: TARGET_MS, pass,
}));

await new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
await db.close();
if (!args.keep) await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.end();
if (!pass) process.exitCode = 1;
