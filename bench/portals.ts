/**
 * `npm run bench -- portals [--portals 1000] [--contacts 1000] [--workers 2] [--window-h 4] [--seed 1]
 *                           [--touch 0.02] [--concurrency 2] [--timeout-min 240] [--json]`
 *
 * Many small portals reconciled in one night on one PostgreSQL (issue 16 item 5). The emulated
 * portals (generated living portals, standard plan, one emulator each, the app installed in each
 * with one client id) run in a CHILD process (bench/lib/portals-child.ts); the work is done by N
 * real worker processes, `node --import tsx src/main.ts --role worker` (bench/lib/worker-procs.ts),
 * on a fresh PostgreSQL database, so the figures are what production runs: pg-boss queues, leases,
 * the per-portal lock, the offline-event poll every minute, JOB_CONCURRENCY jobs per queue.
 *  Phase 1, the install wave (reported, not the target): every portal's first cycle, queued as the
 *    app queues it after an install (`enqueue.sync(id, 'full', true)`: sync → score → write-back).
 *  Phase 2, the night: every portal lives one day (src/emulator/live: new deals, stage moves) and
 *    --touch of its deals are edited; then the reconciliation of ALL portals is queued at once, as
 *    the 03:00 schedule's onFire does (`enqueue.reconcile(id)`: incremental sync → score → write-back).
 *
 * Clocks: every portal's clock runs at real speed (time scale 1) and nothing is fast-forwarded:
 * the workers' limiters run on their own wall clock in other processes, where a fast-forward
 * could not be honest. So portal time = wall time here, and a wait on a limit is really waited.
 * PORTAL-HOURS USED = the sum over the phase's completed cycle jobs (sync, score, write-back,
 * reconcile; not the deferrals of a busy portal) of (completed − started) as pg-boss recorded them:
 * the time each portal's own cycle took, on its clock, excluding the time its jobs waited in the queue.
 * ONE WORKER SERVES ~K PORTALS A NIGHT, K = window / (wall × workers / portals): the night's wall
 * time per portal and worker process, divided into the window; linear extrapolation, valid while the
 * machine and PostgreSQL are not the bound (2 cores here, shared with the emulators).
 *
 * Checks inside the bench: every portal exactly one completed reconcile (phase 2) and one write-back
 * chain (phase 1), zero failed jobs, and on a sample of portals every labelled contact's CRM segment
 * field equals the store's label (non-buyers: empty).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createTokenCipher, latestScoreRun, queryContactLabels, setTokenCipher, upsertPortalOnInstall, type Db } from '../src/store/index.js';
import { QUEUES, startWorkers } from '../src/jobs/index.js';
import { F } from '../src/writeback/manifest-fields.js';
import { openBenchDb } from './lib/bench-db.js';
import { startWorkerPool, type WorkerPool } from './lib/worker-procs.js';
import { ask } from './lib/child-ipc.js';
import { dbNow, phaseJobs, waitPhase, type PhaseJobs } from './lib/portal-jobs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The workers' V8 heap cap of docs/deploy.md's worker unit; BENCH_WORKER_HEAP_CAP replaces it (empty: no cap, to compare). */
const WORKER_HEAP_CAP = process.env.BENCH_WORKER_HEAP_CAP ?? '--max-old-space-size=640';

const argsSchema = z.object({
  portals: z.coerce.number().int().min(1).max(5000).default(1000),
  contacts: z.coerce.number().int().min(10).max(100_000).default(1000),
  workers: z.coerce.number().int().min(1).max(32).default(2),
  'window-h': z.coerce.number().positive().default(4),
  seed: z.coerce.number().int().min(0).default(1),
  touch: z.coerce.number().min(0).max(1).default(0.02),
  concurrency: z.coerce.number().int().min(1).max(32).default(2),
  'timeout-min': z.coerce.number().positive().default(240),
  json: z.boolean().default(false),
}).strict();

function parseArgs(argv: readonly string[]): z.infer<typeof argsSchema> {
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!.replace(/^--/, '');
    if (k === 'json') raw.json = true;
    else raw[k] = argv[++i];
  }
  const r = argsSchema.safeParse(raw);
  if (!r.success) {
    console.error(`bench portals: ${r.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
    process.exit(2);
  }
  return r.data;
}

const opts = parseArgs(process.argv.slice(2));
const say = (s: string) => console.error(`bench portals: ${s}`);

// ---- the emulator child -----------------------------------------------------------------
interface ChildPortal { url: string; memberId: string; accessToken: string; refreshToken: string; clientEndpoint: string; serverEndpoint: string; expiresAt: number }
interface RestStats { requests: number; pollRequests: number; rejected503: number; rejected429: number }
const restStats = (child: ChildProcess) => ask<RestStats>(child, { cmd: 'stats' });
const childCpu = async (child: ChildProcess) => (await ask<{ cpuSec: number }>(child, { cmd: 'cpu' })).cpuSec;

// ---- figures ------------------------------------------------------------------------------
export interface PhaseFigures {
  portals: number;
  workers: number;
  wallSec: number;
  portalHours: number;
  requests: number;
  /** Of `requests`, the offline-event poll's (every minute, every active portal: it grows with the wall time, not the work). */
  pollRequests: number;
  rejected503: number;
  rejected429: number;
  portalsDone: number;
  portalsDoneTwice: number;
  jobsFailed: number;
  jobsRetried: number;
  jobsDeferred: number;
  peakRssMb: number[];
  workerCpuSec: number[];
  /** CPU seconds of the emulator child (all portals' answers) during the phase. */
  emulatorCpuSec: number;
  pgBytes: number;
}

async function pgSize(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n');
  return Number(rows[0]!.n);
}

async function runPhase(name: string, db: Db, child: ChildProcess, pool: WorkerPool, ids: number[], send: (id: number) => Promise<unknown>, doneQueue: string): Promise<PhaseFigures> {
  const r0 = await restStats(child);
  pool.sample();
  const cpu0 = pool.procs.map((w) => w.cpuSec);
  const emu0 = await childCpu(child);
  const since = await dbNow(db);
  const t = performance.now();
  for (const id of ids) await send(id);
  say(`${name}: ${ids.length} portals queued in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await waitPhase(db, ids, doneQueue, since, opts['timeout-min'] * 60_000, (n) => say(`${name}: ${n}/${ids.length} portals done after ${((performance.now() - t) / 1000).toFixed(0)} s`));
  const wallSec = (performance.now() - t) / 1000;
  pool.sample();
  const r1 = await restStats(child);
  const emuCpu = (await childCpu(child)) - emu0;
  const j: PhaseJobs = await phaseJobs(db, ids, doneQueue, since);
  return {
    portals: ids.length, workers: pool.procs.length, wallSec, portalHours: j.jobSeconds / 3600,
    requests: r1.requests - r0.requests, pollRequests: r1.pollRequests - r0.pollRequests, rejected503: r1.rejected503 - r0.rejected503, rejected429: r1.rejected429 - r0.rejected429,
    portalsDone: j.portalsDoneOnce, portalsDoneTwice: j.portalsDoneTwice, jobsFailed: j.failed, jobsRetried: j.retried, jobsDeferred: j.deferred,
    peakRssMb: pool.procs.map((w) => w.peakRss / 1e6), workerCpuSec: pool.procs.map((w, i) => w.cpuSec - cpu0[i]!), emulatorCpuSec: emuCpu, pgBytes: await pgSize(db),
  };
}

/** On `sample` portals: every labelled contact's CRM segment field against the store's latest labels (non-buyers: empty). */
async function checkFields(db: Db, child: ChildProcess, ids: number[], sample: number): Promise<{ portals: number; contacts: number; mismatches: number }> {
  const out = { portals: 0, contacts: 0, mismatches: 0 };
  const step = Math.max(1, Math.floor(ids.length / sample));
  for (let i = 0; i < ids.length && out.portals < sample; i += step) {
    const run = await latestScoreRun(db, ids[i]!);
    if (!run) continue;
    const crm = (await ask<{ segments: Record<string, string | null> }>(child, { cmd: 'fields', index: i, field: F.SEGMENT })).segments;
    out.portals++;
    for (let after = -1; ;) {
      const labels = await queryContactLabels(db, ids[i]!, run.id, { afterContactId: after, limit: 5000 });
      if (!labels.length) break;
      for (const l of labels) {
        const extra = l.extra ?? {};
        const buyer = extra.hasPurchases === true || (extra.hasPurchases === undefined && l.lastPurchase !== null);
        const want = buyer ? l.segment : null;
        out.contacts++;
        if ((crm[String(l.contactId)] ?? null) !== want) out.mismatches++;
      }
      after = Number(labels[labels.length - 1]!.contactId);
    }
  }
  return out;
}

// ---- main ---------------------------------------------------------------------------------
const f1 = (x: number) => x.toFixed(1);

function table(rows: Array<[string, PhaseFigures]>): string {
  const lines = [
    '| phase | portals | workers | wall s | portal-hours used (s per portal) | REST requests (of them the minute poll) | 503 / 429 | portals done once (twice) | jobs failed / retried / deferred | peak RSS per worker MB | worker CPU s | emulator CPU s | PostgreSQL MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, p] of rows) {
    lines.push(`| ${name} | ${p.portals} | ${p.workers} | ${f1(p.wallSec)} | ${p.portalHours.toFixed(3)} (${f1(p.portalHours * 3600 / p.portals)}) | ${p.requests} (${p.pollRequests}) | ${p.rejected503} / ${p.rejected429} | ${p.portalsDone} (${p.portalsDoneTwice}) | ${p.jobsFailed} / ${p.jobsRetried} / ${p.jobsDeferred} | ${p.peakRssMb.map(f1).join(', ')} | ${p.workerCpuSec.map(f1).join(', ')} | ${f1(p.emulatorCpuSec)} | ${f1(p.pgBytes / 1e6)} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const key = randomBytes(32).toString('hex');
  const app = { clientId: `local.portals${randomBytes(4).toString('hex')}`, clientSecret: randomBytes(16).toString('hex') };
  setTokenCipher(createTokenCipher(Buffer.from(key, 'hex')));
  // the portals' history ends a day and two hours ago: after the night's day of living, portal time is the app's today
  const t0 = Date.now() - 26 * 3600_000;
  say(`${opts.portals} portals × ${opts.contacts} contacts, ${opts.workers} worker processes × JOB_CONCURRENCY ${opts.concurrency}; generating…`);
  const tGen = performance.now();
  const child = fork(path.join(here, 'lib', 'portals-child.ts'), [String(opts.portals), String(opts.contacts), String(opts.seed), app.clientId, app.clientSecret, String(t0)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ portals: ChildPortal[]; deals: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { portals: ChildPortal[]; deals: number }));
    child.once('exit', (c) => reject(new Error(`emulator child exited (${c})`)));
  });
  say(`${ready.portals.length} portals generated and installed in ${f1((performance.now() - tGen) / 1000)} s (${ready.deals} deals)`);
  const bdb = await openBenchDb('postgres');
  let pool: WorkerPool | null = null;
  // interrupted (Ctrl-C, a time box): the workers and the emulators go, the scratch database is dropped
  const interrupted = (sig: string) => {
    say(`${sig}: stopping the workers, dropping the database`);
    void (async () => {
      await pool?.stop(5_000).catch(() => {});
      await bdb.cleanup().catch(() => {});
      child.kill('SIGKILL');
      process.exit(130);
    })();
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const db = bdb.db;
    const ids: number[] = [];
    for (const p of ready.portals) {
      const row = await upsertPortalOnInstall(db, {
        memberId: p.memberId, domain: new URL(p.url).host, clientEndpoint: p.clientEndpoint, serverEndpoint: p.serverEndpoint,
        accessToken: p.accessToken, refreshToken: p.refreshToken, expiresAt: new Date(p.expiresAt), scope: 'crm,user', status: 'active', language: 'en',
      });
      ids.push(row.id);
    }
    const u = new URL(bdb.pg!.base);
    u.pathname = `/${bdb.pg!.name}`;
    pool = await startWorkerPool(opts.workers, {
      ...process.env, NODE_ENV: 'development', DATABASE_URL: u.toString(), TOKEN_ENCRYPTION_KEY: key, CLIENT_ID: app.clientId, CLIENT_SECRET: app.clientSecret,
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', JOB_CONCURRENCY: String(opts.concurrency),
      // as docs/deploy.md starts workers: the V8 heap capped (BENCH_WORKER_NODE_OPTIONS adds flags, e.g. a heap snapshot signal)
      NODE_OPTIONS: [process.env.BENCH_WORKER_NODE_OPTIONS, WORKER_HEAP_CAP].filter(Boolean).join(' '),
    });
    // the sender: what the web process does on install and what the 03:00 schedule's onFire does (src/jobs/workers.ts)
    const sender = await startWorkers({ db, clientFor: () => { throw new Error('send only'); }, work: false, offlinePollCron: null, schedules: false });
    let install: PhaseFigures, night: PhaseFigures;
    let change: { created: number; moved: number; touched: number; deals: number };
    let fields: { portals: number; contacts: number; mismatches: number };
    try {
      install = await runPhase('install wave', db, child, pool, ids, (id) => sender.enqueue.sync(id, 'full', true), QUEUES.writeback);
      change = await ask(child, { cmd: 'day', fraction: opts.touch });
      say(`a portal day: ${change.created} deals begun, ${change.moved} stage moves, ${change.touched} deals edited (of ${change.deals})`);
      night = await runPhase('night', db, child, pool, ids, (id) => sender.enqueue.reconcile(id), QUEUES.reconcile);
      fields = await checkFields(db, child, ids, Math.min(5, ids.length));
    } finally {
      await sender.stop({ timeoutMs: 2_000 });
    }
    await pool.stop();

    const windowSec = opts['window-h'] * 3600;
    const holds = night.wallSec <= windowSec;
    const perWorker = windowSec / (night.wallSec * opts.workers / opts.portals);
    const ok = night.portalsDone === opts.portals && night.portalsDoneTwice === 0 && install.portalsDone === opts.portals
      && night.jobsFailed === 0 && install.jobsFailed === 0 && fields.mismatches === 0 && fields.contacts > 0;
    if (opts.json) {
      console.log(JSON.stringify({
        portals: opts.portals, contacts: opts.contacts, workers: opts.workers, concurrency: opts.concurrency, windowH: opts['window-h'],
        install, change, night, fieldsChecked: fields, holds, portalsPerWorker: Math.round(perWorker), ok,
      }));
    } else {
      console.log([
        `Portals: ${opts.portals} × ${opts.contacts} contacts (${ready.deals} deals in all), standard plan, clocks at real speed (portal time = wall time; nothing fast-forwarded); ${opts.workers} worker processes × JOB_CONCURRENCY ${opts.concurrency}; PostgreSQL.`,
        `Night: each portal lived a day (${change.created} deals begun, ${change.moved} stage moves) and ${change.touched} deals were edited, of ${change.deals}.`,
        '',
        table([['install wave (sync full → score → write-back)', install], ['night (reconcile: incremental sync → score → write-back)', night]]),
        '',
        `Portal-hours used = sum over the phase's completed cycle jobs of (completed − started) (pg-boss's timestamps; queue waits excluded).`,
        `Fields: ${fields.contacts} labelled contacts on ${fields.portals} sample portals, ${fields.mismatches} CRM segment fields differ from the store's labels.`,
        `Night window ${opts['window-h']} h: ${holds ? 'holds' : 'does not hold'} (${f1(night.wallSec / 60)} min).`,
        `One worker serves ~${Math.round(perWorker)} portals a night (K = window / (wall × workers / portals) = ${windowSec} / (${f1(night.wallSec)} × ${opts.workers} / ${opts.portals}); a linear extrapolation).`,
        `Checks: ${ok ? 'passed' : '**FAILED**'}.`,
      ].join('\n'));
    }
    if (!ok) process.exitCode = 1;
  } finally {
    await pool?.stop(5_000);
    await bdb.cleanup();
    setTokenCipher(undefined);
    child.send({ cmd: 'exit', id: 0 });
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  }
}

await main();
