/**
 * Jobs: pg-boss workers on the store database.
 *  - two workers (two pools, two pg-boss instances: what two app processes are) on one
 *    PostgreSQL share the jobs of three portals: no job runs twice, every job runs, and no
 *    two runs of one portal ever overlap, whichever queue they came from;
 *  - the same workers on PGlite (one process) run and finish jobs;
 *  - the portal lease: exclusive, freed on release, taken over after expiry;
 *  - a dead refresh token marks the portal needs_reauth and completes the job (no retry loop);
 *  - schedules: default 03:00 in the portal's time zone, validated cron expressions.
 */
import { beforeAll, expect, it } from 'vitest';
import type { B24Client } from '../../src/b24/client.js';
import { DeadRefreshTokenError } from '../../src/b24/errors.js';
import { openDb, upsertPortalOnInstall, updatePortalInfo, updatePortalSettings, getPortal, type Db } from '../../src/store/index.js';
import { QUEUES, startWorkers, tryLockPortal, PortalSchedules, type JobContext, type PortalQueue, type Workers } from '../../src/jobs/index.js';
import { scheduleSchema as scheduleSettingsSchema } from '../../src/settings/index.js';
import { eachDb } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const noClient = (): B24Client => { throw new Error('no client in this test'); };

interface RunRec { portalId: number; queue: string; jobId: string; tag: unknown; worker: string; start: number; end: number }

function recorder(runs: RunRec[], queue: PortalQueue) {
  return async (ctx: JobContext) => {
    const start = performance.now();
    await sleep(20 + Math.random() * 60);
    runs.push({ portalId: ctx.portalId, queue, jobId: ctx.jobId, tag: (ctx.data as { tag?: unknown }).tag, worker: ctx.workerId, start, end: performance.now() });
    return { ok: true };
  };
}

function processors(runs: RunRec[]) {
  return { events: recorder(runs, 'events'), sync: recorder(runs, 'sync'), score: recorder(runs, 'score'), writeback: recorder(runs, 'writeback'), reconcile: recorder(runs, 'reconcile') };
}

async function sendMany(w: Workers, portals: number[], perPortal: number): Promise<number> {
  const qs: PortalQueue[] = ['sync', 'score', 'writeback', 'reconcile'];
  let n = 0;
  for (let i = 0; i < perPortal; i++) {
    for (const p of portals) {
      const q = qs[(i + p) % qs.length]!;
      const id = await w.boss.send(QUEUES[q], { portalId: p, tag: `${q}-${p}-${i}` });
      if (id) n++;
    }
  }
  return n;
}

function assertNoOverlap(runs: RunRec[]): void {
  const byPortal = new Map<number, RunRec[]>();
  for (const r of runs) (byPortal.get(r.portalId) ?? byPortal.set(r.portalId, []).get(r.portalId)!).push(r);
  for (const [, list] of byPortal) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) expect(list[i]!.start, `portal ${list[i]!.portalId}: run ${list[i]!.tag} started before ${list[i - 1]!.tag} ended`).toBeGreaterThanOrEqual(list[i - 1]!.end);
  }
}

eachDb('jobs workers', (getDb, { kind, url }) => {
  let db: Db;
  const portals: number[] = [];
  beforeAll(async () => {
    db = getDb();
    for (let i = 0; i < 3; i++) portals.push((await upsertPortalOnInstall(db, { memberId: `jobs-${kind}-${i}`, domain: `j${i}.example.com`, status: 'active' })).id);
  });

  it('the portal lease is exclusive, released, and taken over after expiry', async () => {
    const p = portals[0]!;
    const a = await tryLockPortal(db, p, 'test', { ttlSec: 1 });
    expect(a).not.toBeNull();
    expect(await tryLockPortal(db, p, 'test')).toBeNull();
    await a!.release();
    const b = await tryLockPortal(db, p, 'test', { ttlSec: 1 });
    expect(b).not.toBeNull();
    // a holder that dies: no heartbeat after its process is gone → free after the ttl
    await db.query(`UPDATE portal_locks SET expires_at = now() - interval '1 second' WHERE portal_id = $1`, [p]);
    const c = await tryLockPortal(db, p, 'test', { ttlSec: 5 });
    expect(c).not.toBeNull();
    await sleep(400); // b's heartbeat (every ttl/3) notices it lost the lease
    expect(b!.signal.aborted).toBe(true);
    await b!.release(); // must not delete c's lease
    expect(await tryLockPortal(db, p, 'test')).toBeNull();
    await c!.release();
  });

  it(kind === 'postgres' ? 'two workers on one PostgreSQL: every job once, never one portal twice at a time' : 'one worker on PGlite runs every job once, one portal at a time', async () => {
    const runs: RunRec[] = [];
    const common = { clientFor: noClient, processors: processors(runs), pollingIntervalSeconds: 0.5, busyRetrySec: 1, concurrency: 3, offlinePollCron: null, schedules: false } as const;
    const w1 = await startWorkers({ ...common, db, workerId: 'w1' });
    let db2: Db | null = null;
    let w2: Workers | null = null;
    try {
      if (kind === 'postgres') {
        db2 = await openDb({ databaseUrl: url()!, poolMax: 5 });
        w2 = await startWorkers({ ...common, db: db2, workerId: 'w2' });
      }
      const sent = await sendMany(w1, portals, kind === 'postgres' ? 12 : 6);
      await w1.idle(120_000);
      if (w2) await w2.idle(120_000);
      // every sent job ran exactly once (a job that found its portal busy re-queued itself:
      // its tag runs once in total)
      const tags = runs.map((r) => r.tag);
      expect(new Set(tags).size).toBe(tags.length);
      expect(tags.length).toBe(sent);
      expect(new Set(runs.map((r) => r.jobId)).size).toBe(runs.length);
      assertNoOverlap(runs);
      if (w2) {
        const workers = new Set(runs.map((r) => r.worker.split(':')[0]));
        expect(workers.has('w1') && workers.has('w2')).toBe(true);
      }
      // the leases are all released
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM portal_locks`);
      expect(rows[0]!.n).toBe(0);
    } finally {
      await w2?.stop();
      await w1.stop();
      await db2?.close();
    }
  });

  it('a dead refresh token marks the portal needs_reauth and completes the job', async () => {
    const p = (await upsertPortalOnInstall(db, { memberId: `jobs-${kind}-reauth`, domain: 'r.example.com', status: 'active' })).id;
    let calls = 0;
    const w = await startWorkers({
      db, clientFor: noClient, pollingIntervalSeconds: 0.5, offlinePollCron: null, schedules: false,
      processors: { sync: async () => { calls++; throw new DeadRefreshTokenError('invalid_grant', 'expired', 'r'); } },
    });
    try {
      const id = await w.enqueue.sync(p, 'incremental', true);
      await w.idle(30_000);
      expect(calls).toBe(1);
      expect((await getPortal(db, p))!.status).toBe('needs_reauth');
      const job = await w.boss.getJobById(QUEUES.sync, id!);
      expect(job?.state).toBe('completed');
      // further jobs of that portal are skipped without calling the processor
      await w.enqueue.score(p);
      await w.idle(30_000);
      expect(calls).toBe(1);
    } finally {
      await w.stop();
    }
  });

  it('schedules: nightly 03:00 in the portal time zone by default; admin cron validated', async () => {
    expect(scheduleSettingsSchema.safeParse({ cron: '30 2 * * 1-5' }).success).toBe(true);
    expect(scheduleSettingsSchema.safeParse({ cron: 'every night' }).success).toBe(false);
    expect(scheduleSettingsSchema.safeParse({ cron: '0 0 3 * * *' }).success).toBe(false);
    const [a, b] = portals as [number, number];
    await updatePortalInfo(db, a, { timeZone: 'Europe/Berlin' });
    await updatePortalSettings(db, b, { schedule: { cron: '15 4 * * *' } });
    const fired: number[] = [];
    const s = new PortalSchedules(db, async (p) => { fired.push(p); });
    try {
      await s.start(3600);
      const next = s.nextRuns();
      const na = next.get(a)!;
      expect(na.cron).toBe('0 3 * * *');
      expect(na.timeZone).toBe('Europe/Berlin');
      const hm = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(na.next!);
      expect(hm).toBe('03:00');
      expect(next.get(b)!.cron).toBe('15 4 * * *');
      // switched off → gone after refresh
      await updatePortalSettings(db, b, { schedule: { enabled: false } });
      await s.refresh();
      expect(s.nextRuns().has(b)).toBe(false);
    } finally {
      await s.stop();
    }
  });
});
