/**
 * `npm run bench -- sync [--contacts 100000] [--deals 400000] [--seed 7] [--clock waits|scaled]
 *                        [--wait-scale 1000] [--time-scale 5] [--baseline-rows 10000]
 *                        [--baseline-contacts all] [--small] [--db postgres|pglite] [--no-baseline]`
 *   (--no-baseline: iteration only, skips (c))
 *
 * The emulator (generated portal, standard plan, the cost model it declares at /_emulator/limits)
 * runs in a CHILD process; this process runs the app side only, so its peak RSS (sampled every
 * 50 ms) is the sync's. Measures:
 *  (a) a full pull, (b) an incremental pull after 1% of the deals changed (1 portal-hour later),
 *  (c) the naive baseline: @bitrix24/b24jssdk B24OAuth `actions.v2.fetchList` (unbatched keyset
 *      export, one request per 50 rows) of contacts, companies and deals (crm.item.list, for
 *      contactIds); contacts (--baseline-contacts, default all) and companies are exported in
 *      full, deals on their first --baseline-rows rows, extrapolated per page to the full size
 *      (product rows are not part of the baseline: fetchList cannot page crm.item.productrow.list,
 *      whose filter needs an ownerId list).
 * Requests, calls, processing and charged seconds per method come from /_emulator/stats; portal
 * time from the emulator clock. Each run is printed next to the lower bounds the limits imply for
 * the calls it made (bench/lib/bounds.ts: requests; operating per method with the 0.1 s floor and
 * batching, as grouped and for any grouping; the first windows), the largest and the ratio.
 * --small = 10k contacts / 40k deals. B24_SYNC_TRACE=1 logs every product-row batch.
 *
 * Clock: --clock waits (default): the child's portal clock runs at real speed and the client's
 * waits are fast-forwarded ×--wait-scale (bench/lib/wait-clock.ts, over IPC), so local work
 * counts 1:1. --clock scaled: the whole clock runs ×--time-scale (local work × scale). The baseline
 * always runs ×--time-scale, because the SDK's limiter runs on the wall clock (its drain is scaled).
 * The "what bounds the run" table prints the CPU seconds of the app, the emulator and the
 * PostgreSQL backends (process.cpuUsage / /proc) next to the portal time, and the limiter's waits.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import axios from 'axios';
import pg from 'pg';
import { B24OAuth, EnumAppStatus } from '@bitrix24/b24jssdk';
import { B24Client } from '../src/b24/client.js';
import { MemoryTokenSource } from '../src/b24/auth.js';
import { upsertPortalOnInstall, type Db } from '../src/store/index.js';
import { openBenchDb } from './lib/bench-db.js';
import { runSync, type SyncSummary } from '../src/sync/index.js';
import { boundModel, methodUse, requestBound, runBounds, type BoundModel } from './lib/bounds.js';
import { boundsTable, modelLine, ratio } from './lib/print-bounds.js';
import { waitClock } from './lib/wait-clock.js';
import { ask, childClock } from './lib/child-ipc.js';
import { emulatorStats, resetEmulatorStats, statsDiff } from './lib/emulator-stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] && !process.argv[i + 1]!.startsWith('--') ? process.argv[i + 1]! : def;
}
const small = process.argv.includes('--small');
const CONTACTS = Number(arg('contacts', small ? '10000' : '100000'));
const DEALS = Number(arg('deals', small ? '40000' : '400000'));
const TS = Number(arg('time-scale', '5'));
/** waits (default): the portal clock runs at real speed and the client's waits are fast-forwarded ×WAIT; scaled: the whole clock runs ×TS. The baseline always runs ×TS. */
const CLOCK = arg('clock', 'waits');
if (CLOCK !== 'waits' && CLOCK !== 'scaled') throw new Error('--clock must be waits or scaled');
const WAITS = CLOCK === 'waits';
const WAIT = Number(arg('wait-scale', '1000'));
/** Portal seconds one wall second of local work costs during the pulls. */
const LOCAL_SCALE = WAITS ? 1 : TS;
const SEED = Number(arg('seed', '7'));
const BASELINE_ROWS = Number(arg('baseline-rows', '10000'));
const BASELINE_CONTACTS = arg('baseline-contacts', 'all') === 'all' ? Infinity : Number(arg('baseline-contacts', 'all'));
/** Iteration only: skip (c), the baseline (the README figures always include it). */
const NO_BASELINE = process.argv.includes('--no-baseline');
const DB_KIND = arg('db', process.env.DATABASE_URL ? 'postgres' : 'auto');

// ---- peak RSS sampler -----------------------------------------------------------------
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 50);
sampler.unref();

// ---- emulator child ---------------------------------------------------------------------
interface Ready {
  type: 'ready'; url: string; webhookUrl: string;
  oauth: { clientId: string; clientSecret: string; accessToken: string; refreshToken: string; clientEndpoint: string; serverEndpoint: string; expiresIn: number; memberId: string; domain: string; portalNow: number };
  generated: Record<string, number>;
}
// ---- database -----------------------------------------------------------------------------
/** CPU seconds of the PostgreSQL backends serving database `name` (local server, /proc), sampled every second. */
function pgCpuSampler(base: string, name: string): { read: () => Promise<number>; stop: () => Promise<void> } {
  const ticks = new Map<number, number>();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const c = new pg.Client({ connectionString: u.toString() });
  c.on('error', () => {});
  let ok = true;
  const sample = async () => {
    if (!ok) return;
    try {
      const { rows } = await c.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
      for (const { pid } of rows) {
        try {
          const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
          const t = Number(f[11]) + Number(f[12]);
          ticks.set(pid, Math.max(ticks.get(pid) ?? 0, t));
        } catch { /* not local, or gone */ }
      }
    } catch { /* ignore */ }
  };
  const ready = c.connect().then(sample, () => { ok = false; });
  const timer = setInterval(() => void sample(), 1000);
  timer.unref();
  const sum = () => [...ticks.values()].reduce((a, b) => a + b, 0) / 100;
  return {
    read: async () => { await ready; await sample(); return sum(); },
    stop: async () => { clearInterval(timer); ok = false; await c.end().catch(() => {}); },
  };
}
let pgCpu: { read: () => Promise<number>; stop: () => Promise<void> } | null = null;

async function openDb(): Promise<{ db: Db; kind: string; cleanup: () => Promise<void> }> {
  const x = await openBenchDb(DB_KIND === 'postgres' || DB_KIND === 'pglite' ? DB_KIND : 'auto');
  if (x.pg) pgCpu = pgCpuSampler(x.pg.base, x.pg.name);
  return { db: x.db, kind: x.kind, cleanup: async () => { await pgCpu?.stop(); await x.cleanup(); } };
}

// ---- baseline: the SDK's unbatched fetchList -----------------------------------------------
async function baseline(model: BoundModel, ready: Ready, totals: { contacts: number; companies: number; deals: number }): Promise<{ perEntity: Array<{ entity: string; rows: number; requests: number; portalSec: number; extrapolatedSec: number; total: number }>; portalSec: number; requests: number }> {
  const o = ready.oauth;
  const b24 = new B24OAuth(
    {
      applicationToken: '', userId: 1, memberId: o.memberId, accessToken: o.accessToken, refreshToken: o.refreshToken,
      expires: Math.floor(Date.now() / 1000) + 86400, expiresIn: 86400, scope: 'crm', domain: o.domain,
      clientEndpoint: o.clientEndpoint, serverEndpoint: o.serverEndpoint, status: EnumAppStatus.Local,
    },
    { clientId: o.clientId, clientSecret: o.clientSecret },
    // the SDK's limiter runs on the wall clock: scale its drain to the emulator's time scale so it
    // paces requests like it would on a real standard-plan portal
    { restrictionParams: { rateLimit: { burstLimit: 50, drainRate: 2 * TS, adaptiveEnabled: false } } },
  );
  b24.offClientSideWarning?.();
  const jobs = [
    { entity: 'contacts', total: totals.contacts, make: () => b24.actions.v2.fetchList.make<Record<string, unknown>>({ method: 'crm.contact.list', params: { select: ['ID', 'NAME', 'LAST_NAME', 'DATE_MODIFY', 'UF_*'] }, idKey: 'ID' }) },
    { entity: 'companies', total: totals.companies, make: () => b24.actions.v2.fetchList.make<Record<string, unknown>>({ method: 'crm.company.list', params: { select: ['ID', 'TITLE', 'DATE_MODIFY'] }, idKey: 'ID' }) },
    { entity: 'deals', total: totals.deals, make: () => b24.actions.v2.fetchList.make<Record<string, unknown>>({ method: 'crm.item.list', params: { entityTypeId: 2, select: ['id', 'stageId', 'opportunity', 'currencyId', 'contactIds', 'updatedTime'] }, idKey: 'id', customKeyForResult: 'items' }) },
  ];
  const out = [];
  let portalSec = 0;
  let requests = 0;
  for (const j of jobs) {
    await resetEmulatorStats(ready.url);
    const s0 = await emulatorStats(ready.url);
    let rows = 0;
    const limit = j.entity === 'contacts' ? BASELINE_CONTACTS : j.entity === 'companies' ? Infinity : BASELINE_ROWS;
    for await (const chunk of j.make()) {
      rows += chunk.length;
      if (rows >= limit) break;
    }
    const d = statsDiff(s0, await emulatorStats(ready.url));
    const pages = Math.ceil(j.total / 50) + 1;
    const perReq = d.requests > 0 ? d.elapsed / d.requests : 0;
    // extrapolate: the measured portal seconds per request, but never below the bucket's pace
    const extrapolated = rows >= j.total ? d.elapsed : Math.max(pages * perReq, requestBound(pages, model));
    out.push({ entity: j.entity, rows, requests: d.requests, portalSec: d.elapsed, extrapolatedSec: extrapolated, total: j.total });
    portalSec += extrapolated;
    requests += rows >= j.total ? d.requests : pages;
  }
  return { perEntity: out, portalSec, requests };
}

// ---- main ------------------------------------------------------------------------------
const f1 = (x: number) => x.toFixed(1);

async function main(): Promise<void> {
  console.error(`bench sync: ${CONTACTS} contacts, ${DEALS} deals, time scale ${TS}, standard plan (emulator in a child process)`);
  const child = fork(path.join(here, 'lib', 'emulator-child.ts'), [String(CONTACTS), String(DEALS), String(TS), String(SEED), ...(WAITS ? ['waits'] : [])], { execArgv: ['--import', 'tsx', ...(process.env.BENCH_CHILD_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CHILD_PROF}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('exit', (c) => reject(new Error(`emulator child exited (${c})`)));
  });
  console.error(`emulator ready at ${ready.url}: ${JSON.stringify(ready.generated)}`);
  const limits = (await axios.get(`${ready.url}_emulator/limits`)).data as { costs?: unknown };
  const model = boundModel(limits);
  const { db, kind: dbKind, cleanup } = await openDb();
  try {
    const portalId = (await upsertPortalOnInstall(db, { memberId: ready.oauth.memberId, domain: ready.oauth.domain, status: 'active' })).id;
    const tokens = new MemoryTokenSource({
      accessToken: ready.oauth.accessToken, refreshToken: ready.oauth.refreshToken, clientEndpoint: ready.oauth.clientEndpoint,
      expiresAt: ready.oauth.portalNow + ready.oauth.expiresIn * 1000, clientId: ready.oauth.clientId, clientSecret: ready.oauth.clientSecret,
      serverEndpoint: ready.oauth.serverEndpoint,
    });
    // waits: the child's portal clock, moved over the client's waits
    const remote = await childClock(child);
    const client = new B24Client({ tokens, limiter: WAITS ? { plan: 'standard', clock: waitClock(remote, WAIT) } : { plan: 'standard', timeScale: TS } });
    const rss0 = process.memoryUsage().rss;

    // CPU seconds of the app (this process), the emulator (child) and the PostgreSQL backends
    const cpu = async () => {
      const c = process.cpuUsage();
      const emu = (await ask(child, { cmd: 'cpu' })).cpuSec as number;
      return { app: (c.user + c.system) / 1e6, emu, pg: pgCpu ? await pgCpu.read() : NaN, wall: Date.now() / 1000, lim: { ...client.limiter.stats } };
    };
    type Cpu = Awaited<ReturnType<typeof cpu>>;
    const cpuDiff = (a: Cpu, b: Cpu) => ({
      app: b.app - a.app, emu: b.emu - a.emu, pg: b.pg - a.pg, wall: b.wall - a.wall,
      waitOp: (b.lim.waitedOperatingMs - a.lim.waitedOperatingMs) / 1000, waitBucket: (b.lim.waitedBucketMs - a.lim.waitedBucketMs) / 1000,
    });

    // (a) full
    await resetEmulatorStats(ready.url);
    let s0 = await emulatorStats(ready.url);
    const c0 = await cpu();
    let lastLog = 0;
    const full: SyncSummary = await runSync({ db, portalId, client }, {
      kind: 'full',
      onProgress: (p) => {
        if (Date.now() - lastLog > 2000) {
          lastLog = Date.now();
          console.error(`  full ${p.phase} [${p.active.join(',')}] ${p.rowsDone}/${p.rowsExpected ?? '?'} rows, ETA ${p.etaSeconds ?? '?'} s wall`);
        }
      },
    });
    const fullStats = statsDiff(s0, await emulatorStats(ready.url));
    const fullCpu = cpuDiff(c0, await cpu());
    const fullPeak = peakRss;

    // (b) incremental after 1% of deals changed, an hour later
    await ask(child, { cmd: 'advance', seconds: 3600 });
    await remote.resync();
    const touched = (await ask(child, { cmd: 'touchDeals', fraction: 0.01 })).changed as number;
    await resetEmulatorStats(ready.url);
    s0 = await emulatorStats(ready.url);
    const c1 = await cpu();
    const inc = await runSync({ db, portalId, client }, { kind: 'incremental' });
    const incStats = statsDiff(s0, await emulatorStats(ready.url));
    const incCpu = cpuDiff(c1, await cpu());

    // (c) baseline
    await ask(child, { cmd: 'advance', seconds: 3600 });
    if (WAITS) await ask(child, { cmd: 'rate', rate: TS });
    const base = NO_BASELINE ? { perEntity: [], portalSec: NaN, requests: 0 } : await baseline(model, ready, { contacts: full.contacts, companies: full.companies, deals: full.deals });
    if (WAITS) await ask(child, { cmd: 'rate', rate: 1 });

    const fullB = runBounds(fullStats.requests, methodUse(fullStats.methods), model);
    const incB = runBounds(incStats.requests, methodUse(incStats.methods), model);

    const lines: string[] = [];
    lines.push(`Portal: ${CONTACTS} contacts, ${DEALS} deals requested → ${full.contacts} contacts, ${full.companies} companies, ${full.deals} deals, ${full.dealContacts} deal↔contact links, ${full.productRows} product rows of won deals; standard plan, clock: ${WAITS ? `real speed with the client's waits fast-forwarded ×${WAIT} (the baseline ×${TS})` : `×${TS}`}, store: ${dbKind}.`);
    lines.push(modelLine(model, limits.costs));
    const g = ready.generated;
    const t = full.totals;
    lines.push(`Store after the full pull: ${t.contacts} contacts, ${t.companies} companies, ${t.deals} deals, ${t.productRows} product rows (portal: ${g.contacts}, ${g.companies}, ${g.deals}, ${g.productRows}) — ${t.contacts === g.contacts && t.companies === g.companies && t.deals === g.deals && t.productRows === g.productRows ? 'complete' : '**MISMATCH**'}.`);
    lines.push('');
    lines.push('| run | portal s | requests | calls | 503 / 429 | request bound s | first-window bound s | largest valid bound s (from) | ratio | wall s |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    lines.push(`| full pull | ${f1(fullStats.elapsed)} | ${fullStats.requests} | ${full.calls} | ${fullStats.rejected503} / ${fullStats.rejected429} | ${f1(fullB.requestBound)} | ${f1(fullB.window.bound)} | ${f1(fullB.largest.bound)} (${fullB.largest.by}) | **${ratio(fullStats.elapsed, fullB.largest.bound)}** | ${f1(full.wallSeconds)} |`);
    lines.push(`| incremental (1% = ${touched} deals changed) | ${f1(incStats.elapsed)} | ${incStats.requests} | ${inc.calls} | ${incStats.rejected503} / ${incStats.rejected429} | ${f1(incB.requestBound)} | ${f1(incB.window.bound)} | ${f1(incB.largest.bound)} (${incB.largest.by}) | ${ratio(incStats.elapsed, incB.largest.bound)} | ${f1(inc.wallSeconds)} |`);
    if (!NO_BASELINE) lines.push(`| baseline: SDK fetchList, contacts+companies+deals only (${BASELINE_CONTACTS === Infinity ? 'contacts and companies measured in full' : `contacts: first ${BASELINE_CONTACTS}`}, deals extrapolated from ${BASELINE_ROWS} rows) | ${f1(base.portalSec)} | ${base.requests} | ${base.requests} | — | ${f1(requestBound(base.requests, model))} | — | ${f1(requestBound(base.requests, model))} (requests) | ${ratio(base.portalSec, requestBound(base.requests, model))} | — |`);
    lines.push('');
    lines.push(`Full pull vs baseline: ${NO_BASELINE ? 'not run (--no-baseline)' : `${f1(base.portalSec / fullStats.elapsed)}× faster (the baseline does not even fetch product rows)`}. Incremental: ${f1(incStats.elapsed / 60)} portal-minutes. Peak RSS of the app process: ${f1(fullPeak / 1e6)} MB during the full pull (${f1(rss0 / 1e6)} MB before it), ${f1(peakRss / 1e6)} MB overall.`);
    lines.push('');
    lines.push('Lower bounds of the full pull (bench/lib/bounds.ts): per method, the calls made, their processing, the calls one request carries free under the floor, the seconds charged, and the least portal time for the charge as grouped and for any grouping of the same calls; the request bound; the first window:');
    lines.push('');
    lines.push(...boundsTable(fullB, fullStats.elapsed));
    lines.push('');
    lines.push('Incremental:');
    lines.push('');
    lines.push(...boundsTable(incB, incStats.elapsed));
    lines.push('');
    lines.push(`What bounds the run (one wall second of local work = ${LOCAL_SCALE} portal s). CPU seconds of the app process, the emulator child and the PostgreSQL backends, their sum × ${LOCAL_SCALE} as portal seconds, and the limiter's waits (wall s, summed over concurrent streams):`);
    lines.push('');
    lines.push('| run | wall s | wall × scale | app CPU s | emulator CPU s | PostgreSQL CPU s | local CPU × scale (share of portal time) | limiter waits: operating / bucket s | portal s | largest bound s |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [name, c, st, b] of [['full pull', fullCpu, fullStats, fullB.largest.bound], ['incremental', incCpu, incStats, incB.largest.bound]] as const) {
      const local = c.app + c.emu + (Number.isNaN(c.pg) ? 0 : c.pg);
      lines.push(`| ${name} | ${f1(c.wall)} | ${f1(c.wall * LOCAL_SCALE)} | ${f1(c.app)} | ${f1(c.emu)} | ${Number.isNaN(c.pg) ? 'n/a' : f1(c.pg)} | ${f1(local * LOCAL_SCALE)} (${(100 * local * LOCAL_SCALE / Math.max(st.elapsed, 1e-9)).toFixed(0)}%) | ${f1(c.waitOp)} / ${f1(c.waitBucket)} | ${f1(st.elapsed)} | ${f1(b)} |`);
    }
    if (!NO_BASELINE) {
      lines.push('');
      lines.push('Baseline detail (SDK B24OAuth actions.v2.fetchList, one request per page):');
      lines.push('');
      lines.push('| entity | rows fetched | requests | portal s measured | total rows | extrapolated portal s |');
      lines.push('|---|---:|---:|---:|---:|---:|');
      for (const e of base.perEntity) lines.push(`| ${e.entity} | ${e.rows} | ${e.requests} | ${f1(e.portalSec)} | ${e.total} | ${f1(e.extrapolatedSec)} |`);
    }
    console.log(lines.join('\n'));
  } finally {
    await cleanup();
    child.send({ cmd: 'exit', id: 0 });
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  }
}

await main();
