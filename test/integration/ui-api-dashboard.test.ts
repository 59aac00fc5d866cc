/**
 * The dashboard's money rule, over real HTTP against the real app on PGlite and PostgreSQL: a
 * non-admin (head of sales) gets counts (groups under MIN_GROUP withheld) and shares of revenue,
 * never an amount of money anywhere in the JSON; the shares equal ratios computed independently in
 * SQL. An admin gets the amounts, equal to SQL sums, and the shares too.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { createScoreRun, insertContactLabels } from '../../src/store/index.js';
import { MIN_GROUP } from '../../src/server/ui-api/serve.js';
import { seedPortal, startUiServer, type UiTestServer } from './helpers/ui-server.js';

const N = 150;
/** every amount of money in the data is at least this (counts, ids, levels and shares are far below) */
const MONEY_FLOOR = 10_000;
const segOf = (i: number) => (i < 60 ? 'champions' : i < 100 ? 'loyal' : i < 140 ? 'at_risk' : i < 145 ? 'lost' : 'new');

/** Every [path, value] leaf of a JSON value. */
function leaves(v: unknown, path = '$'): Array<[string, unknown]> {
  if (v !== null && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leaves(x, Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`));
  }
  return [[path, v]];
}

eachDb('ui api dashboard: money for admins, shares for everyone else', (getDb) => {
  let srv: UiTestServer;
  let p: { portalId: number; runId: number; memberId: string };
  let admin = '';
  let head = '';

  const get = async (session: string) => {
    const r = await srv.call('GET', '/api/ui/dashboard', { session });
    expect(r.status).toBe(200);
    return r.json as Record<string, unknown>;
  };
  const q = async <T>(sql: string) => (await getDb().query<T>(sql, [p.portalId, p.runId])).rows;

  beforeAll(async () => {
    p = await seedPortal(
      getDb(),
      'member-dash-0001',
      Array.from({ length: N }, (_, i) => ({ id: i + 1, name: `N${i}`, city: 'Berlin', sourceId: i % 2 ? 'WEB' : 'CALL' })),
      [],
      { asOf: '2026-09-01T00:00:00Z' },
    );
    // the previous run (movement, history), then the current one
    await insertContactLabels(getDb(), p.portalId, p.runId, Array.from({ length: N }, (_, i) => ({ contactId: i + 1, segment: segOf((i + 40) % N), monetary: MONEY_FLOOR + i })));
    const run = await createScoreRun(getDb(), p.portalId, { asOf: new Date('2026-10-01T00:00:00Z'), settings: { rfm: { scale: 5 } } });
    p.runId = run.id;
    await insertContactLabels(getDb(), p.portalId, run.id, Array.from({ length: N }, (_, i) => ({
      contactId: i + 1, segment: segOf(i),
      // 100 contacts in two big cells, 50 spread thinly (withheld from non-admins)
      r: i < 100 ? 1 + (i % 2) : 1 + (i % 5), f: i < 100 ? 1 : 1 + ((i >> 1) % 5), m: 1 + (i % 5),
      monetary: MONEY_FLOOR + 37 * i + 0.25, clv: MONEY_FLOOR + 11 * i, pAlive: 0.5,
    })));
    srv = await startUiServer(getDb());
    admin = srv.session(p.portalId, p.memberId, { admin: true });
    head = srv.session(p.portalId, p.memberId, { admin: false, user: 2 });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('a non-admin\'s dashboard holds no amount of money anywhere: revenue, avgM and the value bands\' edges are null, no number reaches an amount', async () => {
    const d = await get(head);
    const all = leaves(d);
    const moneyKeys = all.filter(([path]) => /\.(revenue|avgM)$|valueHistogram\[\d+\]\.(from|to)$/.test(path));
    expect(moneyKeys.length).toBeGreaterThan(30);
    for (const [path, v] of moneyKeys) expect(v, path).toBeNull();
    for (const [path, v] of all) if (typeof v === 'number') expect(v, path).toBeLessThan(MONEY_FLOOR);
    // the walk would have caught them: the admin's JSON has amounts at those places
    const big = leaves(await get(admin)).filter(([, v]) => typeof v === 'number' && v >= MONEY_FLOOR).map(([path]) => path);
    expect(big).toContain('$.totals.revenue');
    expect(big).toContain('$.segments[0].revenue');
    expect(big).toContain('$.valueHistogram[0].from');
    expect(d.suppressedBelow).toBe(MIN_GROUP);
  });

  it('a non-admin\'s revenue shares equal SQL ratios (segments and RFM cells); groups under MIN_GROUP are withheld entirely', async () => {
    const d = await get(head);
    const [{ total }] = await q<{ total: number }>(`SELECT sum(COALESCE(monetary, 0))::float8 AS total FROM contact_labels WHERE portal_id = $1 AND run_id = $2`) as [{ total: number }];
    const segs = await q<{ segment: string; n: number; rev: number }>(
      `SELECT segment, count(*)::int AS n, sum(COALESCE(monetary, 0))::float8 AS rev FROM contact_labels WHERE portal_id = $1 AND run_id = $2 GROUP BY 1`);
    const rows = d.segments as Array<{ segment: string; count: number | null; revenue: null; revenueShare: number | null }>;
    expect(rows.length).toBe(segs.length);
    let shown = 0;
    for (const s of segs) {
      const row = rows.find((x) => x.segment === s.segment)!;
      if (s.n < MIN_GROUP) {
        expect(row, s.segment).toEqual({ segment: s.segment, count: null, revenue: null, revenueShare: null });
      } else {
        shown++;
        expect(row.count).toBe(s.n);
        expect(row.revenue).toBeNull();
        expect(row.revenueShare!).toBeCloseTo(s.rev / total, 12);
      }
    }
    expect(shown).toBe(3);
    const cells = await q<{ r: number; f: number; n: number; rev: number }>(
      `SELECT r::int AS r, f::int AS f, count(*)::int AS n, sum(COALESCE(monetary, 0))::float8 AS rev FROM contact_labels
        WHERE portal_id = $1 AND run_id = $2 AND r IS NOT NULL AND f IS NOT NULL GROUP BY 1, 2`);
    const heat = d.heatmap as Array<{ r: number; f: number; count: number | null; revenue: null; avgM: null; revenueShare: number | null }>;
    expect(heat.length).toBe(cells.length);
    let withheld = 0;
    for (const c of cells) {
      const h = heat.find((x) => x.r === c.r && x.f === c.f)!;
      if (c.n < MIN_GROUP) {
        withheld++;
        expect(h).toEqual({ r: c.r, f: c.f, count: null, revenue: null, avgM: null, revenueShare: null });
      } else {
        expect(h.count).toBe(c.n);
        expect(h.revenueShare!).toBeCloseTo(c.rev / total, 12);
      }
    }
    expect(withheld).toBeGreaterThan(0);
    // the value bands keep their number and count (under MIN_GROUP: null), not their amounts
    for (const [i, h] of (d.valueHistogram as Array<{ bin: number; count: number | null }>).entries()) {
      expect(h.bin).toBeGreaterThanOrEqual(1);
      expect(h.bin).toBeLessThanOrEqual(12);
      if (i > 0) expect(h.bin).toBeGreaterThan((d.valueHistogram as Array<{ bin: number }>)[i - 1]!.bin);
      expect(h.count === null || h.count >= MIN_GROUP).toBe(true);
    }
  });

  it('an admin gets the amounts, equal to SQL sums, and the same shares', async () => {
    const d = await get(admin);
    const [{ total, n, lo, hi }] = await q<{ total: number; n: number; lo: number; hi: number }>(
      `SELECT sum(COALESCE(monetary, 0))::float8 AS total, count(*)::int AS n, min(monetary)::float8 AS lo, max(monetary)::float8 AS hi
         FROM contact_labels WHERE portal_id = $1 AND run_id = $2`) as [{ total: number; n: number; lo: number; hi: number }];
    expect(d.totals).toEqual({ count: n, revenue: total });
    const segs = await q<{ segment: string; n: number; rev: number }>(
      `SELECT segment, count(*)::int AS n, sum(COALESCE(monetary, 0))::float8 AS rev FROM contact_labels WHERE portal_id = $1 AND run_id = $2 GROUP BY 1`);
    for (const s of segs) {
      const row = (d.segments as Array<{ segment: string; count: number; revenue: number; revenueShare: number }>).find((x) => x.segment === s.segment)!;
      expect(row.count).toBe(s.n);
      expect(row.revenue).toBeCloseTo(s.rev, 6);
      expect(row.revenueShare).toBeCloseTo(s.rev / total, 12);
    }
    const cells = await q<{ r: number; f: number; n: number; rev: number; avgm: number }>(
      `SELECT r::int AS r, f::int AS f, count(*)::int AS n, sum(COALESCE(monetary, 0))::float8 AS rev, avg(m)::float8 AS avgm FROM contact_labels
        WHERE portal_id = $1 AND run_id = $2 AND r IS NOT NULL AND f IS NOT NULL GROUP BY 1, 2`);
    for (const c of cells) {
      const h = (d.heatmap as Array<{ r: number; f: number; count: number; revenue: number; avgM: number; revenueShare: number }>).find((x) => x.r === c.r && x.f === c.f)!;
      expect(h.count).toBe(c.n);
      expect(h.revenue).toBeCloseTo(c.rev, 6);
      expect(h.avgM).toBeCloseTo(c.avgm, 9);
      expect(h.revenueShare).toBeCloseTo(c.rev / total, 12);
    }
    const hist = d.valueHistogram as Array<{ bin: number; from: number; to: number; count: number }>;
    expect(hist[0]!.from).toBeCloseTo(lo, 6);
    expect(hist[hist.length - 1]!.to).toBeCloseTo(hi, 6);
    expect(hist.reduce((s, h) => s + h.count, 0)).toBe(n);
    expect(d.suppressedBelow).toBeNull();
  });

  it('compares the latest run with the run 7 / 30 / 90 days back or at a day; runs whose rules changed are marked and raise no alerts', async () => {
    const db = getDb();
    const q2 = await seedPortal(db, 'member-dash-0002', Array.from({ length: 100 }, (_, i) => ({ id: i + 1, name: `M${i}` })), [], { asOf: '2026-06-01T00:00:00Z' });
    // six runs; champions shrink step by step; the 2026-08-01 run has other rules (scale 3)
    const days = ['2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-09-24', '2026-10-01'];
    const ids: number[] = [q2.runId];
    for (const d of days.slice(1)) {
      ids.push((await createScoreRun(db, q2.portalId, { asOf: new Date(`${d}T00:00:00Z`), settings: { rfm: { scale: d === '2026-08-01' ? 3 : 5 } } })).id);
    }
    for (const [k, runId] of ids.entries()) {
      await insertContactLabels(db, q2.portalId, runId, Array.from({ length: 100 }, (_, i) => ({ contactId: i + 1, segment: i < 90 - 12 * k ? 'champions' : 'lost', monetary: 100 })));
    }
    const s2 = srv.session(q2.portalId, q2.memberId, { admin: true });
    const get2 = async (query = '') => (await srv.call('GET', `/api/ui/dashboard${query}`, { session: s2 })).json as {
      previousRun: { id: number }; runs: Array<{ id: number; rulesChanged: string | null }>; alerts: Array<{ segment: string; from: number; to: number }>;
      compare: { from: number; to: number; clamped: boolean; rulesChanged: Array<{ id: number }> }; movement: Array<{ from: string; to: string; count: number }>;
      history: Array<{ runId: number; sizes: Record<string, number> }>;
    };
    const d = await get2();
    expect(d.runs.map((r) => r.id)).toEqual(ids);
    expect(d.runs.map((r) => r.rulesChanged)).toEqual([null, null, 'settings', 'settings', null, null]);
    // default: the run before
    expect(d.compare).toMatchObject({ from: ids[4], to: ids[5], clamped: false, rulesChanged: [] });
    expect(d.movement).toEqual([{ from: 'champions', to: 'lost', count: 12 }]);
    // 30 days back: the 2026-09-01 run; champions 54 → 30, lost 46 → 70: alerts, no change of rules in between
    const m30 = await get2('?from=30d');
    expect(m30.compare).toMatchObject({ from: ids[3], rulesChanged: [] });
    expect(m30.alerts).toContainEqual(expect.objectContaining({ segment: 'champions', from: 54, to: 30 }));
    expect(m30.history.map((h) => h.runId)).toEqual(ids.slice(3));
    // 90 days back crosses the runs whose rules changed: marked, and no alert is raised
    const m90 = await get2('?from=90d');
    expect(m90.compare.from).toBe(ids[1]);
    expect(m90.compare.rulesChanged.map((r) => r.id)).toEqual([ids[2], ids[3]]);
    expect(m90.alerts).toEqual([]);
    expect(m90.movement).toEqual([{ from: 'champions', to: 'lost', count: 48 }]);
    // any two days; a day before every kept run falls back to the oldest (clamped)
    expect((await get2('?from=2026-07-15&to=2026-09-30')).compare).toMatchObject({ from: ids[1], to: ids[4] });
    expect((await get2('?from=2025-01-01')).compare).toMatchObject({ from: ids[0], clamped: true });
    expect((await get2(`?from=run:${ids[0]}&to=run:${ids[1]}`)).compare).toMatchObject({ from: ids[0], to: ids[1] });
  });
});

