/**
 * Companies as customers (issue 14 item 1), one real cycle after another against the emulator
 * (B2B profile) and the store: sync (REST) → scoring → write-back.
 *  - a won deal counts for its company (COMPANY_ID): each company's purchase days, revenue, last
 *    purchase and recency are recomputed here from the emulator's raw deals, the R/F/M levels from
 *    the run's stored bounds with the documented rule (level = 1 + bounds beaten);
 *  - contacts keep counting the deals they are on (deals tied to the company only count for it);
 *  - the company fields carry the labels, read back with crm.company.get (same UF_CRM_SEG_* names);
 *  - a second cycle writes no company; two new company-only won deals → exactly those two
 *    companies are written, and no contact;
 *  - with B2B off no company is scored nor written;
 *  - a deal event relabels the deal's company in the latest run and writes its fields (event path).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { createTokenCipher, setTokenCipher, upsertPortalOnInstall, updatePortalSettings } from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { loadRegistry } from '../../src/writeback/fields.js';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { addToInbox } from '../../src/events/inbox.js';
import { processInbox } from '../../src/events/process.js';
import { eachDb, type Db } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';

const TS = 100;
let tp: TestPortal;

beforeAll(() => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
});

const client = () => new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: TS } });
const today = () => new Date(tp.emu.portal.clock.now()).toISOString().slice(0, 10);
const dayNo = (d: string) => Date.parse(`${d}T00:00:00Z`) / 86_400_000;
const addDay = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

interface Truth { days: Set<string>; revenue: number; last: string }

/** Per customer, from the emulator's raw deals: distinct won days, revenue in the base currency, last won day. */
function truthFromPortal(key: (d: { companyId: number | null; contactIds: number[] }) => number[]): Map<number, Truth> {
  const p = tp.emu.portal;
  const rate = new Map(p.currencies.map((c) => [c.currency, c.amount / (c.amountCnt || 1)]));
  const out = new Map<number, Truth>();
  for (const d of p.deals.values()) {
    if (stageSemantic(p, d.stageId) !== 'S') continue;
    for (const id of key(d)) {
      let t = out.get(id);
      if (!t) out.set(id, (t = { days: new Set(), revenue: 0, last: '' }));
      t.days.add(d.closeDate);
      // the store keeps each deal's amount in base currency to the cent (src/sync/derived.ts)
      t.revenue += Math.round(d.opportunity * (rate.get(d.currencyId) ?? 1) * 100) / 100;
      if (d.closeDate > t.last) t.last = d.closeDate;
    }
  }
  return out;
}

type Bounds = { bounds: number[] };
/** The documented level rule (src/scoring/rfm.ts): 1 + bounds beaten; R beats a bound by being below it. */
const higher = (v: number, b: Bounds) => 1 + b.bounds.filter((x) => v > x).length;
const lower = (v: number, b: Bounds) => 1 + b.bounds.filter((x) => v < x).length;

eachDb('B2B: companies as customers', (getDb) => {
  let db: Db;
  let portalId: number;
  let asOf: string;
  const cycle = async () => {
    const c = client();
    await runSync({ db, portalId, client: c }, { kind: 'full' });
    const s = await runScoring(db, portalId, asOf);
    const w = await runWriteBack(db, portalId, c);
    return { s, w };
  };
  const companyLabels = async (runId: number) => (await db.query<{
    id: number; segment: string | null; rfm: string | null; r: number | null; f: number | null; m: number | null; recency: number | null;
    frequency: number; monetary: number | null; last: string | null; lifecycle: string | null;
  }>(`SELECT company_id::int AS id, segment, rfm, r, f, m, recency_days AS recency, frequency, monetary::float8 AS monetary,
             last_purchase::text AS last, lifecycle FROM company_labels WHERE portal_id = $1 AND run_id = $2 ORDER BY company_id`, [portalId, runId])).rows;

  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 300, seed: 14, timeScale: TS, profile: 'b2b' });
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: 'b2b', domain: 'b2b.bitrix24.com', language: 'en' })).id;
    asOf = today();
  });
  afterAll(async () => {
    await tp?.emu.close();
  });

  it('B2B off: no company is scored nor written', async () => {
    const { s, w } = await cycle();
    expect(s.companies).toBeNull();
    expect(w.companies).toBeNull();
    expect(await companyLabels(s.runId)).toEqual([]);
  });

  it('B2B on: a company is scored from the won deals whose COMPANY_ID it is (recomputed from the raw deals)', async () => {
    await updatePortalSettings(db, portalId, { b2b: true });
    const { s } = await cycle();
    const truth = truthFromPortal((d) => (d.companyId ? [d.companyId] : []));
    const labels = await companyLabels(s.runId);
    expect(labels.length).toBe(tp.emu.portal.companies.size);
    expect(s.companies!.companies).toBe(tp.emu.portal.companies.size);
    expect(s.companies!.buyers).toBe(truth.size);
    // the profile ties deals to companies only: some buyers' revenue rests on such deals
    const companyOnly = [...tp.emu.portal.deals.values()].filter((d) => d.companyId && d.contactIds.length === 0 && stageSemantic(tp.emu.portal, d.stageId) === 'S');
    expect(companyOnly.length).toBeGreaterThan(0);
    const run = (await db.query<{ counts: { companies: { thresholds: Record<'recency' | 'frequency' | 'monetary', Bounds> } } }>(
      `SELECT counts FROM score_runs WHERE portal_id = $1 AND id = $2`, [portalId, s.runId])).rows[0]!;
    const th = run.counts.companies.thresholds;
    for (const l of labels) {
      const t = truth.get(l.id);
      if (!t) {
        expect([l.id, l.frequency, l.last, l.segment]).toEqual([l.id, 0, null, 'no_purchases']);
        continue;
      }
      const recency = dayNo(asOf) - dayNo(t.last);
      expect([l.id, l.frequency, l.last, l.recency]).toEqual([l.id, t.days.size, t.last, recency]);
      expect(l.monetary).toBeCloseTo(t.revenue, 1);
      expect([l.id, l.r, l.f, l.m]).toEqual([l.id, lower(recency, th.recency), higher(t.days.size, th.frequency), higher(l.monetary!, th.monetary)]);
    }
    // contacts count the deals they are on, as before (a company-only deal counts for no contact)
    const contactTruth = truthFromPortal((d) => d.contactIds);
    const { rows: cl } = await db.query<{ id: number; frequency: number; monetary: number | null }>(
      `SELECT contact_id::int AS id, frequency, monetary::float8 AS monetary FROM contact_labels WHERE portal_id = $1 AND run_id = $2`, [portalId, s.runId]);
    for (const c of cl) {
      expect([c.id, c.frequency]).toEqual([c.id, contactTruth.get(c.id)?.days.size ?? 0]);
      if (contactTruth.has(c.id)) expect(c.monetary).toBeCloseTo(contactTruth.get(c.id)!.revenue, 1);
    }
  });

  it('the company fields carry the labels (crm.company.get, the same UF_CRM_SEG_* names as contacts)', async () => {
    const { s, w } = await cycle();
    const labels = await companyLabels(s.runId);
    const buyers = labels.filter((l) => l.frequency > 0);
    // the previous cycle wrote them all; this one has nothing left to write
    expect(w.companies!.written).toBe(0);
    expect(w.companies!.failed).toBe(0);
    const reg = await loadRegistry(db, portalId, 'company');
    const c = client();
    for (const l of buyers.slice(0, 8)) {
      const got = await c.call<Record<string, unknown>>('crm.company.get', { id: l.id });
      expect(Number(got.UF_CRM_SEG_SEGMENT)).toBe(reg.get('UF_CRM_SEG_SEGMENT')!.items[l.segment!]);
      expect(Number(got.UF_CRM_SEG_RFM)).toBe(reg.get('UF_CRM_SEG_RFM')!.items[l.rfm!]);
      expect(Number(got.UF_CRM_SEG_R)).toBe(reg.get('UF_CRM_SEG_R')!.items[String(l.r)]);
      expect(Number(got.UF_CRM_SEG_LIFECYCLE)).toBe(reg.get('UF_CRM_SEG_LIFECYCLE')!.items[l.lifecycle!]);
      expect(Number(got.UF_CRM_SEG_FREQUENCY)).toBe(l.frequency);
      expect(Number(got.UF_CRM_SEG_MONETARY)).toBeCloseTo(l.monetary!, 2);
      expect(String(got.UF_CRM_SEG_LAST_PURCHASE).slice(0, 10)).toBe(l.last);
      expect(got.UF_CRM_SEG_SAVED).toBeUndefined(); // the saved-segment field is contacts-only
    }
    // every company with a won deal holds a segment in the portal; the others none
    for (const l of labels) {
      const uf = tp.emu.portal.companies.get(l.id)!.uf;
      expect([l.id, uf.UF_CRM_SEG_SEGMENT !== undefined && uf.UF_CRM_SEG_SEGMENT !== null]).toEqual([l.id, l.frequency > 0]);
    }
  });

  it('two new company-only won deals → exactly those two companies are written, no contact', async () => {
    // rule-based P(alive)/CLV: a model refit would move other customers' values (see writeback-cycle.test.ts)
    await updatePortalSettings(db, portalId, { scoring: { models: { enabled: false } } });
    await cycle(); // settle the switch
    expect((await cycle()).w.companies!.written).toBe(0);
    const c = client();
    const targets = [...tp.emu.portal.companies.keys()].slice(0, 2);
    for (const id of targets) {
      await c.call('crm.deal.add', { fields: { TITLE: `B2B order ${id}`, COMPANY_ID: id, STAGE_ID: 'WON', OPPORTUNITY: 777, CURRENCY_ID: tp.emu.portal.baseCurrency, CLOSEDATE: asOf } });
    }
    const { s, w } = await cycle();
    expect(w.companies!.written).toBe(2);
    expect(w.written).toBe(0); // no contact is on those deals
    const written = await db.query<{ id: number }>(
      `SELECT entity_id::int AS id FROM written_values WHERE portal_id = $1 AND entity = 'company' AND run_id = $2 ORDER BY 1`, [portalId, s.runId]);
    expect(written.rows.map((r) => r.id)).toEqual([...targets].sort((a, b) => a - b));
    for (const id of targets) {
      const got = await c.call<Record<string, unknown>>('crm.company.get', { id });
      expect(String(got.UF_CRM_SEG_LAST_PURCHASE).slice(0, 10)).toBe(asOf);
    }
  });

  it('a deal event relabels its company in the latest run and writes the company\'s fields', async () => {
    const c = client();
    const before = (await db.query<{ id: number }>(`SELECT id::int FROM score_runs WHERE portal_id = $1 AND status = 'done' ORDER BY id DESC LIMIT 1`, [portalId])).rows[0]!.id;
    // a company that has bought, and a new won deal of it (no contact), dated a day before the run's as-of
    const buyer = (await companyLabels(before)).find((l) => l.frequency > 0 && l.last !== null && l.last < addDay(asOf, -1))!;
    const when = addDay(asOf, -1);
    const dealId = await c.call<number>('crm.deal.add', { fields: { TITLE: 'Event order', COMPANY_ID: buyer.id, STAGE_ID: 'WON', OPPORTUNITY: 1234, CURRENCY_ID: tp.emu.portal.baseCurrency, CLOSEDATE: when } });
    await addToInbox(db, portalId, [{ entity: 'deal', id: Number(dealId), action: 'upsert' }]);
    const r = await processInbox(db, portalId, c, { now: new Date() });
    expect(r.companiesRescored).toBe(1);
    const latest = (await db.query<{ id: number }>(`SELECT id::int FROM score_runs WHERE portal_id = $1 AND status = 'done' ORDER BY id DESC LIMIT 1`, [portalId])).rows[0]!.id;
    expect(latest).toBe(before); // relabelled in place, no new run
    const truth = truthFromPortal((d) => (d.companyId ? [d.companyId] : [])).get(buyer.id)!;
    const now = (await companyLabels(latest)).find((l) => l.id === buyer.id)!;
    expect([now.frequency, now.last]).toEqual([truth.days.size, when]);
    expect(now.monetary).toBeCloseTo(truth.revenue, 1);
    expect(r.writeBack!.companies!.written).toBe(1);
    const got = await c.call<Record<string, unknown>>('crm.company.get', { id: buyer.id });
    expect([Number(got.UF_CRM_SEG_FREQUENCY), String(got.UF_CRM_SEG_LAST_PURCHASE).slice(0, 10)]).toEqual([truth.days.size, when]);
  });
});
