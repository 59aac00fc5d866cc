/**
 * The CLV ranges and the backtest on a generated portal (emulator generator, 4 years of history),
 * through the real pipeline, store, write-back and UI API on PGlite and PostgreSQL:
 *  - a scoring run stores a backtest (fit up to as-of − 365 days, the hold-out after): its customers,
 *    actual purchase days and revenue equal a recount from the emulator's own deals;
 *  - the 80 % range fields written to the emulated portal equal the labels, and low ≤ high;
 *  - GET /api/ui/dashboard/backtest: the admin gets the stored figures; a non-admin no amount of money;
 *    forged / missing sessions, another portal's run, bad, repeated, nested, oversize or unknown
 *    query parameters → 4xx with a JSON reason.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { createScoreRun, createTokenCipher, queryContactLabels, setTokenCipher, upsertPortalOnInstall } from '../../src/store/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { rescoreContacts } from '../../src/events/rescore.js';
import { runWriteBack } from '../../src/writeback/write.js';
import type { StoredBacktest } from '../../src/scoring/backtest.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { eachDb, type Db } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';
import { startUiServer, type UiTestServer } from './helpers/ui-server.js';
import { MIN_GROUP } from '../../src/server/ui-api/serve.js';

const TS = 100;
const DAY = 86_400_000;

/** Each contact's purchase days (won deals of one day summed, base currency, > 0) from the emulator's deals, as day → amount. */
function rawPurchaseDays(tp: TestPortal): Map<number, Map<string, number>> {
  const p = tp.emu.portal;
  const rate = new Map(p.currencies.map((c) => [c.currency, c.amount / (c.amountCnt || 1)]));
  const out = new Map<number, Map<string, number>>();
  for (const d of p.deals.values()) {
    if (!(d.stageId === 'WON' || d.stageId.endsWith(':WON')) || !d.closeDate) continue;
    const day = String(d.closeDate).slice(0, 10);
    for (const c of d.contactIds) {
      let m = out.get(c);
      if (!m) out.set(c, (m = new Map()));
      m.set(day, (m.get(day) ?? 0) + d.opportunity * (rate.get(d.currencyId) ?? 1));
    }
  }
  return out;
}

eachDb('backtest on a generated portal', (getDb) => {
  let tp: TestPortal;
  let db: Db;
  let portalId: number;
  let runId: number;
  let asOf: string;
  let srv: UiTestServer;
  let bt: StoredBacktest;

  beforeAll(async () => {
    setTokenCipher(createTokenCipher(randomBytes(32)));
    tp = await startTestPortal({ contacts: 500, deals: 2500, seed: 41, timeScale: TS });
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: 'bt', domain: 'bt.bitrix24.com', language: 'en' })).id;
    asOf = new Date(tp.emu.portal.clock.now()).toISOString().slice(0, 10);
    await mirrorEmulatorPortal(tp.emu.portal, db, portalId);
    runId = (await runScoring(db, portalId, asOf)).runId;
    const { rows } = await db.query<{ fits: { backtest: StoredBacktest } }>('SELECT fits FROM score_runs WHERE portal_id = $1 AND id = $2', [portalId, runId]);
    bt = rows[0]!.fits.backtest;
    srv = await startUiServer(db);
  }, 120_000);
  afterAll(async () => {
    await srv?.close();
    await tp?.emu.close();
  });

  it('the run stores a backtest whose customers and actual purchases equal a recount of the emulator\'s deals', () => {
    expect(bt.status).toBe('done');
    if (bt.status !== 'done') return;
    const cut = new Date(Date.parse(`${asOf}T00:00:00Z`) - 365 * DAY).toISOString().slice(0, 10);
    expect(bt).toMatchObject({ fitUntil: cut, holdoutEnd: asOf, horizonDays: 365, valueSource: 'models', models: { bgnbd: 'ok', gammagamma: 'ok' } });
    const raw = rawPurchaseDays(tp);
    let customers = 0;
    let actual = 0;
    let actualValue = 0;
    for (const days of raw.values()) {
      const bought = [...days].filter(([, v]) => v > 0);
      if (!bought.some(([d]) => d <= cut)) continue;
      customers++;
      for (const [d, v] of bought) {
        if (d > cut && d <= asOf) {
          actual++;
          actualValue += v;
        }
      }
    }
    expect(customers).toBeGreaterThan(100);
    expect(bt.customers).toBe(customers);
    expect(bt.actual).toBe(actual);
    expect(bt.actualValue).toBeCloseTo(actualValue, 2);
    expect(bt.deciles.map((d) => d.decile)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(bt.deciles.reduce((s, d) => s + d.customers, 0)).toBe(customers);
    expect(bt.deciles.reduce((s, d) => s + d.actual, 0)).toBe(actual);
    expect(bt.deciles.reduce((s, d) => s + d.predicted, 0)).toBeCloseTo(bt.predicted, 6);
    // the figures are what they say they are
    expect(bt.relativeError).toBeCloseTo((bt.predicted - actual) / actual, 9);
    const mae = bt.deciles.reduce((s, d) => s + Math.abs(d.predicted - d.actual) / d.customers, 0) / 10;
    expect(bt.mae).toBeCloseTo(mae, 9);
    for (const x of [bt.coverage!, bt.valueCoverage!, bt.insideRange!, bt.expectedInside!]) {
      expect(x).toBeGreaterThan(0.3);
      expect(x).toBeLessThanOrEqual(1);
    }
    console.log(`generated portal backtest: coverage ${bt.coverage?.toFixed(3)}, value ${bt.valueCoverage?.toFixed(3)}, inside ${bt.insideRange?.toFixed(3)} (expected ${bt.expectedInside?.toFixed(3)}), purchase days ${bt.predicted.toFixed(1)} predicted / ${actual} actual`);
  });

  it('the range fields in the portal equal the labels: low ≤ high, purchase days as integers', async () => {
    const client = new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: TS } });
    const w = await runWriteBack(db, portalId, client);
    expect(w.failed).toBe(0);
    const labels = (await queryContactLabels(db, portalId, runId, { limit: 100_000 })).filter((l) => l.extra?.hasPurchases === true);
    expect(labels.length).toBeGreaterThan(100);
    let spread = 0;
    for (const l of labels) {
      const uf = tp.emu.portal.contacts.get(l.contactId)!.uf;
      const e = l.extra as { clvLow: number; clvHigh: number; purchasesLow: number; purchasesHigh: number };
      expect(Number(uf.UF_CRM_SEG_CLV_LOW)).toBeCloseTo(e.clvLow, 2);
      expect(Number(uf.UF_CRM_SEG_CLV_HIGH)).toBeCloseTo(e.clvHigh, 2);
      expect(Number(uf.UF_CRM_SEG_PURCHASES_LOW)).toBe(e.purchasesLow);
      expect(Number(uf.UF_CRM_SEG_PURCHASES_HIGH)).toBe(e.purchasesHigh);
      expect(e.clvLow).toBeLessThanOrEqual(e.clvHigh);
      expect(e.purchasesLow).toBeLessThanOrEqual(e.purchasesHigh);
      expect(Number.isInteger(e.purchasesLow) && Number.isInteger(e.purchasesHigh)).toBe(true);
      if (e.clvHigh > e.clvLow) spread++;
    }
    expect(spread).toBeGreaterThan(labels.length / 2);
    // non-buyers carry no range
    const nonBuyer = [...tp.emu.portal.contacts.values()].find((c) => !labels.some((l) => l.contactId === c.id));
    if (nonBuyer) expect(nonBuyer.uf.UF_CRM_SEG_CLV_HIGH ?? null).toBeNull();
  });

  it('event rescoring with the run\'s fits gives a contact the same ranges as the full run (nothing changed)', async () => {
    const before = (await queryContactLabels(db, portalId, runId, { limit: 100_000 })).filter((l) => l.extra?.hasPurchases === true).slice(0, 40);
    const ids = before.map((l) => l.contactId);
    const r = await rescoreContacts(db, portalId, ids, { asOf });
    expect(r.rescored).toBe(ids.length);
    const after = new Map((await queryContactLabels(db, portalId, runId, { limit: 100_000 })).map((l) => [l.contactId, l.extra]));
    const pick = (e: Record<string, unknown> | undefined) => [e?.clvLow, e?.clvHigh, e?.purchasesLow, e?.purchasesHigh].map((v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v));
    for (const l of before) expect([l.contactId, ...pick(after.get(l.contactId))]).toEqual([l.contactId, ...pick(l.extra)]);
  });

  it('GET /dashboard/backtest: the admin gets the stored figures, a non-admin no amount of money', async () => {
    const admin = srv.session(portalId, 'bt', { admin: true });
    const head = srv.session(portalId, 'bt', { admin: false, user: 2 });
    const a = await srv.call('GET', '/api/ui/dashboard/backtest', { session: admin });
    expect(a.status).toBe(200);
    expect(a.json).toEqual({ run: { id: runId, asOf }, backtest: bt, suppressedBelow: null });
    const byId = await srv.call('GET', `/api/ui/dashboard/backtest?run=run:${runId}`, { session: admin });
    expect(byId.json.backtest).toEqual(bt);
    const h = await srv.call('GET', '/api/ui/dashboard/backtest', { session: head });
    expect(h.status).toBe(200);
    const hb = h.json.backtest as Record<string, unknown> & { deciles: Array<Record<string, unknown>> };
    expect(h.json.suppressedBelow).toBe(MIN_GROUP);
    expect([hb.predictedValue, hb.actualValue, hb.valueMae]).toEqual([null, null, null]);
    if (bt.status !== 'done') return;
    expect(hb.coverage).toBe(bt.coverage);
    expect(hb.actual).toBe(bt.actual);
    for (const [i, d] of hb.deciles.entries()) {
      expect([d.predictedValue, d.actualValue]).toEqual([null, null]);
      const n = bt.deciles[i]!.customers;
      expect(d.customers).toBe(n >= MIN_GROUP ? n : null);
    }
  });

  it('refuses forged sessions, another portal\'s run and bad query parameters with a JSON reason', async () => {
    const admin = srv.session(portalId, 'bt', { admin: true });
    const other = await upsertPortalOnInstall(db, { memberId: 'bt-other', domain: 'other.bitrix24.com', language: 'en' });
    const foreignRun = await createScoreRun(db, other.id, { asOf: new Date(`${asOf}T00:00:00Z`), fits: { backtest: { status: 'skipped', reason: 'secret', fitUntil: null, horizonDays: 1 } } });
    const cases: Array<[string, string | undefined, number]> = [
      ['/api/ui/dashboard/backtest', undefined, 401],
      ['/api/ui/dashboard/backtest', `${admin}x`, 401],
      ['/api/ui/dashboard/backtest', srv.session(portalId, 'forged-member', { admin: true }), 401],
      [`/api/ui/dashboard/backtest?run=run:${foreignRun.id}`, admin, 404],
      ['/api/ui/dashboard/backtest?run=run:999999999', admin, 404],
      ['/api/ui/dashboard/backtest?run=12', admin, 400],
      ['/api/ui/dashboard/backtest?run=run:1&run=run:2', admin, 400],
      ['/api/ui/dashboard/backtest?run[x]=run:1', admin, 400],
      [`/api/ui/dashboard/backtest?run=run:${'9'.repeat(5000)}`, admin, 400],
      ['/api/ui/dashboard/backtest?run=run:1%00', admin, 400],
      ['/api/ui/dashboard/backtest?admin=1', admin, 400],
    ];
    for (const [path, session, status] of cases) {
      const r = await srv.call('GET', path, { session });
      expect([path.slice(0, 80), r.status]).toEqual([path.slice(0, 80), status]);
      // a JSON reason: the code and a message
      expect([typeof r.json.error, typeof r.json.message], r.text.slice(0, 200)).toEqual(['string', 'string']);
      expect(r.json.error).toBe(status === 401 ? 'NO_SESSION' : status === 404 ? 'NO_SUCH_RUN' : 'BAD_REQUEST');
      expect(r.text).not.toContain('secret');
    }
  });
});
