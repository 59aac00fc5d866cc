/**
 * Graceful shutdown and the command line (src/main.ts, src/app.ts close, src/jobs stop):
 *  - a job that finishes within the stop timeout completes; one that does not is handed back:
 *    pg-boss shows it waiting for a retry, its signal was aborted, its portal lease is gone;
 *  - the HTTP server finishes a request in flight after close() began and refuses new ones;
 *  - a worker process (`node --import tsx src/main.ts --role worker`, on PostgreSQL) answers
 *    /livez and /readyz on its own port and exits 0 on SIGTERM;
 *  - `--role bogus` exits 1 naming the flag; `npm start` without dist/ exits 1 saying to build.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { Router } from 'express';
import { beforeAll, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { QUEUES, startWorkers, type JobContext } from '../../src/jobs/index.js';
import { silentLogger } from '../../src/server/log.js';
import { upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { createTestDb, eachDb } from '../helpers/db.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const noClient = () => { throw new Error('no client in this test'); };

eachDb('graceful stop', (getDb, { kind }) => {
  let db: Db;
  let portalId: number;
  let portal2: number;
  beforeAll(async () => {
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: `stop-${kind}`, domain: 's.example.com', status: 'active' })).id;
    portal2 = (await upsertPortalOnInstall(db, { memberId: `stop2-${kind}`, domain: 't.example.com', status: 'active' })).id;
  });

  it('a job that finishes within the timeout completes; one that does not is handed back and its lease released', async () => {
    let finished = 0;
    let sawAbort = false;
    const quick = async () => { await sleep(800); finished++; return { ok: true }; };
    const stuck = async (ctx: JobContext) => {
      await new Promise<void>((resolve) => {
        ctx.signal.addEventListener('abort', () => { sawAbort = true; resolve(); });
        setTimeout(resolve, 60_000).unref();
      });
      throw new Error('aborted');
    };
    const common = { db, clientFor: noClient, pollingIntervalSeconds: 0.5, offlinePollCron: null, schedules: false, orphanSweepSec: null } as const;

    const w1 = await startWorkers({ ...common, processors: { writeback: quick } });
    const id1 = await w1.enqueue.writeback(portalId);
    for (let i = 0; i < 200 && w1.running() === 0; i++) await sleep(50);
    expect(w1.running()).toBe(1);
    await w1.stop({ timeoutMs: 10_000 });
    expect(finished).toBe(1);
    const j1 = await w1.boss.getJobById(QUEUES.writeback, id1!).catch(() => null);
    // the stopped boss closed its pool: read the state with our own connection
    const state = async (id: string) => (await db.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE id = $1::uuid`, [id])).rows[0]?.state;
    expect(j1?.state ?? (await state(id1!))).toBe('completed');

    const w2 = await startWorkers({ ...common, processors: { writeback: stuck } });
    const id2 = await w2.enqueue.writeback(portal2); // another portal: write-back jobs of one portal dedupe for 10 s
    for (let i = 0; i < 200 && w2.running() === 0; i++) await sleep(50);
    expect(w2.running()).toBe(1);
    const { rows: held } = await db.query<{ job_id: string }>(`SELECT job_id FROM portal_locks WHERE portal_id = $1`, [portal2]);
    expect(held[0]?.job_id).toBe(id2);
    const t0 = Date.now();
    await w2.stop({ timeoutMs: 1_500 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(sawAbort).toBe(true);
    expect(await state(id2!)).toBe('retry'); // handed back: pg-boss runs it again (elsewhere)
    const { rows: left } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM portal_locks WHERE portal_id = $1`, [portal2]);
    expect(left[0]!.n).toBe(0);
    await db.query(`DELETE FROM pgboss.job WHERE id = $1::uuid`, [id2]);
  });

  it('close() lets a request in flight finish and refuses new connections', async () => {
    const slow = Router();
    let started = 0;
    slow.get('/_slow', async (_req, res) => { started++; await sleep(1_000); res.json({ done: true }); });
    const app = await startApp({ db, env: {}, config: { port: 0, host: '127.0.0.1', logLevel: 'error' }, log: silentLogger, workers: false, ops: [slow], uiDist: '/nonexistent' });
    const inFlight = axios.get(`${app.url}/_slow`, { validateStatus: () => true });
    for (let i = 0; i < 100 && started === 0; i++) await sleep(20);
    const closing = app.close({ timeoutMs: 10_000 });
    expect(app.draining).toBe(true);
    const r = await inFlight;
    expect([r.status, r.data]).toEqual([200, { done: true }]);
    await closing;
    await expect(axios.get(`${app.url}/livez`, { timeout: 2_000 })).rejects.toThrow();
  });
});

it('a worker process serves health on its own port and exits 0 on SIGTERM', async () => {
  const t = await createTestDb('postgres');
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'worker'], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DATABASE_URL: t.url!, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', JOB_POLL_SEC: '0.5' },
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    const until = Date.now() + 90_000;
    while (!/"ops":"(http:[^"]+)"/.test(err)) {
      if (Date.now() > until || proc.exitCode !== null) throw new Error(`worker did not start: ${err.slice(-1500)}`);
      await sleep(100);
    }
    const ops = /"ops":"(http:[^"]+)"/.exec(err)![1]!;
    expect((await axios.get(`${ops}/livez`)).data).toEqual({ ok: true });
    const ready = await axios.get(`${ops}/readyz`);
    expect(ready.data).toEqual({ ok: true, checks: { accepting: true, database: true, migrations: true, workers: true } });
    expect((await axios.get(`${ops}/metrics`)).data).toContain('b24seg_job_queue_depth{queue="b24seg-sync",state="queued"} 0');
    const other = await axios.get(`${ops}/install`, { validateStatus: () => true });
    expect(other.status).toBe(404); // a worker serves no app endpoints
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).toContain('SIGTERM, shutting down (worker)');
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await exited;
    await t.cleanup();
  }
}, 120_000);

it('a bad --role and a missing build exit 1 with a message that says what to do', () => {
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'bogus'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain('--role: must be one of web, worker, all');
  const extra = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'web', '--port', '1'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(extra.status).toBe(1);
  expect(extra.stderr).toContain('unknown argument "--port"');
  // npm start runs scripts/start.mjs: a checkout without dist/
  const dir = mkdtempSync(path.join(os.tmpdir(), 'b24seg-nodist-'));
  try {
    mkdirSync(path.join(dir, 'scripts'));
    cpSync(path.join(ROOT, 'scripts/start.mjs'), path.join(dir, 'scripts/start.mjs'));
    const r = spawnSync(process.execPath, [path.join(dir, 'scripts/start.mjs'), '--role', 'web'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('dist/src/main.js is missing: run `npm run build` first');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

