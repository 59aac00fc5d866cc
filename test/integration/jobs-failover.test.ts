/**
 * Failover (issue 16 item 2), PostgreSQL only: three worker PROCESSES (`node --import tsx
 * src/main.ts --role worker`) on one database and 20 emulated portals (30 contacts each). A full
 * cycle (sync → score → write-back) is queued per portal; the first worker is killed with SIGKILL
 * while it holds a portal's lease in the middle of a sync. The others finish: the dead worker's
 * leases run out (JOB_LOCK_TTL_SEC=3), the orphan sweep hands its jobs back, the retry resumes the
 * sync from its checkpoint. Then:
 *  - every portal has exactly one finished sync run, score run and write-back run;
 *  - no CRM record was written twice (the emulator counts every successful update per record),
 *    and the records written are exactly those a clean run writes;
 *  - the CRM fields of every portal equal, record by record, those of a clean run with ONE
 *    in-process worker over a second set of portals generated from the same seeds at the same
 *    instant (read back from the emulators, enumeration items as their XML_ID).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientForPortal } from '../../src/portal-clients.js';
import { createTokenCipher, setTokenCipher, type Db } from '../../src/store/index.js';
import { startWorkers, type Workers } from '../../src/jobs/index.js';
import { createTestDb, kindsWanted, postgresUnavailable, type TestDb } from '../helpers/db.js';
import { installAll, segFields, startCountedPortals, type CountedPortal } from './helpers/failover-portals.js';

const N = 20;
const CONTACTS = 30;
const SEED0 = 1600;
const ROOT = path.resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Child { proc: ChildProcess; id: string; stderr: string[]; exited: Promise<number | null> }

function spawnWorker(id: string, env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'worker'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, id, stderr, exited };
}

async function waitStarted(c: Child, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!c.stderr.join('').includes('"main: started"')) {
    if (Date.now() > until || c.proc.exitCode !== null) throw new Error(`worker ${c.id} did not start: ${c.stderr.join('').slice(-2000)}`);
    await sleep(100);
  }
}

async function perPortalRuns(db: Db, table: 'sync_runs' | 'score_runs' | 'writeback_runs', ids: number[]): Promise<number[]> {
  const { rows } = await db.query<{ portal_id: number; n: number }>(
    `SELECT portal_id, count(*)::int AS n FROM ${table} WHERE portal_id = ANY($1::int[]) AND status = 'done' GROUP BY portal_id`, [ids],
  );
  const m = new Map(rows.map((r) => [Number(r.portal_id), r.n]));
  return ids.map((id) => m.get(id) ?? 0);
}

async function waitCycles(db: Db, ids: number[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const done = await perPortalRuns(db, 'writeback_runs', ids);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE name IN ('b24seg-sync', 'b24seg-score', 'b24seg-writeback') AND state IN ('created', 'retry', 'active')`,
    );
    if (done.every((n) => n >= 1) && rows[0]!.n === 0) return;
    if (Date.now() > until) throw new Error(`cycles not finished after ${timeoutMs} ms: write-backs done ${JSON.stringify(done)}, ${rows[0]!.n} jobs open`);
    await sleep(250);
  }
}

const kinds = kindsWanted().filter((k) => k === 'postgres');
for (const _kind of kinds) {
  describe('jobs failover [postgres]', () => {
    const key = randomBytes(32).toString('hex');
    const app = { clientId: `local.failover${randomBytes(4).toString('hex')}`, clientSecret: randomBytes(16).toString('hex') };
    let clean: CountedPortal[] = [];
    let run: CountedPortal[] = [];
    let cleanDb: TestDb | undefined;
    let runDb: TestDb | undefined;
    const children: Child[] = [];

    beforeAll(async () => {
      if (postgresUnavailable) throw new Error(`PostgreSQL not reachable: ${postgresUnavailable}`);
      setTokenCipher(createTokenCipher(Buffer.from(key, 'hex')));
      const t0 = Date.now();
      clean = await startCountedPortals(N, t0, { contacts: CONTACTS, seed0: SEED0 });
      run = await startCountedPortals(N, t0, { contacts: CONTACTS, seed0: SEED0 });
      for (const p of [...clean, ...run]) p.release();
      cleanDb = await createTestDb('postgres');
      runDb = await createTestDb('postgres');
    }, 120_000);

    afterAll(async () => {
      for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
      for (const p of [...clean, ...run]) await p.emu.close();
      await cleanDb?.cleanup();
      await runDb?.cleanup();
      setTokenCipher(undefined);
    });

    it('a worker killed mid-cycle: every portal cycles exactly once, and the CRM equals a clean run', async () => {
      // ---- the clean run: one worker, in process
      const cdb = cleanDb!.db;
      const cleanIds = await installAll(cdb, clean, { ...app, tag: 'clean' });
      const opts = { clientId: app.clientId, clientSecret: app.clientSecret };
      let w: Workers | null = await startWorkers({
        db: cdb, clientFor: (id) => clientForPortal(cdb, id, opts), workerId: 'clean', concurrency: 4, pollingIntervalSeconds: 0.5, offlinePollCron: null, schedules: false,
      });
      try {
        for (const id of cleanIds) await w.enqueue.sync(id, 'full', true);
        await waitCycles(cdb, cleanIds, 90_000);
      } finally {
        await w.stop({ timeoutMs: 5_000 });
        w = null;
      }

      // ---- three worker processes on one PostgreSQL
      const db = runDb!.db;
      const ids = await installAll(db, run, { ...app, tag: 'run' });
      const env = {
        ...process.env, NODE_ENV: 'test', DATABASE_URL: runDb!.url!, TOKEN_ENCRYPTION_KEY: key, CLIENT_ID: app.clientId, CLIENT_SECRET: app.clientSecret,
        PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', JOB_LOCK_TTL_SEC: '3', JOB_POLL_SEC: '0.5', JOB_CONCURRENCY: '2',
      };
      for (const id of ['fw-victim', 'fw-b', 'fw-c']) children.push(spawnWorker(id, { ...env, WORKER_ID: id }));
      await Promise.all(children.map((c) => waitStarted(c, 60_000)));
      let recovered: { killed: number[]; ms: number } | null = null;
      const sender = await startWorkers({ db, clientFor: () => { throw new Error('send only'); }, work: false, offlinePollCron: null, schedules: false });
      try {
        for (const id of ids) await sender.enqueue.sync(id, 'full', true);

        // SIGKILL the victim while it holds a sync lease (and no write-back lease) of a portal whose sync run is open
        const victim = children[0]!;
        let killed: number[] = [];
        const until = Date.now() + 60_000;
        while (!killed.length) {
          const { rows } = await db.query<{ portal_id: number; kind: string }>(
            `SELECT l.portal_id, l.kind FROM portal_locks l WHERE l.holder LIKE $1 AND l.expires_at >= now()`, [`${victim.id}:%`],
          );
          const open = await db.query<{ portal_id: number }>(`SELECT portal_id FROM sync_runs WHERE status = 'running'`);
          const running = new Set(open.rows.map((r) => Number(r.portal_id)));
          const syncing = rows.filter((r) => r.kind === 'sync' && running.has(Number(r.portal_id)));
          if (syncing.length && !rows.some((r) => r.kind === 'writeback')) {
            victim.proc.kill('SIGKILL');
            killed = syncing.map((r) => Number(r.portal_id));
          } else if (Date.now() > until) throw new Error('the victim never held a sync lease');
          else await sleep(20);
        }
        expect(await victim.exited).toBeNull(); // killed by the signal, not exited
        const killedAt = Date.now();

        await waitCycles(db, ids, 100_000);
        recovered = { killed, ms: Date.now() - killedAt };
        // the killed portals' sync jobs were handed back and retried
        const { rows: retried } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'b24seg-sync' AND retry_count > 0`);
        expect(retried[0]!.n).toBeGreaterThanOrEqual(1);
        // and their interrupted sync run was resumed, not started again: one run, done
        const { rows: killedRuns } = await db.query<{ portal_id: number; n: number }>(
          `SELECT portal_id, count(*)::int AS n FROM sync_runs WHERE portal_id = ANY($1::int[]) GROUP BY portal_id`, [killed],
        );
        expect(killedRuns.map((r) => r.n)).toEqual(killed.map(() => 1));
      } finally {
        await sender.stop({ timeoutMs: 2_000 });
      }

      // ---- exactly one cycle per portal
      expect(recovered).not.toBeNull();
      const ones = ids.map(() => 1);
      expect(await perPortalRuns(db, 'sync_runs', ids)).toEqual(ones);
      expect(await perPortalRuns(db, 'score_runs', ids)).toEqual(ones);
      expect(await perPortalRuns(db, 'writeback_runs', ids)).toEqual(ones);
      expect(await perPortalRuns(cdb, 'writeback_runs', cleanIds)).toEqual(ones);
      const { rows: leases } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM portal_locks WHERE expires_at >= now()`);
      expect(leases[0]!.n).toBe(0);

      // ---- no record written twice; the same records as the clean run; the same fields
      let written = 0;
      for (let i = 0; i < N; i++) {
        const twice = [...run[i]!.writes].filter(([, n]) => n > 1);
        expect([i, twice]).toEqual([i, []]);
        expect([i, [...run[i]!.writes.keys()].sort()]).toEqual([i, [...clean[i]!.writes.keys()].sort()]);
        written += run[i]!.writes.size;
        expect([i, segFields(run[i]!.emu.portal)]).toEqual([i, segFields(clean[i]!.emu.portal)]);
      }
      expect(written).toBeGreaterThan(N * 5); // the cycles did write (most contacts have a won deal)
      process.stdout.write(`failover: killed mid-sync on portals ${recovered!.killed.join(',')}; all ${N} cycles done ${(recovered!.ms / 1000).toFixed(1)} s after the kill; ${written} records written once each\n`);
    }, 240_000);
  });
}
