/** pg-boss 10 runs on the store's database, whichever kind it is. */
import { expect, it } from 'vitest';
import PgBoss from 'pg-boss';
import { pgBossOptions } from '../../src/store/index.js';
import { eachDb } from '../helpers/db.js';

eachDb('pg-boss on the store database', (getDb, { kind }) => {
  it('starts, sends and works one job', async () => {
    const db = getDb();
    const opts = pgBossOptions(db);
    expect(kind === 'postgres' ? 'connectionString' in opts : 'db' in opts).toBe(true);
    const boss = new PgBoss({ ...opts, schema: 'pgboss_test', supervise: false, schedule: false, migrate: true });
    boss.on('error', (e) => console.error('pg-boss error', e));
    await boss.start();
    try {
      await boss.createQueue('store-smoke');
      const done = new Promise<unknown>((resolve) => {
        void boss.work<{ n: number }>('store-smoke', { pollingIntervalSeconds: 0.5 }, async ([job]) => {
          resolve(job!.data);
          return { doubled: job!.data.n * 2 };
        });
      });
      const id = await boss.send('store-smoke', { n: 21 });
      expect(id).toBeTruthy();
      expect(await done).toEqual({ n: 21 });
      // the job reaches 'completed' with its output stored
      let job: Awaited<ReturnType<typeof boss.getJobById>> = null;
      for (let i = 0; i < 40; i++) {
        job = await boss.getJobById('store-smoke', id!);
        if (job?.state === 'completed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(job?.state).toBe('completed');
      expect(job?.output).toEqual({ doubled: 42 });
      // and the app's own tables are still usable on the shared connection
      const { rows } = await db.query<{ c: number }>('SELECT count(*)::int AS c FROM portals');
      expect(rows[0]!.c).toBe(0);
    } finally {
      await boss.stop({ graceful: false, wait: true });
    }
  });
});
