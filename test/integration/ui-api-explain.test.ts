/**
 * The dashboard explains its labels (issue 14 item 5), over real HTTP against the real app, with
 * two real scoring runs of an emulator portal's data:
 *  - the run's R, F and M bounds equal a recomputation of the quantile and tie rule from the stored
 *    scoring inputs (each buyer's recency, purchase days and revenue); every level's range holds
 *    exactly the buyers of that level; GET /settings carries the same;
 *  - the movement matrix (from × to, the diagonal included) equals counts and revenue recomputed
 *    by joining the two runs' labels here;
 *  - a non-admin gets no amount of money (M bounds and the matrix's revenue withheld, small cells withheld);
 *  - the automation estimate of a move A → B and of lifecycle changes equals the moves counted here;
 *    a rule whose from and to are equal is refused at its field by PUT /settings;
 *  - bad ?from= / ?to= (garbage, repeated, oversize) → 400 JSON with a reason; another
 *    portal's run id is never used.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb, type Db } from '../helpers/db.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { upsertPortalOnInstall } from '../../src/store/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { scoringSettingsSchema } from '../../src/scoring/index.js';
import { MIN_GROUP } from '../../src/server/ui-api/serve.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { startUiServer, seedPortal, type UiTestServer } from './helpers/ui-server.js';

const NOW = Date.UTC(2026, 4, 15, 12, 0, 0);
const DAY = 86_400_000;
const day = (n: number) => new Date(NOW + n * DAY).toISOString().slice(0, 10);

type Lvl = { level: number; min: number | null; max: number | null; minExclusive: boolean; empty: boolean };
type Dim = { bounds: number[]; method: string | null; levels: Lvl[] };
type Th = { mode: string | null; scale: number; recency: Dim; frequency: Dim; monetary: Dim };

/** Quantile bounds with the tie rule, recomputed from the values' counts (worst to best). */
function expectedBounds(values: number[], k: number, lowerBetter: boolean): number[] {
  const worstFirst = (a: number, b: number) => (lowerBetter ? b - a : a - b);
  const distinct = [...new Set(values)].sort(worstFirst);
  const n = values.length;
  const atOrWorse = (v: number) => values.filter((x) => worstFirst(x, v) <= 0).length;
  const out: number[] = [];
  let prev = -1;
  for (let i = 1; i < k; i++) {
    const q = distinct.findIndex((v) => atOrWorse(v) >= Math.ceil((i * n) / k));
    const at = Math.min(Math.max(q, prev + 1), distinct.length - 1 - (k - i));
    out.push(distinct[at]!);
    prev = at;
  }
  return out;
}

const inRange = (v: number, l: Lvl) => (l.min === null || (l.minExclusive ? v > l.min : v >= l.min)) && (l.max === null || v <= l.max);

eachDb('ui api: thresholds and the movement matrix explained', (getDb) => {
  let db: Db;
  let srv: UiTestServer;
  let portalId = 0;
  let runs: number[] = [];
  let foreignRun = 0;
  let portal: Portal;
  let admin = '';
  let head = '';

  beforeAll(async () => {
    db = getDb();
    portal = new Portal({ memberId: 'explain-ui', clock: new PortalClock(NOW, 1, () => 0) });
    generatePortal(portal, { contacts: 400, seed: 42 });
    // another portal with a run of its own (its run id must never be used here)
    foreignRun = (await seedPortal(db, 'explain-foreign', [{ id: 1, name: 'F' }], [{ contactId: 1, segment: 'lost', monetary: 5 }])).runId;
    portalId = (await upsertPortalOnInstall(db, { memberId: 'explain-ui', domain: 'explain-ui.test', clientEndpoint: 'https://explain-ui.test/rest/', status: 'active' })).id;
    await mirrorEmulatorPortal(portal, db, portalId);
    // the first run with fixed bounds, the second with quantiles: customers move between segments
    // (with quantiles twice over the same deals every customer keeps their rank)
    const a = await runScoring(db, portalId, day(0), { settings: scoringSettingsSchema.parse({ rfm: { mode: 'fixed' } }) });
    const b = await runScoring(db, portalId, day(200), { reanchorShare: 0 });
    expect(b.thresholds).toBe('fresh');
    runs = [a.runId, b.runId];
    srv = await startUiServer(db);
    admin = srv.session(portalId, 'explain-ui', { admin: true });
    head = srv.session(portalId, 'explain-ui', { admin: false, user: 2 });
  });
  afterAll(async () => {
    await srv?.close();
  });

  const get = async (session: string, q = '') => {
    const r = await srv.call('GET', `/api/ui/dashboard${q}`, { session });
    return r;
  };
  const buyers = async (runId: number) => (await db.query<{ id: number; rd: number; f: number; m: number; r: number; fl: number; ml: number }>(
    `SELECT contact_id AS id, recency_days AS rd, frequency AS f, monetary::float8 AS m, r, f AS fl, m AS ml
       FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND recency_days IS NOT NULL`, [portalId, runId])).rows;

  it("the run's bounds equal the quantile and tie rule recomputed from the stored inputs; each level's range holds exactly its buyers", async () => {
    const r = await get(admin);
    expect(r.status).toBe(200);
    const th = r.json.thresholds as Th;
    expect(th.mode).toBe('fresh');
    expect(th.scale).toBe(5);
    const rows = await buyers(runs[1]!);
    expect(rows.length).toBeGreaterThan(100);
    expect(th.recency.bounds).toEqual(expectedBounds(rows.map((x) => x.rd), 5, true));
    expect(th.frequency.bounds).toEqual(expectedBounds(rows.map((x) => x.f), 5, false));
    const m = expectedBounds(rows.map((x) => x.m), 5, false);
    th.monetary.bounds.forEach((b, i) => expect(b).toBeCloseTo(m[i]!, 6));
    for (const [dim, value, level] of [['recency', 'rd', 'r'], ['frequency', 'f', 'fl'], ['monetary', 'm', 'ml']] as const) {
      for (const l of th[dim].levels) {
        const inside = rows.filter((x) => inRange(x[value], l)).map((x) => x.id).sort();
        const ofLevel = rows.filter((x) => x[level] === l.level).map((x) => x.id).sort();
        expect([dim, l.level, inside]).toEqual([dim, l.level, ofLevel]);
        expect(ofLevel.length).toBeGreaterThan(0); // the tie rule: no empty level
      }
    }
    // the settings page gets the same explained bounds
    const s = await srv.call('GET', '/api/ui/settings', { session: admin });
    expect(s.status).toBe(200);
    expect((s.json.current as { thresholds: Th }).thresholds).toEqual(th);
  });

  it('the movement matrix equals counts and revenue recomputed from the two runs', async () => {
    const d = (await get(admin)).json;
    const matrix = d.movementMatrix as Array<{ from: string | null; to: string | null; count: number; revenue: number; revenueShare: number }>;
    const lab = async (runId: number) => new Map((await db.query<{ id: number; s: string; m: number | null }>(
      `SELECT contact_id AS id, segment AS s, monetary::float8 AS m FROM contact_labels WHERE portal_id = $1 AND run_id = $2`, [portalId, runId])).rows.map((x) => [Number(x.id), x]));
    const [a, b] = [await lab(runs[0]!), await lab(runs[1]!)];
    const want = new Map<string, { count: number; revenue: number }>();
    for (const id of new Set([...a.keys(), ...b.keys()])) {
      const k = `${a.get(id)?.s ?? null}>${b.get(id)?.s ?? null}`;
      const w = want.get(k) ?? { count: 0, revenue: 0 };
      w.count++;
      w.revenue += b.get(id)?.m ?? a.get(id)?.m ?? 0;
      want.set(k, w);
    }
    expect(matrix.length).toBe(want.size);
    const total = [...b.values()].reduce((s, x) => s + (x.m ?? 0), 0);
    for (const c of matrix) {
      const w = want.get(`${c.from}>${c.to}`)!;
      expect([c.from, c.to, c.count]).toEqual([c.from, c.to, w.count]);
      expect(c.revenue).toBeCloseTo(w.revenue, 4);
      expect(c.revenueShare).toBeCloseTo(w.revenue / total, 9);
    }
    expect(matrix.some((c) => c.from === c.to)).toBe(true); // the diagonal: customers who stayed
    expect(matrix.some((c) => c.from !== c.to)).toBe(true);
    expect(matrix.reduce((s, c) => s + c.count, 0)).toBe(new Set([...a.keys(), ...b.keys()]).size);
  });

  it('a non-admin gets counts and shares, never an amount: M bounds and the matrix revenue withheld', async () => {
    const r = await get(head);
    expect(r.status).toBe(200);
    const th = r.json.thresholds as Th;
    expect(th.monetary.bounds).toEqual([]);
    for (const l of th.monetary.levels) expect([l.min, l.max]).toEqual([null, null]);
    expect(th.frequency.bounds.length).toBe(4);
    const admins = (await get(admin)).json.movementMatrix as Array<{ from: string | null; to: string | null; count: number; revenueShare: number }>;
    const mine = r.json.movementMatrix as Array<{ from: string | null; to: string | null; count: number | null; revenue: null; revenueShare: number | null }>;
    expect(mine.length).toBe(admins.length);
    for (const [i, c] of mine.entries()) {
      expect(c.revenue).toBeNull();
      if (admins[i]!.count < MIN_GROUP) expect([c.count, c.revenueShare]).toEqual([null, null]);
      else expect([c.count, c.revenueShare]).toEqual([admins[i]!.count, admins[i]!.revenueShare]);
    }
    expect(mine.some((c) => c.count === null)).toBe(true);
  });

  it('automation estimate: a move A → B and a lifecycle change count the contacts that made them between the two runs', async () => {
    const lab = async (runId: number) => new Map((await db.query<{ id: number; s: string; l: string }>(
      `SELECT contact_id AS id, segment AS s, lifecycle AS l FROM contact_labels WHERE portal_id = $1 AND run_id = $2`, [portalId, runId])).rows.map((x) => [Number(x.id), x]));
    const [a, b] = [await lab(runs[0]!), await lab(runs[1]!)];
    const moves = new Map<string, number>();
    const stages = new Map<string, number>();
    for (const [id, x] of b) {
      const p = a.get(id);
      if (!p) continue;
      if (p.s !== x.s) moves.set(`${p.s}>${x.s}`, (moves.get(`${p.s}>${x.s}`) ?? 0) + 1);
      if (p.l !== x.l) stages.set(`${p.l}>${x.l}`, (stages.get(`${p.l}>${x.l}`) ?? 0) + 1);
    }
    const [move, nMove] = [...moves].sort((x, y) => y[1] - x[1])[0]!;
    const [stage, nStage] = [...stages].sort((x, y) => y[1] - x[1])[0]!;
    const [from, to] = move.split('>');
    const [lFrom, lTo] = stage.split('>');
    const anyStage = [...stages.values()].reduce((x, y) => x + y, 0);
    const intoTo = [...stages].filter(([k]) => k.endsWith(`>${lTo}`)).reduce((x, [, n]) => x + n, 0);
    const rule = (id: string, trigger: unknown) => ({ id, enabled: true, trigger, action: { type: 'comment', text: 'x' } });
    const r = await srv.call('POST', '/api/ui/automation/estimate', { session: admin, body: { rules: [
      rule('m', { type: 'movedSegment', from, to }), rule('back', { type: 'movedSegment', from: to, to: from }),
      rule('l', { type: 'lifecycleChanged', from: lFrom, to: lTo }), rule('any', { type: 'lifecycleChanged' }), rule('into', { type: 'lifecycleChanged', to: lTo }),
      rule('same', { type: 'movedSegment', from, to: from }),
    ] } });
    expect(r.status).toBe(200);
    const got = (r.json.rules as Array<{ expected: number | null }>).map((x) => x.expected);
    expect(got).toEqual([nMove, moves.get(`${to}>${from}`) ?? 0, nStage, anyStage, intoTo, null]);
    expect(nMove).toBeGreaterThan(0);
    // 51 rules, a non-array, a non-object body → 400 JSON
    for (const body of [{ rules: Array.from({ length: 51 }, (_, i) => rule(`r${i}`, { type: 'becameSleeping' })) }, { rules: 'all' }, { rules: { nested: { deep: [] } } }]) {
      const bad = await srv.call('POST', '/api/ui/automation/estimate', { session: admin, body });
      expect(bad.status).toBe(400);
      expect(typeof bad.json.error).toBe('string');
    }
    expect((await srv.call('POST', '/api/ui/automation/estimate', { session: head, body: { rules: [] } })).status).toBe(403);
  });

  it('settings: a move rule whose from and to are the same is refused at its field; a valid one is stored', async () => {
    const put = (rules: unknown[]) => srv.call('PUT', '/api/ui/settings', { session: admin, body: { settings: { automation: { rules } } } });
    const same = await put([{ id: 'same', trigger: { type: 'movedSegment', from: 'loyal', to: 'loyal' }, action: { type: 'comment', text: 'x' } }]);
    expect(same.status).toBe(400);
    expect(same.json.error).toBe('INVALID_SETTINGS');
    expect(same.json.issues).toContainEqual(expect.objectContaining({ path: 'automation.rules.0.trigger.to', params: expect.objectContaining({ i18n: 'sameFromTo' }) }));
    const badStage = await put([{ id: 'st', trigger: { type: 'lifecycleChanged', to: 'sleeping' }, action: { type: 'comment', text: 'x' } }]);
    expect(badStage.status).toBe(400);
    const ok = await put([
      { id: 'move', trigger: { type: 'movedSegment', from: 'loyal', to: 'at_risk' }, action: { type: 'comment', text: '{name}: {prevSegment} → {segment}' } },
      { id: 'stage', trigger: { type: 'lifecycleChanged', to: 'refused' }, action: { type: 'todo', title: 'Now {lifecycle}' } },
    ]);
    expect(ok.status).toBe(200);
    const { rows } = await db.query<{ s: { automation: { rules: Array<{ id: string; trigger: unknown }> } } }>(`SELECT settings AS s FROM portals WHERE id = $1`, [portalId]);
    expect(rows[0]!.s.automation.rules.map((x) => x.trigger)).toEqual([{ type: 'movedSegment', from: 'loyal', to: 'at_risk' }, { type: 'lifecycleChanged', to: 'refused' }]);
  });

  it("the contact card carries days overdue: days since the last purchase − the customer's own median gap, from the emulator's deals", async () => {
    const won = new Set(portal.statuses.filter((x) => x.entityId.startsWith('DEAL_STAGE') && x.semantics === 'S').map((x) => x.statusId));
    const days = new Map<number, Map<string, number>>();
    for (const deal of portal.deals.values()) {
      if (!won.has(deal.stageId)) continue;
      for (const c of deal.contactIds) {
        const m = days.get(c) ?? new Map<string, number>();
        m.set(deal.closeDate, (m.get(deal.closeDate) ?? 0) + deal.opportunity);
        days.set(c, m);
      }
    }
    const asOf = Date.parse(`${day(200)}T00:00:00Z`) / DAY;
    let checked = 0;
    for (const [id, m] of days) {
      const t = [...m].filter(([, sum]) => sum > 0).map(([d]) => Date.parse(`${d}T00:00:00Z`) / DAY).sort((x, y) => x - y);
      if (t.length < 2) continue;
      const gaps = t.slice(1).map((x, i) => x - t[i]!).sort((x, y) => x - y);
      const g = gaps.length % 2 ? gaps[gaps.length >> 1]! : (gaps[gaps.length / 2 - 1]! + gaps[gaps.length / 2]!) / 2;
      const since = asOf - t[t.length - 1]!;
      const card = await srv.call('GET', `/api/ui/contacts/${id}`, { session: admin });
      expect(card.status).toBe(200);
      const label = card.json.label as { sleeping: boolean; extra: { daysOverdue: number | null } };
      expect([id, label.extra.daysOverdue]).toEqual([id, Math.max(0, since - Math.round(g))]);
      expect([id, label.sleeping]).toEqual([id, since > 2 * g]);
      if (++checked >= 25) break;
    }
    expect(checked).toBe(25);
  });

  it('bad ?from= / ?to= → 400 with a reason; another portal\'s run is never used', async () => {
    // (the query parser is flat: `from[run]=1` is another, unknown key, not a nested `from`)
    for (const q of ['?from=yesterday', '?from=1d&from=2d', '?to=run:1&to=run:2', `?from=${'9'.repeat(5000)}d`, '?to=run:abc', '?to=2026-13-45', '?from=run:1;DROP']) {
      const r = await get(admin, q);
      expect([q, r.status, r.json.error]).toEqual([q, 400, 'BAD_RUN']);
      expect(String(r.json.message)).toMatch(/run:<id>/);
    }
    const r = await get(admin, `?from=run:${foreignRun}`);
    expect(r.status).toBe(200);
    expect((r.json.previousRun as { id: number }).id).toBe(runs[0]);
    const t = await get(admin, `?to=run:${foreignRun}`);
    expect((t.json.run as { id: number }).id).toBe(runs[1]);
  });
});
