/**
 * Effectiveness per segment (GET /api/ui/effectiveness, /export, PUT /settings) over real HTTP on
 * PGlite and PostgreSQL, against a generated emulator portal scored at seven as-of days. Every
 * figure is recomputed here from the emulator's own state (its deals, their contacts, stages,
 * amounts, currencies and product rows; the emulated catalog's purchase prices, stored as the catalog
 * sync stores them) and the runs' memberships, never from the app's SQL: conversion, win rate, revenue
 * and margin per member, retention, "same or better segment" at the next run, average order value
 * and mean days between orders, for 30, 90 and 180 days. Unfinished windows come back null and
 * marked incomplete. A non-admin gets no amount of money and no group under MIN_GROUP; bad, foreign,
 * repeated, nested and oversize inputs get a 4xx JSON reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal as EmuPortal } from '../../src/emulator/portal.js';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { purchasingPriceOf } from '../../src/emulator/methods/catalog.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { runScoring } from '../../src/pipeline/score.js';
import { createScoreRun, getProducts, upsertPortalOnInstall, upsertProducts } from '../../src/store/index.js';
import { MIN_GROUP } from '../../src/server/ui-api/serve.js';
import { seedPortal, startUiServer, type UiTestServer } from './helpers/ui-server.js';

const DAY = 86_400_000;
/** The documented order of segments, best first (docs/ui.md "Effectiveness"). */
const ORDER = ['champions', 'loyal', 'potential_loyalist', 'new', 'promising', 'need_attention', 'about_to_sleep', 'at_risk', 'cant_lose', 'hibernating', 'lost', 'no_purchases'];
/** as-of days of the runs, in days before the portal's now */
const RUN_DAYS_BACK = [300, 210, 120, 95, 60, 20, 0];

interface Fig {
  segment: string; members: number | null; buyers: number | null; conversion: number | null; winRate: number | null; wonDeals: number | null;
  lostDeals: number | null; revenuePerMember: number | null; marginPerMember: number | null; marginFromCatalog: number | null;
  retention: number | null; stayed: number | null; averageOrderValue: number | null; meanDaysBetweenOrders: number | null;
}
interface RunFig { runId: number; asOf: string; complete: boolean; windowEnd: string; nextRun: { id: number } | null; segments: Fig[] }
interface Eff { entity: string; window: number; marginPercent: number; horizon: string; run: RunFig; history: RunFig[]; suppressedBelow: number | null }

const addDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);

eachDb('ui api effectiveness per segment (emulator data, recomputed independently)', (getDb) => {
  let srv: UiTestServer;
  let emu: EmuPortal;
  let portalId = 0;
  let memberId = '';
  let admin = '';
  let head = '';
  let adminRu = '';
  const runs: Array<{ id: number; asOf: string }> = [];
  let foreignRun = 0;
  /** purchase price per product (in the product's currency), for the products the catalog prices */
  const purchase = new Map<number, number>();

  const get = async (q: string, session = admin) => srv.call('GET', `/api/ui/effectiveness${q}`, { session });
  const eff = async (q: string, session = admin) => {
    const r = await get(q, session);
    expect(r.status, r.text).toBe(200);
    return r.json as unknown as Eff;
  };

  /** Every figure of a run, from the emulator's deals and the runs' memberships. */
  async function expected(runIdx: number, w: number, pct: number): Promise<{ complete: boolean; figs: Map<string, Fig> }> {
    const db = getDb();
    const run = runs[runIdx]!;
    const next = runs[runIdx + 1] ?? null;
    const horizon = runs[runs.length - 1]!.asOf;
    const end = addDays(run.asOf, w);
    const complete = end <= horizon;
    const labels = (await db.query<{ id: number; segment: string }>(`SELECT contact_id::int AS id, segment FROM contact_labels WHERE portal_id = $1 AND run_id = $2`, [portalId, run.id])).rows;
    const nextSeg = new Map(next ? (await db.query<{ id: number; segment: string }>(`SELECT contact_id::int AS id, segment FROM contact_labels WHERE portal_id = $1 AND run_id = $2`, [portalId, next.id])).rows.map((r) => [r.id, r.segment]) : []);
    const rate = new Map(emu.currencies.map((c) => [c.currency, c.amount / (c.amountCnt || 1)]));
    const productCur = new Map([...emu.products.values()].map((p) => [p.id, p.currencyId]));
    // each contact's deals from the emulator
    const byContact = new Map<number, Array<{ id: number; sem: string; day: string; amount: number }>>();
    for (const d of emu.deals.values()) {
      const sem = stageSemantic(emu, d.stageId);
      if (sem === 'P') continue;
      const x = { id: d.id, sem, day: d.closeDate, amount: d.opportunity * (rate.get(d.currencyId) ?? 1) };
      for (const c of new Set(d.contactIds)) byContact.set(c, [...(byContact.get(c) ?? []), x]);
    }
    const marginOf = (dealId: number, amount: number): [number, boolean] => {
      const rows = emu.productRows.get(dealId) ?? [];
      if (rows.length && rows.every((r) => purchase.has(r.productId))) {
        return [amount - rows.reduce((s, r) => s + r.quantity * purchase.get(r.productId)! * (rate.get(productCur.get(r.productId)!) ?? 1), 0), true];
      }
      return [amount * pct / 100, false];
    };
    const segs = new Map<string, number[]>();
    for (const l of labels) segs.set(l.segment, [...(segs.get(l.segment) ?? []), l.id]);
    const figs = new Map<string, Fig>();
    for (const [seg, ids] of segs) {
      let buyers = 0; let converted = 0; let retained = 0; let next = 0; let kept = 0;
      const dealsInWindow = new Map<number, { sem: string; amount: number }>();
      const gaps: number[] = [];
      for (const id of ids) {
        const ds = byContact.get(id) ?? [];
        const wonDays = [...new Set(ds.filter((d) => d.sem === 'S' && d.day <= end).map((d) => d.day))].sort();
        const buyer = ds.some((d) => d.sem === 'S' && d.day <= run.asOf && d.amount > 0);
        const inWin = ds.filter((d) => d.day > run.asOf && d.day <= end);
        if (buyer) buyers++;
        if (inWin.some((d) => d.sem === 'S')) { converted++; if (buyer) retained++; }
        for (const d of inWin) dealsInWindow.set(d.id, d);
        wonDays.forEach((dd, i) => { if (i > 0 && dd > run.asOf) gaps.push((Date.parse(dd) - Date.parse(wonDays[i - 1]!)) / DAY); });
        if (nextSeg.has(id)) {
          next++;
          const to = nextSeg.get(id)!;
          if (to === seg || ORDER.indexOf(to) <= ORDER.indexOf(seg)) kept++;
        }
      }
      let won = 0; let lost = 0; let revenue = 0; let margin = 0; let fromCatalog = 0;
      for (const [id, d] of dealsInWindow) {
        if (d.sem === 'F') { lost++; continue; }
        won++;
        revenue += d.amount;
        const [m, known] = marginOf(id, d.amount);
        margin += m;
        if (known) fromCatalog++;
      }
      const n = ids.length;
      const c = <T>(v: T) => (complete ? v : null);
      figs.set(seg, {
        segment: seg, members: n, buyers, conversion: c(converted / n), winRate: c(won + lost ? won / (won + lost) : null),
        wonDeals: c(won), lostDeals: c(lost), revenuePerMember: c(revenue / n), marginPerMember: c(margin / n), marginFromCatalog: c(fromCatalog),
        retention: c(buyers ? retained / buyers : null), stayed: next && runs[runIdx + 1] ? kept / next : null,
        averageOrderValue: c(won ? revenue / won : null), meanDaysBetweenOrders: c(gaps.length ? gaps.reduce((s, x) => s + x, 0) / gaps.length : null),
      });
    }
    return { complete, figs };
  }

  function expectSame(got: Fig, want: Fig) {
    for (const k of Object.keys(want) as Array<keyof Fig>) {
      const a = got[k];
      const b = want[k];
      if (typeof b === 'number') expect(a, `${want.segment}.${k}`).toBeCloseTo(b, 6);
      else expect(a, `${want.segment}.${k}`).toBe(b);
    }
  }

  beforeAll(async () => {
    const db = getDb();
    emu = new EmuPortal({ language: 'en' });
    generatePortal(emu, { contacts: 600, seed: 23, years: 3 });
    memberId = emu.memberId;
    // seedPortal sets the token cipher; its portal is the foreign one (one run of its own)
    const other = await seedPortal(db, 'member-eff-foreign', [{ id: 1, name: 'X' }], [{ contactId: 1, segment: 'champions', monetary: 5 }]);
    foreignRun = other.runId;
    portalId = (await upsertPortalOnInstall(db, { memberId, domain: 'eff.test', clientEndpoint: 'https://eff.test/rest/', status: 'active' })).id;
    await mirrorEmulatorPortal(emu, db, portalId);
    // purchase prices as a catalog sync stores them (test/integration/sync-purchase-prices.test.ts):
    // the emulated catalog's purchasingPrice, in the product's currency, for most products
    const products = [...emu.products.values()];
    for (const p of products) {
      const pp = purchasingPriceOf(p);
      if (pp !== null) purchase.set(p.id, pp);
    }
    await db.query(
      `INSERT INTO products (portal_id, id, name, price, currency_id, purchasing_price, purchasing_currency)
       SELECT $1, u.id, u.name, u.price, u.cur, u.pp, u.cur FROM unnest($2::bigint[], $3::text[], $4::numeric[], $5::text[], $6::numeric[]) AS u(id, name, price, cur, pp)`,
      [portalId, products.map((p) => p.id), products.map((p) => p.name), products.map((p) => p.price), products.map((p) => p.currencyId), products.map((p) => purchase.get(p.id) ?? null)],
    );
    const now = emu.clock.now();
    for (const back of RUN_DAYS_BACK) {
      const r = await runScoring(db, portalId, new Date(now - back * DAY));
      runs.push({ id: r.runId, asOf: r.asOf });
    }
    srv = await startUiServer(db);
    admin = srv.session(portalId, memberId, { admin: true });
    adminRu = srv.session(portalId, memberId, { admin: true, lang: 'ru' });
    head = srv.session(portalId, memberId, { admin: false, user: 2 });
  }, 180_000);
  afterAll(async () => {
    await srv?.close();
  });

  it('every figure of every run equals the recomputation from the emulator\'s deals, for 30, 90 and 180 days', async () => {
    const seen = { conv: 0, catalog: 0, setting: 0, gaps: 0, stayedBelow1: 0, incomplete: 0, complete: 0, lost: 0 };
    for (const w of [30, 90, 180]) {
      for (let i = 0; i < runs.length; i++) {
        const e = await eff(`?run=${runs[i]!.id}&window=${w}`);
        expect(e.run.runId).toBe(runs[i]!.id);
        expect(e.horizon).toBe(runs[runs.length - 1]!.asOf);
        const want = await expected(i, w, 30);
        expect(e.run.complete).toBe(want.complete);
        expect(e.run.windowEnd).toBe(addDays(runs[i]!.asOf, w));
        expect(e.run.nextRun?.id ?? null).toBe(runs[i + 1]?.id ?? null);
        expect(e.run.segments.map((s) => s.segment).sort()).toEqual([...want.figs.keys()].sort());
        for (const s of e.run.segments) {
          const x = want.figs.get(s.segment)!;
          expectSame(s, x);
          if ((x.conversion ?? 0) > 0) seen.conv++;
          if ((x.marginFromCatalog ?? 0) > 0) seen.catalog++;
          if ((x.wonDeals ?? 0) > (x.marginFromCatalog ?? 0)) seen.setting++;
          if (x.meanDaysBetweenOrders !== null) seen.gaps++;
          if (x.stayed !== null && x.stayed < 1) seen.stayedBelow1++;
          if ((x.lostDeals ?? 0) > 0) seen.lost++;
        }
        if (want.complete) seen.complete++; else seen.incomplete++;
      }
    }
    // the data exercised every branch: not a test of zeros
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(0);
  });

  it('a product sync (crm.product.list has no purchase price) keeps the purchase prices the store has', async () => {
    const p = [...emu.products.values()].find((x) => purchase.has(x.id))!;
    await upsertProducts(getDb(), portalId, [{ id: p.id, name: p.name, price: p.price, currencyId: p.currencyId, active: true }]);
    const back = (await getProducts(getDb(), portalId)).find((x) => x.id === p.id)!;
    expect(Number(back.purchasingPrice)).toBe(purchase.get(p.id));
    expect(back.purchasingCurrency).toBe(p.currencyId);
  });

  it('an unfinished window is null and marked incomplete, never 0; "stayed" needs a later run', async () => {
    const last = runs[runs.length - 1]!;
    const e = await eff(`?run=${last.id}&window=30`);
    expect(e.run.complete).toBe(false);
    expect(e.run.nextRun).toBeNull();
    for (const s of e.run.segments) {
      expect(s.members).toBeGreaterThan(0);
      for (const k of ['conversion', 'winRate', 'revenuePerMember', 'marginPerMember', 'retention', 'stayed', 'averageOrderValue', 'meanDaysBetweenOrders'] as const) expect(s[k], k).toBeNull();
    }
  });

  it('by default the latest run whose window has elapsed, with the runs before it at least a week apart, oldest first', async () => {
    const e = await eff('?window=90');
    // runs 0 (300 d back), 1 (210), 2 (120), 3 (95) have 90 days behind them; run 3 is the latest
    expect(e.run.runId).toBe(runs[3]!.id);
    expect(e.history.map((h) => h.runId)).toEqual([runs[0]!.id, runs[1]!.id, runs[2]!.id, runs[3]!.id]);
    expect(e.window).toBe(90);
    expect(e.entity).toBe('contact');
    const e30 = await eff('');
    expect(e30.window).toBe(90);
    expect((await eff('?window=30')).run.runId).toBe(runs[4]!.id);
  });

  it('the margin percentage is a setting (admins): the fallback margin follows it; bad values are 400, non-admins 403', async () => {
    const put = (body: unknown, session = admin) => srv.call('PUT', '/api/ui/effectiveness/settings', { session, body });
    for (const bad of [{ marginPercent: 150 }, { marginPercent: -1 }, { marginPercent: '30' }, { marginPercent: 30, extra: 1 }, [], { marginPercent: { $gt: 1 } }]) {
      const r = await put(bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.json.error).toBe('INVALID_SETTINGS');
    }
    expect((await put({ marginPercent: 45 }, head)).status).toBe(403);
    expect((await put({ marginPercent: 45 })).json).toEqual({ settings: { marginPercent: 45 } });
    const e = await eff(`?run=${runs[1]!.id}&window=90`);
    expect(e.marginPercent).toBe(45);
    const want = await expected(1, 90, 45);
    for (const s of e.run.segments) expectSame(s, want.figs.get(s.segment)!);
    expect((await put({})).json).toEqual({ settings: { marginPercent: 30 } });
    expect((await eff(`?run=${runs[1]!.id}`)).marginPercent).toBe(30);
  });

  it('a non-admin gets shares and counts, no amount of money, and no segment under MIN_GROUP members', async () => {
    const e = await eff(`?run=${runs[2]!.id}&window=90`, head);
    const a = await eff(`?run=${runs[2]!.id}&window=90`);
    expect(e.suppressedBelow).toBe(MIN_GROUP);
    expect(a.suppressedBelow).toBeNull();
    let small = 0;
    for (const r of e.history) {
      for (const s of r.segments) {
        expect(s.revenuePerMember).toBeNull();
        expect(s.marginPerMember).toBeNull();
        expect(s.averageOrderValue).toBeNull();
        const full = a.history.find((h) => h.runId === r.runId)!.segments.find((x) => x.segment === s.segment)!;
        if (full.members! < MIN_GROUP) {
          small++;
          expect(Object.entries(s).filter(([k, v]) => k !== 'segment' && v !== null)).toEqual([]);
        } else {
          expect(s.conversion).toBe(full.conversion);
          expect(s.retention).toBe(full.retention);
          expect(s.members).toBe(full.members);
        }
      }
    }
    expect(small).toBeGreaterThan(0);
    // the CSV follows the same rule
    const csv = await get(`/export?run=${runs[2]!.id}&window=90`, head);
    expect(csv.status).toBe(200);
    const money = csv.text.split('\r\n').slice(1).filter(Boolean).map((l) => l.split(',')).filter((c) => c[9] !== '' || c[10] !== '' || c[13] !== '');
    expect(money).toEqual([]);
  });

  it('the CSV holds every run and segment in the user\'s language and locale (Russian: ";" and decimal comma)', async () => {
    const e = await eff(`?run=${runs[2]!.id}&window=90`, adminRu);
    const r = await get(`/export?run=${runs[2]!.id}&window=90`, adminRu);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/csv');
    // (fetch's text() drops the BOM the file starts with)
    const lines = r.text.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean).map((l) => l.split(';'));
    expect(lines[0]![0]).toBe('Расчёт на дату');
    expect(lines[0]![5]).toBe('Конверсия, %');
    expect(lines.length - 1).toBe(e.history.reduce((n, h) => n + h.segments.length, 0));
    const champ = e.run.segments.find((s) => s.segment === 'champions')!;
    const [y, m, d] = e.run.asOf.slice(0, 10).split('-');
    const mine = lines.filter((l) => l[0] === `${d}.${m}.${y}` && l[2] === 'Чемпионы');
    expect(mine.length).toBe(1);
    const conv = mine[0]!;
    expect(conv[1]).toBe('90 (завершено)');
    expect(conv[3]).toBe(String(champ.members));
    expect(conv[5]).toBe(String(Math.round(champ.conversion! * 1000) / 10).replace('.', ','));
    expect(conv[9]).toBe(String(Math.round(champ.revenuePerMember! * 100) / 100).replace('.', ','));
  });

  describe('attacker input gets a 4xx JSON reason', () => {
    it('bad, repeated, nested, oversize and unknown query values: 400', async () => {
      for (const q of ['?run=abc', '?run=0', '?run=-1', '?run=1.5', `?run=${'9'.repeat(40)}`, '?window=45', '?window=', '?entity=lead',
        '?run=1&run=2', '?window=30&window=90', '?run[a]=1', '?run[]=1', '?foo=1', '?entity[x]=contact', `?run=${'1'.repeat(5000)}`]) {
        const r = await get(q);
        expect(r.status, q).toBe(400);
        expect(typeof r.json.error, q).toBe('string');
        expect(typeof r.json.message, q).toBe('string');
      }
    });
    it('companies are refused while no run labelled them (B2B off): 409 NO_COMPANIES', async () => {
      const r = await get('?entity=company');
      expect(r.status).toBe(409);
      expect(r.json.error).toBe('NO_COMPANIES');
      expect((await get('?entity=contact')).status).toBe(200);
    });
    it('another portal\'s run and runs that do not exist: 404 RUN_NOT_FOUND (also for the CSV)', async () => {
      for (const q of [`?run=${foreignRun}`, '?run=999999999', `/export?run=${foreignRun}`]) {
        const r = await get(q);
        expect(r.status, q).toBe(404);
        expect(r.json.error).toBe('RUN_NOT_FOUND');
      }
      // a run of ours that is not done is not one of the figures' runs either
      const running = await createScoreRun(getDb(), portalId, { asOf: new Date(), status: 'running' });
      expect((await get(`?run=${running.id}`)).status).toBe(404);
      await getDb().query(`DELETE FROM score_runs WHERE portal_id = $1 AND id = $2`, [portalId, running.id]);
    });
    it('no session or a forged one: 401', async () => {
      expect((await srv.call('GET', '/api/ui/effectiveness')).status).toBe(401);
      expect((await srv.call('GET', '/api/ui/effectiveness', { session: `${admin}x` })).status).toBe(401);
      expect((await srv.call('PUT', '/api/ui/effectiveness/settings', { body: { marginPercent: 1 } })).status).toBe(401);
    });
  });
});
