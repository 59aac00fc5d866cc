import { beforeEach, expect, it } from 'vitest';
import {
  countLabelsBy,
  createScoreRun,
  createSyncRun,
  finishSyncRun,
  getSyncRun,
  insertContactLabels,
  interruptStaleSyncRuns,
  lastWatermark,
  latestScoreRun,
  latestSyncRun,
  listSyncRuns,
  pruneScoreRuns,
  queryContactLabels,
  SyncAlreadyRunningError,
  updateSyncProgress,
  upsertPortalOnInstall,
} from '../../src/store/index.js';
import { eachDb, resetDb } from '../helpers/db.js';

eachDb('sync runs and score runs', (getDb) => {
  let pid = 0;
  beforeEach(async () => {
    await resetDb(getDb());
    pid = (await upsertPortalOnInstall(getDb(), { memberId: 'm', domain: 'm.bitrix24.ru' })).id;
  });

  it('tracks a run from start to finish', async () => {
    const db = getDb();
    const run = await createSyncRun(db, pid, 'full', { phase: 'contacts', rowsExpected: 1000 });
    expect(run).toMatchObject({ portalId: pid, kind: 'full', status: 'running', rowsDone: 0, rowsExpected: 1000, requests: 0, errors: [], checkpoint: null });
    expect(
      await updateSyncProgress(db, pid, run.id, {
        rowsDone: 400,
        etaSeconds: 30,
        counts: { contacts: 400 },
        addRequests: 3,
        addCalls: 150,
        addOperatingSeconds: 1.25,
        checkpoint: { entity: 'contact', lastId: 400 },
        watermark: new Date('2024-01-01T00:00:00Z'),
      }),
    ).toBe(true);
    await updateSyncProgress(db, pid, run.id, {
      phase: 'deals',
      addRequests: 2,
      addOperatingSeconds: 0.5,
      appendErrors: [{ code: 'QUERY_LIMIT_EXCEEDED', at: 'crm.deal.list' }],
      watermark: new Date('2023-06-01T00:00:00Z'), // older: must not lower the watermark
    });
    const mid = await getSyncRun(db, pid, run.id);
    expect(mid).toMatchObject({
      phase: 'deals',
      rowsDone: 400,
      etaSeconds: 30,
      requests: 5,
      calls: 150,
      operatingSeconds: 1.75,
      counts: { contacts: 400 },
      checkpoint: { entity: 'contact', lastId: 400 },
      errors: [{ code: 'QUERY_LIMIT_EXCEEDED', at: 'crm.deal.list' }],
      watermark: new Date('2024-01-01T00:00:00Z'),
    });
    const done = await finishSyncRun(db, pid, run.id, 'done', { rowsDone: 1000, checkpoint: null });
    expect(done).toMatchObject({ status: 'done', rowsDone: 1000, etaSeconds: 0, checkpoint: null });
    expect(done!.finishedAt).toBeInstanceOf(Date);
    // finished runs are frozen
    expect(await updateSyncProgress(db, pid, run.id, { rowsDone: 5 })).toBe(false);
    expect(await finishSyncRun(db, pid, run.id, 'failed')).toBeNull();
    expect(await lastWatermark(db, pid)).toEqual(new Date('2024-01-01T00:00:00Z'));
  });

  it('allows one running run per portal', async () => {
    const db = getDb();
    const other = (await upsertPortalOnInstall(db, { memberId: 'o', domain: 'o.bitrix24.ru' })).id;
    const r1 = await createSyncRun(db, pid, 'full');
    await expect(createSyncRun(db, pid, 'incremental')).rejects.toBeInstanceOf(SyncAlreadyRunningError);
    await createSyncRun(db, other, 'full'); // other portals are independent
    await finishSyncRun(db, pid, r1.id, 'failed', { appendErrors: [{ message: 'x' }] });
    const r2 = await createSyncRun(db, pid, 'incremental');
    expect((await latestSyncRun(db, pid))!.id).toBe(r2.id);
    expect((await latestSyncRun(db, pid, { status: 'failed' }))!.id).toBe(r1.id);
    expect((await latestSyncRun(db, pid, { kind: 'full' }))!.id).toBe(r1.id);
    expect((await listSyncRuns(db, pid)).map((r) => r.id)).toEqual([r2.id, r1.id]);
  });

  it('marks stale running runs interrupted, keeping the checkpoint', async () => {
    const db = getDb();
    const r = await createSyncRun(db, pid, 'full', { checkpoint: { lastId: 7 } });
    expect(await interruptStaleSyncRuns(db, new Date(Date.now() - 60_000))).toBe(0);
    expect(await interruptStaleSyncRuns(db, new Date(Date.now() + 1000))).toBe(1);
    expect(await getSyncRun(db, pid, r.id)).toMatchObject({ status: 'interrupted', checkpoint: { lastId: 7 } });
  });

  it('score runs and contact labels: write, filter, count, prune', async () => {
    const db = getDb();
    const run = await createScoreRun(db, pid, { asOf: new Date('2024-06-01T00:00:00Z'), settings: { horizon: 365 }, thresholds: { r: [30, 90] } });
    expect(run).toMatchObject({ portalId: pid, status: 'done', settings: { horizon: 365 } });
    const n = await insertContactLabels(db, pid, run.id, [
      { contactId: 1, segment: 'champions', rfm: '555', r: 5, f: 5, m: 5, lifecycle: 'active', monetary: 1200.5, lastPurchase: '2024-05-20', interests: ['Boots', 'Shoes'], pAlive: 0.97 },
      { contactId: 2, segment: 'hibernating', rfm: '111', r: 1, f: 1, m: 1, lifecycle: 'lapsed', sleeping: true },
      { contactId: 3, segment: 'champions', rfm: '545', lifecycle: 'active', nextPurchase: new Date('2024-07-01T00:00:00Z') },
    ]);
    expect(n).toBe(3);
    const champs = await queryContactLabels(db, pid, run.id, { segment: 'champions' });
    expect(champs.map((l) => l.contactId)).toEqual([1, 3]);
    expect(champs[0]).toMatchObject({ interests: ['Boots', 'Shoes'], monetary: 1200.5, lastPurchase: '2024-05-20', pAlive: 0.97, sleeping: false, extra: {} });
    expect(champs[1]).toMatchObject({ interests: [], nextPurchase: '2024-07-01' });
    expect((await queryContactLabels(db, pid, run.id, { sleeping: true })).map((l) => l.contactId)).toEqual([2]);
    expect((await queryContactLabels(db, pid, run.id, { afterContactId: 1, limit: 1 })).map((l) => l.contactId)).toEqual([2]);
    expect(await countLabelsBy(db, pid, run.id, 'segment')).toEqual([
      { key: 'champions', count: 2 },
      { key: 'hibernating', count: 1 },
    ]);
    const run2 = await createScoreRun(db, pid, { asOf: new Date('2024-07-01T00:00:00Z') });
    expect((await latestScoreRun(db, pid))!.id).toBe(run2.id);
    expect(await pruneScoreRuns(db, pid, 1)).toBe(1);
    const left = await db.query<{ c: number }>('SELECT count(*)::int AS c FROM contact_labels WHERE portal_id = $1', [pid]);
    expect(left.rows[0]!.c).toBe(0); // labels of the pruned run cascaded
  });
});
