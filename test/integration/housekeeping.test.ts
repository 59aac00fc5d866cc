/**
 * Retention and housekeeping (src/store/retention.ts, src/jobs/housekeeping.ts) on PGlite and
 * PostgreSQL with real rows: a generated emulator portal scored at 34 as-of days over 27 months,
 * plus failed and running runs, company labels, a second portal, inbox rows and rate-limit
 * counters. What is kept is recomputed here in plain JS from the runs as created (the latest N done
 * runs, the first done run of each UTC month of the last 24, runs not done for a day), never with
 * the app's SQL. After a pass: exactly those runs and their labels remain, the other portal is
 * untouched, effectiveness and the dashboard still answer over the kept runs with the same figures,
 * a second pass deletes nothing, a pass out of time stops and the next one finishes. The
 * housekeeping job is scheduled once per cluster and runs as a pg-boss job; pg-boss archives and
 * deletes finished jobs at the configured ages.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import PgBoss from 'pg-boss';
import { eachDb } from '../helpers/db.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal as EmuPortal } from '../../src/emulator/portal.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { runScoring } from '../../src/pipeline/score.js';
import { createScoreRun, insertContactLabels, pgBossOptions, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { pruneScoreRuns } from '../../src/store/retention.js';
import { addToInbox } from '../../src/events/inbox.js';
import { QUEUES, bossRetention, runHousekeeping, silentLog, startWorkers, type HousekeepingOptions } from '../../src/jobs/index.js';
import { seedPortal, startUiServer, type UiTestServer } from './helpers/ui-server.js';

const DAY = 86_400_000;
const KEEP = 5;
/** as-of days of the runs, days before now: weekly lately, about two a month before, two beyond 24 months */
const RUN_DAYS_BACK = [820, 810, ...Array.from({ length: 26 }, (_, i) => 420 - i * 15), 35, 28, 21, 14, 7, 0];

interface RunRow { id: number; status: 'done' | 'failed' | 'running'; asOf: number; createdAt: number }

/** The retention rule, written out in JS (docs/deploy.md "Retention"). */
function expectedKept(runs: RunRow[], keep: number, months: number, now: number): Set<number> {
  const kept = new Set<number>();
  const done = runs.filter((r) => r.status === 'done');
  const newestFirst = [...done].sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
  for (const r of newestFirst.slice(0, keep)) kept.add(r.id);
  const n = new Date(now);
  const firstMonth = Date.UTC(n.getUTCFullYear(), n.getUTCMonth() - (months - 1), 1);
  const byMonth = new Map<string, RunRow>();
  for (const r of done) {
    const m = new Date(r.asOf).toISOString().slice(0, 7);
    const cur = byMonth.get(m);
    if (!cur || r.asOf < cur.asOf || (r.asOf === cur.asOf && (r.createdAt < cur.createdAt || (r.createdAt === cur.createdAt && r.id < cur.id)))) byMonth.set(m, r);
  }
  for (const r of byMonth.values()) if (r.asOf >= firstMonth) kept.add(r.id);
  for (const r of runs) if (r.status !== 'done' && r.createdAt > now - DAY) kept.add(r.id);
  return kept;
}

async function runsOf(db: Db, portalId: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(`SELECT id FROM score_runs WHERE portal_id = $1 ORDER BY id`, [portalId]);
  return rows.map((r) => Number(r.id));
}

async function labelCounts(db: Db, table: 'contact_labels' | 'company_labels', portalId: number): Promise<Map<number, number>> {
  const { rows } = await db.query<{ run: number; n: number }>(`SELECT run_id AS run, count(*)::int AS n FROM ${table} WHERE portal_id = $1 GROUP BY run_id`, [portalId]);
  return new Map(rows.map((r) => [Number(r.run), r.n]));
}

const sum = (m: Map<number, number>, ids: Iterable<number>) => [...ids].reduce((s, id) => s + (m.get(id) ?? 0), 0);

eachDb('housekeeping: score runs, inbox, rate limits, job history', (getDb, { kind }) => {
  let db: Db;
  let srv: UiTestServer;
  let portalId = 0;
  let memberId = '';
  let other = { portalId: 0, runId: 0 };
  const runs: RunRow[] = [];
  let keptIds = new Set<number>();
  let labelsBefore = new Map<number, number>();
  let companyBefore = new Map<number, number>();
  let effBefore: any;
  /** the run effectiveness is asked about: the latest kept done run whose 30-day window has elapsed */
  let asked = 0;
  const opts = (o: Partial<HousekeepingOptions> = {}): HousekeepingOptions => ({ scoreRuns: KEEP, scoreMonths: 24, inboxDays: 7, jobsDays: 7, cron: null, batch: 37, ...o });

  beforeAll(async () => {
    db = getDb();
    const emu = new EmuPortal({ language: 'en' });
    generatePortal(emu, { contacts: 120, seed: 41, years: 3 });
    memberId = emu.memberId;
    other = await seedPortal(db, `member-hk-other-${kind}`, [{ id: 1, name: 'X' }], [{ contactId: 1, segment: 'champions', monetary: 5 }]);
    portalId = (await upsertPortalOnInstall(db, { memberId, domain: 'hk.test', clientEndpoint: 'https://hk.test/rest/', status: 'active' })).id;
    await mirrorEmulatorPortal(emu, db, portalId);
    const now = Date.now();
    for (const back of RUN_DAYS_BACK) {
      const asOf = now - back * DAY;
      const r = await runScoring(db, portalId, new Date(asOf));
      // as in production: a run is created shortly after its as-of moment
      await db.query(`UPDATE score_runs SET created_at = as_of + interval '2 hours' WHERE portal_id = $1 AND id = $2`, [portalId, r.runId]);
      const { rows } = await db.query<{ asOf: Date; createdAt: Date }>(`SELECT as_of AS "asOf", created_at AS "createdAt" FROM score_runs WHERE id = $1`, [r.runId]);
      runs.push({ id: r.runId, status: 'done', asOf: rows[0]!.asOf.getTime(), createdAt: rows[0]!.createdAt.getTime() });
    }
    // runs that are not done: old leftovers go, recent ones stay a day
    for (const [status, hoursAgo] of [['failed', 72], ['failed', 2], ['running', 0.5], ['running', 120]] as const) {
      const r = await createScoreRun(db, portalId, { asOf: new Date(now - hoursAgo * 3_600_000), status });
      await db.query(`UPDATE score_runs SET created_at = now() - $2::float8 * interval '1 hour' WHERE id = $1`, [r.id, hoursAgo]);
      await insertContactLabels(db, portalId, r.id, [{ contactId: 1, segment: 'new' }, { contactId: 2, segment: 'lost' }]);
      runs.push({ id: r.id, status, asOf: now - hoursAgo * 3_600_000, createdAt: now - hoursAgo * 3_600_000 });
    }
    // company labels on a run that goes and on one that stays
    keptIds = expectedKept(runs, KEEP, 24, now);
    const gone = runs.find((r) => r.status === 'done' && !keptIds.has(r.id))!;
    const stays = runs.find((r) => r.status === 'done' && keptIds.has(r.id))!;
    for (const run of [gone, stays]) {
      await db.query(`INSERT INTO company_labels (portal_id, run_id, company_id, segment) SELECT $1, $2, g, 'loyal' FROM generate_series(1, 50) g`, [portalId, run.id]);
    }
    labelsBefore = await labelCounts(db, 'contact_labels', portalId);
    companyBefore = await labelCounts(db, 'company_labels', portalId);
    srv = await startUiServer(db);
  }, 300_000);
  afterAll(async () => {
    await srv?.close();
  });

  it('the fixture: runs of every kind on both sides of the rule', () => {
    expect(runs).toHaveLength(RUN_DAYS_BACK.length + 4);
    const gone = runs.filter((r) => !keptIds.has(r.id));
    // latest 5, one per month for the ~14 months covered, 2 recent non-done: the rest (≥ 15) goes
    expect(keptIds.size).toBeGreaterThanOrEqual(KEEP + 12);
    expect(gone.length).toBeGreaterThanOrEqual(15);
    expect(gone.some((r) => r.status === 'failed') && gone.some((r) => r.status === 'running')).toBe(true);
    expect(gone.some((r) => r.asOf < Date.now() - 800 * DAY)).toBe(true);
  });

  it('effectiveness and the dashboard answer before the pass (reference figures)', async () => {
    const admin = srv.session(portalId, memberId, { admin: true });
    const horizon = Math.max(...runs.filter((x) => x.status === 'done').map((x) => x.asOf));
    asked = runs.filter((x) => x.status === 'done' && keptIds.has(x.id) && x.asOf <= horizon - 31 * DAY).sort((a, b) => b.asOf - a.asOf)[0]!.id;
    const r = await srv.call('GET', `/api/ui/effectiveness?window=30&run=${asked}`, { session: admin });
    expect(r.status).toBe(200);
    effBefore = r.json;
    expect(effBefore.run.runId).toBe(asked);
    expect(effBefore.history.length).toBeGreaterThanOrEqual(10);
    expect((effBefore.runs as unknown[]).length).toBe(RUN_DAYS_BACK.length);
  });

  it('a pass out of time stops early and says so; nothing half-visible remains among the done runs', async () => {
    const r = await pruneScoreRuns(db, portalId, { keepLatest: KEEP, keepMonths: 24, batch: 37, maxMs: 0 });
    expect(r.more).toBe(true);
    expect(r.runsDeleted).toBe(0);
    // the run it started on left the readers (no longer 'done'); every done run still has all its labels
    const { rows } = await db.query<{ id: number; n: number }>(
      `SELECT r.id, (SELECT count(*)::int FROM contact_labels l WHERE l.portal_id = r.portal_id AND l.run_id = r.id) AS n FROM score_runs r WHERE r.portal_id = $1 AND r.status = 'done'`, [portalId]);
    for (const x of rows) expect(x.n, `run ${x.id}`).toBe(labelsBefore.get(Number(x.id)));
  });

  it('a full pass keeps exactly the latest N, the first run of each month and the recent non-done runs, with their labels', async () => {
    const before = await runsOf(db, other.portalId);
    const res = await runHousekeeping(db, opts(), silentLog);
    expect(res.more).toBe(false);
    expect(await runsOf(db, portalId)).toEqual([...keptIds].sort((a, b) => a - b));
    const goneIds = runs.map((r) => r.id).filter((id) => !keptIds.has(id));
    expect(res.runsDeleted).toBe(goneIds.length);
    const labelsAfter = await labelCounts(db, 'contact_labels', portalId);
    expect(sum(labelsAfter, labelsAfter.keys())).toBe(sum(labelsBefore, keptIds));
    for (const id of keptIds) expect(labelsAfter.get(id) ?? 0, `run ${id}`).toBe(labelsBefore.get(id) ?? 0);
    const companyAfter = await labelCounts(db, 'company_labels', portalId);
    expect([...companyAfter.keys()].every((id) => keptIds.has(id))).toBe(true);
    expect(sum(companyAfter, companyAfter.keys())).toBe(sum(companyBefore, keptIds));
    expect(res.labelsDeleted).toBe(sum(labelsBefore, goneIds) + sum(companyBefore, goneIds));
    // the other portal (one run, below N) is untouched
    expect(await runsOf(db, other.portalId)).toEqual(before);
    expect(before).toEqual([other.runId]);
  });

  it('effectiveness and the dashboard still answer over the kept runs, with the same figures for the runs they show', async () => {
    const admin = srv.session(portalId, memberId, { admin: true });
    const r = await srv.call('GET', `/api/ui/effectiveness?window=30&run=${asked}`, { session: admin });
    expect(r.status).toBe(200);
    const after = r.json as any;
    const keptDone = runs.filter((x) => x.status === 'done' && keptIds.has(x.id)).map((x) => x.id);
    expect(after.runs.map((x: { id: number }) => x.id)).toEqual(keptDone);
    expect(after.run.runId).toBe(asked);
    expect(after.run.complete).toBe(true);
    // a run's own window figures do not depend on which other runs are kept ("stayed" is measured at the next kept run)
    const strip = (f: any) => f.segments.map(({ stayed: _s, ...rest }: any) => rest);
    const beforeById = new Map<number, any>(effBefore.history.map((h: any) => [h.runId, h]));
    let compared = 0;
    for (const h of after.history) {
      const b = beforeById.get(h.runId);
      if (!b) continue;
      expect(strip(h), `run ${h.runId}`).toEqual(strip(b));
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(5);
    for (const h of after.history) if (h.nextRun) expect(keptIds.has(h.nextRun.id)).toBe(true);
    // a deleted run is gone for the API too; the dashboard compares kept runs
    const goneId = runs.find((x) => x.status === 'done' && !keptIds.has(x.id))!.id;
    expect((await srv.call('GET', `/api/ui/effectiveness?window=30&run=${goneId}`, { session: admin })).status).toBe(404);
    const d = await srv.call('GET', '/api/ui/dashboard?from=365d', { session: admin });
    expect(d.status).toBe(200);
    expect(keptIds.has((d.json as any).compare.from)).toBe(true);
  });

  it('a second pass deletes nothing (idempotent)', async () => {
    const ids = await runsOf(db, portalId);
    const res = await runHousekeeping(db, opts(), silentLog);
    expect(res).toMatchObject({ runsDeleted: 0, labelsDeleted: 0, inboxDeleted: 0, rateLimitsDeleted: 0, companyChangesDeleted: 0, more: false });
    expect(await runsOf(db, portalId)).toEqual(ids);
  });

  it('inbox rows older than RETAIN_INBOX_DAYS and rate-limit counters expired over an hour ago go; the rest stays', async () => {
    await addToInbox(db, portalId, Array.from({ length: 90 }, (_, i) => ({ entity: i % 2 ? 'deal' : 'contact', id: 1000 + i, action: 'upsert' })) as never);
    await addToInbox(db, other.portalId, Array.from({ length: 40 }, (_, i) => ({ entity: 'deal', id: 5000 + i, action: 'delete' })) as never);
    // 60 of A's and 10 of B's are 8 days old, 5 of A's 6 days old
    await db.query(`UPDATE crm_event_inbox SET received_at = now() - interval '8 days' WHERE portal_id = $1 AND entity_id < 1060`, [portalId]);
    await db.query(`UPDATE crm_event_inbox SET received_at = now() - interval '6 days' WHERE portal_id = $1 AND entity_id BETWEEN 1060 AND 1064`, [portalId]);
    await db.query(`UPDATE crm_event_inbox SET received_at = now() - interval '8 days' WHERE portal_id = $1 AND entity_id < 5010`, [other.portalId]);
    const now = Date.now();
    await db.query(`DELETE FROM rate_limits`);
    await db.query(
      `INSERT INTO rate_limits (key, points, expire) SELECT 'k' || g, 1, CASE WHEN g <= 45 THEN $1::bigint WHEN g <= 50 THEN $2::bigint ELSE $3::bigint END FROM generate_series(1, 60) g`,
      [now - 2 * 3_600_000, now - 30 * 60_000, now + 60_000],
    );
    const res = await runHousekeeping(db, opts(), silentLog);
    expect(res.inboxDeleted).toBe(70);
    expect(res.rateLimitsDeleted).toBe(45);
    const { rows } = await db.query<{ p: number; n: number }>(`SELECT portal_id AS p, count(*)::int AS n FROM crm_event_inbox GROUP BY portal_id ORDER BY portal_id`);
    expect(new Map(rows.map((r) => [r.p, r.n]))).toEqual(new Map([[portalId, 30], [other.portalId, 30]]));
    const { rows: rl } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM rate_limits`);
    expect(rl[0]!.n).toBe(15);
    expect((await runHousekeeping(db, opts(), silentLog)).inboxDeleted).toBe(0);
  });

  it('the company-change log keeps each portal\'s newest row only (migration 029)', async () => {
    const log = async () => (await db.query<{ p: number; v: string }>(`SELECT portal_id AS p, v::text AS v FROM company_changes ORDER BY portal_id, v`)).rows;
    await runHousekeeping(db, opts(), silentLog);
    const before = await log();
    // three statements write A's companies (an insert, then two upserts that update), two B's; a
    // statement that changes no company notes nothing
    for (let i = 0; i < 3; i++) await db.query(`INSERT INTO companies (portal_id, id, title) VALUES ($1, $2, 'x') ON CONFLICT (portal_id, id) DO UPDATE SET title = EXCLUDED.title || $3`, [portalId, 900_001, String(i)]);
    await db.query(`INSERT INTO companies (portal_id, id, title) VALUES ($1, 900002, 'b')`, [other.portalId]);
    await db.query(`UPDATE companies SET title = title || 'y' WHERE portal_id = $1`, [other.portalId]);
    await db.query(`UPDATE companies SET title = 'none' WHERE portal_id = $1 AND id = -1`, [other.portalId]);
    const written = await log();
    expect(written.length - before.length).toBe(3 + 2);
    const newest = new Map<number, string>();
    for (const r of written) if (!newest.has(r.p) || BigInt(r.v) > BigInt(newest.get(r.p)!)) newest.set(r.p, r.v);
    const res = await runHousekeeping(db, { ...opts(), batch: 3 }, silentLog);
    expect(res.companyChangesDeleted).toBe(written.length - newest.size);
    expect(await log()).toEqual([...newest].sort((x, y) => x[0] - y[0]).map(([p, v]) => ({ p, v })));
    expect((await runHousekeeping(db, opts(), silentLog)).companyChangesDeleted).toBe(0);
    // a portal deleted with its companies (the cascade) leaves no row: the trigger notes portals that exist
    const gone = (await db.query<{ id: number }>(`INSERT INTO portals (member_id, domain) VALUES ('hk-gone', 'gone.test') RETURNING id`)).rows[0]!.id;
    await db.query(`INSERT INTO companies (portal_id, id, title) VALUES ($1, 1, 'a'), ($1, 2, 'b')`, [gone]);
    expect((await log()).filter((r) => r.p === gone)).toHaveLength(1);
    await db.query(`DELETE FROM portals WHERE id = $1`, [gone]);
    expect((await log()).filter((r) => r.p === gone)).toEqual([]);
  });

  it('the housekeeping job: scheduled once per cluster (UTC cron), and a job on its queue runs a pass', async () => {
    const w = await startWorkers({
      db, clientFor: () => { throw new Error('no client'); }, schedules: false, offlinePollCron: null, pollingIntervalSeconds: 0.5,
      housekeeping: { cron: '17 3 * * *', scoreRuns: KEEP, scoreMonths: 24, inboxDays: 7, jobsDays: 7 }, schema: 'pgboss_hk',
    });
    try {
      const { rows } = await db.query<{ cron: string; tz: string | null }>(`SELECT cron, timezone AS tz FROM pgboss_hk.schedule WHERE name = $1`, [QUEUES.housekeeping]);
      expect(rows).toEqual([{ cron: '17 3 * * *', tz: 'UTC' }]);
      await db.query(`INSERT INTO crm_event_inbox (portal_id, entity, entity_id, action, received_at) VALUES ($1, 'deal', 77777, 'upsert', now() - interval '30 days')`, [portalId]);
      const id = await w.boss.send(QUEUES.housekeeping, {});
      let job: Awaited<ReturnType<typeof w.boss.getJobById>> = null;
      for (let i = 0; i < 100 && job?.state !== 'completed'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        job = await w.boss.getJobById(QUEUES.housekeeping, id!);
      }
      expect(job?.state).toBe('completed');
      expect(job?.output).toMatchObject({ inboxDeleted: 1, runsDeleted: 0 });
    } finally {
      await w.stop();
    }
  });

  it('pg-boss keeps finished jobs a day in its job table, then RETAIN_JOBS_DAYS in its archive, then deletes them', async () => {
    const boss = new PgBoss({ ...pgBossOptions(db), ...bossRetention({ jobsDays: 3 }), schema: 'pgboss_ret', supervise: false, schedule: false, migrate: true });
    boss.on('error', () => {});
    await boss.start();
    try {
      await boss.createQueue('ret-test');
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await boss.send('ret-test', { i }))!);
      const jobs = await boss.fetch('ret-test', { batchSize: 4 });
      await boss.complete('ret-test', jobs.map((j) => j.id));
      // completed 25 h ago (2 jobs) and 23 h ago (2 jobs)
      await db.query(`UPDATE pgboss_ret.job SET completed_on = now() - interval '25 hours' WHERE id = ANY($1::uuid[])`, [ids.slice(0, 2)]);
      await db.query(`UPDATE pgboss_ret.job SET completed_on = now() - interval '23 hours' WHERE id = ANY($1::uuid[])`, [ids.slice(2)]);
      await boss.maintain(); // what pg-boss's supervisor runs every few minutes (one process per cluster)
      const count = async (t: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss_ret.${t} WHERE name = 'ret-test'`)).rows[0]!.n;
      expect([await count('job'), await count('archive')]).toEqual([2, 2]);
      // in the archive for 4 days (one) and 2 days (the other): the first goes
      await db.query(`UPDATE pgboss_ret.archive SET archived_on = now() - interval '4 days' WHERE id = $1`, [ids[0]]);
      await db.query(`UPDATE pgboss_ret.archive SET archived_on = now() - interval '2 days' WHERE id = $1`, [ids[1]]);
      await boss.maintain();
      const { rows } = await db.query<{ id: string }>(`SELECT id::text FROM pgboss_ret.archive WHERE name = 'ret-test'`);
      expect(rows.map((r) => r.id)).toEqual([ids[1]]);
    } finally {
      await boss.stop({ graceful: false, wait: true });
    }
  });
});
