/**
 * Several app processes starting at once on one fresh PostgreSQL (a rolling deploy, N web + M
 * workers started together, docs/deploy.md): pg-boss installs its schema under its own lock, but
 * its create_queue is not safe when two processes create the same queue at the same moment (it
 * deadlocks, even for two different queues, and boss.start() creates one of its own).
 * startBoss in src/jobs/queues.ts starts pg-boss and creates the queues under an advisory lock:
 * every process starts, each queue exists once, the cluster schedules (poll, housekeeping) exist
 * once, and nothing of pg-boss's schema is made while another process holds the lock.
 */
import { describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/store/index.js';
import { QUEUES, startWorkers, type Workers } from '../../src/jobs/index.js';
import { QUEUE_LOCK_KEY } from '../../src/jobs/queues.js';
import { createTestDb, kindsWanted } from '../helpers/db.js';

describe.runIf(kindsWanted().includes('postgres'))('PostgreSQL: processes starting their workers at once', () => {
  it('four processes racing on a fresh pg-boss schema all start; queues and schedules exist once', async () => {
    const t = await createTestDb('postgres');
    const dbs: Db[] = await Promise.all([1, 2, 3, 4].map(() => openDb({ databaseUrl: t.url!, poolMax: 2 })));
    const started: Workers[] = [];
    try {
      for (let round = 0; round < 12; round++) {
        const schema = `pgboss_race${round}`;
        const res = await Promise.allSettled(dbs.map((db) => startWorkers({
          db, clientFor: () => { throw new Error('no client'); }, schema, schedules: false, pollingIntervalSeconds: 5,
        })));
        for (const r of res) if (r.status === 'fulfilled') started.push(r.value);
        expect(res.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), `round ${round}`).toEqual([]);
        const { rows } = await t.db.query<{ name: string }>(`SELECT name FROM ${schema}.queue WHERE name LIKE 'b24seg-%' ORDER BY name`);
        expect(rows.map((r) => r.name)).toEqual(Object.values(QUEUES).sort());
        const { rows: sch } = await t.db.query<{ name: string }>(`SELECT name FROM ${schema}.schedule ORDER BY name`);
        expect(sch.map((r) => r.name)).toEqual([QUEUES.housekeeping, QUEUES.poll].sort());
        await Promise.all(started.splice(0).map((w) => w.stop()));
      }
    } finally {
      await Promise.all(started.map((w) => w.stop()));
      await Promise.all(dbs.map((d) => d.close()));
      await t.cleanup();
    }
  });

  it('a process starting while another holds the lock makes no pg-boss schema or queue until it is released', async () => {
    const t = await createTestDb('postgres');
    const db = await openDb({ databaseUrl: t.url!, poolMax: 2 });
    const schema = 'pgboss_held';
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let locked!: () => void;
    const holding = new Promise<void>((r) => { locked = r; });
    const holder = t.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [QUEUE_LOCK_KEY]);
      locked();
      await gate;
    });
    let w: Workers | undefined;
    try {
      await holding;
      const starting = startWorkers({ db, clientFor: () => { throw new Error('no client'); }, schema, schedules: false, pollingIntervalSeconds: 5 });
      await new Promise((r) => setTimeout(r, 1500));
      const { rows: before } = await t.db.query<{ n: string }>('SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1', [schema]);
      expect(Number(before[0]!.n)).toBe(0);
      release();
      await holder;
      w = await starting;
      const { rows } = await t.db.query<{ name: string }>(`SELECT name FROM ${schema}.queue ORDER BY name`);
      expect(rows.map((r) => r.name)).toEqual(['__pgboss__send-it', ...Object.values(QUEUES)].sort());
    } finally {
      release();
      await holder.catch(() => {});
      await w?.stop();
      await db.close();
      await t.cleanup();
    }
  });
});
