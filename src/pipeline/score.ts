/**
 * Score-portal glue: store → scoring input → scorePortal → score_runs + contact_labels (+ history).
 *
 *  - Input: every contact with its won deals (day, amount in base currency, product sections),
 *    lost deals (stage + loss reason) and open-deal count, read in keyset batches and packed in
 *    columns (./compact-input.ts). The run keeps per-customer columns, not scores: a customer's
 *    score is built when its label row is (scorePortalView, src/scoring/score-view.ts), so memory
 *    grows by ~200 bytes a contact plus ~30 a deal.
 *  - Thresholds stay still: in quantile mode the bounds of the previous run are kept ("pinned")
 *    as long as fewer than `reanchorShare` (default 10%) of today's buyers would get a different
 *    R, F or M level under fresh quantiles. Otherwise the fresh bounds are adopted. So a quiet
 *    day does not reshuffle levels; a customer's level moves only when their own value crosses
 *    a bound (e.g. recency passes 90 days), and the bounds re-anchor only when the portal's
 *    distribution has really moved.
 *  - History: prev_segment and changed_at per contact (in contact_labels.extra). changed_at is
 *    the run's time when the segment differs from the previous run's; otherwise both are carried
 *    over. The first run sets neither (nothing changed yet).
 *  - Companies (B2B option on, or `opts.b2b`): in the same run every company is scored like a
 *    contact from the deals whose COMPANY_ID it is (a won deal counts for its company and for
 *    its contacts), with thresholds of its own (companies buy differently from people), pinned
 *    the same way, and stored in company_labels; the run's counts.companies holds their totals,
 *    thresholds and drift.
 */
import type { Db } from '../store/db.js';
import { createScoreRun, finishScoreRun, insertLabels, latestScoreRun, vacuumLabelFacts, analyzeLabels, type ContactLabelInput } from '../store/scores.js';
import { getSections } from '../store/crm.js';
import { CHUNK_ROWS } from '../store/bulk.js';
import { KIND_TABLES, type CustomerKind } from '../store/customer-kinds.js';
import { portalBacktest, type StoredBacktest } from './backtest.js';
import { getPortal } from '../store/portals.js';
import { readSection, refusalReasonKey } from '../settings/index.js';
import { lostReason, refusalResolver, type RefusalResolver } from './refusal.js';
import { fullRunMarks } from './incremental.js';
import { dataQualityOf, type DqContext } from './data-quality.js';
import { CompactInput } from './compact-input.js';
import {
  cellLabel, levelOf, relabelRun, scorePortalView, scoringSettingsSchema, segmentOf, segmentSizes,
  type CustomerInput, type DimensionThresholds, type LostDeal, type ScoredPortal, type ScoringRun, type ScoringSettings, type WonDeal,
} from '../scoring/index.js';

export interface RunScoringOptions {
  /** share of buyers whose level may differ before pinned thresholds are re-anchored (default 0.1) */
  reanchorShare?: number;
  /** scoring settings; default: portal.settings.scoring */
  settings?: ScoringSettings;
  /** contacts per store round trip (default 5000) */
  batchSize?: number;
  /** time stamped into changed_at (default now) */
  now?: Date;
  /** score companies too; default: the portal's B2B setting */
  b2b?: boolean;
  /** why an incremental cycle scored everyone (events/rescore-cycle.ts), kept in the result */
  fullReason?: string;
}

/** The companies' part of a run (B2B). */
export interface CompanyScoringResult {
  companies: number;
  buyers: number;
  segmentChanges: number;
  thresholds: ScoringResult['thresholds'];
  drift: number | null;
}

export interface ScoringResult {
  runId: number;
  asOf: string;
  contacts: number;
  buyers: number;
  segmentChanges: number;
  thresholds: 'fresh' | 'pinned' | 'fixed' | 'none';
  /** share of buyers whose level would move under fresh bounds (pinning decision) */
  drift: number | null;
  warnings: string[];
  /** null when companies were not scored (B2B off) */
  companies: CompanyScoringResult | null;
  /** 'partial': only `rescored` contacts were loaded and relabelled in place (incremental); `fullReason`: why an incremental run was full */
  mode: 'full' | 'partial';
  rescored?: number;
  fullReason?: string;
  ms: { load: number; score: number; store: number };
}

type Th = NonNullable<ScoringRun['thresholds']>;

const day = (d: Date): string => d.toISOString().slice(0, 10);

/** Today in the portal's time zone (falls back to UTC). */
export function portalToday(timeZone: string | null | undefined, now = new Date()): string {
  if (!timeZone) return day(now);
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  } catch {
    return day(now);
  }
}

interface DealRow {
  customerId: number;
  id: number;
  sem: 'P' | 'S' | 'F' | null;
  closeDate: string | null;
  created: Date | null;
  amount: number | null;
  stageId: string | null;
  uf: Record<string, unknown> | null;
}

type CustomerRow = { id: number; dateCreate: Date | null };

const DEAL_COLS = `d.id, d.stage_semantic AS sem, d.close_date AS "closeDate", d.date_create AS created,
            COALESCE(d.opportunity_base, d.opportunity) AS amount, d.stage_id AS "stageId",
            CASE WHEN d.stage_semantic = 'F' THEN d.uf END AS uf`;

/** The deals of a batch of customers ($1 portal, $2 ids): a contact's through deal_contacts, a company's by COMPANY_ID. */
const DEALS_OF: Record<CustomerKind, string> = {
  contact: `SELECT dc.contact_id AS "customerId", ${DEAL_COLS}
       FROM deal_contacts dc JOIN deals d ON d.portal_id = dc.portal_id AND d.id = dc.deal_id
      WHERE dc.portal_id = $1 AND dc.contact_id = ANY($2::bigint[])
      ORDER BY dc.contact_id, d.id`,
  company: `SELECT d.company_id AS "customerId", ${DEAL_COLS}
       FROM deals d WHERE d.portal_id = $1 AND d.company_id = ANY($2::bigint[])
      ORDER BY d.company_id, d.id`,
};

/**
 * All customers of a kind (contacts by default) as scoring input, in id order, packed in columns
 * (./compact-input.ts): a batch's objects live only until they are packed.
 */
export async function loadScoringInput(db: Db, portalId: number, batchSize = 5000, kind: CustomerKind = 'contact'): Promise<CompactInput> {
  const out = new CompactInput(kind);
  const reasons = await refusalResolver(db, portalId);
  let after = -1;
  for (;;) {
    const { rows } = await db.query<CustomerRow>(
      `SELECT id, date_create AS "dateCreate" FROM ${KIND_TABLES[kind].crm} WHERE portal_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [portalId, after, batchSize],
    );
    if (!rows.length) break;
    after = rows[rows.length - 1]!.id;
    for (const c of await scoringInputOf(db, portalId, rows, kind, reasons)) out.push(c);
    if (rows.length < batchSize) break;
  }
  return out.done();
}

/** Scoring input of the given contacts (or companies) that are in the store (event rescoring), in id order. */
export async function loadScoringInputFor(db: Db, portalId: number, ids: readonly number[], kind: CustomerKind = 'contact'): Promise<CustomerInput[]> {
  if (!ids.length) return [];
  const { rows } = await db.query<CustomerRow>(
    `SELECT id, date_create AS "dateCreate" FROM ${KIND_TABLES[kind].crm} WHERE portal_id = $1 AND id = ANY($2::bigint[]) ORDER BY id`,
    [portalId, [...ids]],
  );
  return scoringInputOf(db, portalId, rows, kind, await refusalResolver(db, portalId));
}

/** Product section ids per won deal. */
async function sectionsOfDeals(db: Db, portalId: number, wonIds: number[]): Promise<Map<number, number[]>> {
  const sectionsByDeal = new Map<number, number[]>();
  if (!wonIds.length) return sectionsByDeal;
  const { rows } = await db.query<{ dealId: number; sectionId: number }>(
    `SELECT DISTINCT pr.deal_id AS "dealId", COALESCE(pr.section_id, p.section_id) AS "sectionId"
       FROM product_rows pr LEFT JOIN products p ON p.portal_id = pr.portal_id AND p.id = pr.product_id
      WHERE pr.portal_id = $1 AND pr.deal_id = ANY($2::bigint[]) AND COALESCE(pr.section_id, p.section_id) IS NOT NULL`,
    [portalId, wonIds],
  );
  for (const r of rows) {
    let l = sectionsByDeal.get(r.dealId);
    if (!l) sectionsByDeal.set(r.dealId, (l = []));
    l.push(r.sectionId);
  }
  return sectionsByDeal;
}

/**
 * One batch of customers as scoring input: their won deals (date, amount in the base currency,
 * product sections), lost deals (with the reason, from where settings.refusal says: ./refusal.ts)
 * and the count of open deals.
 */
async function scoringInputOf(
  db: Db, portalId: number, customers: readonly CustomerRow[], kind: CustomerKind, reasons: RefusalResolver,
): Promise<CustomerInput[]> {
  if (!customers.length) return [];
  const { rows: deals } = await db.query<DealRow>(DEALS_OF[kind], [portalId, customers.map((c) => c.id)]);
  const sectionsByDeal = await sectionsOfDeals(db, portalId, [...new Set(deals.filter((d) => d.sem === 'S').map((d) => d.id))]);
  const byCustomer = new Map<number, DealRow[]>();
  for (const d of deals) {
    let l = byCustomer.get(Number(d.customerId));
    if (!l) byCustomer.set(Number(d.customerId), (l = []));
    l.push(d);
  }
  return customers.map((c) => {
    const won: WonDeal[] = [];
    const lost: LostDeal[] = [];
    let open = 0;
    for (const d of byCustomer.get(Number(c.id)) ?? []) {
      const date = d.closeDate ?? (d.created ? day(d.created) : null);
      if (d.sem === 'S') {
        if (date) won.push({ id: Number(d.id), date, amount: d.amount ?? 0, sectionIds: sectionsByDeal.get(d.id) ?? [] });
      } else if (d.sem === 'F') lost.push({ date: date ?? undefined, reasonId: d.stageId, reason: lostReason(d, reasons) });
      else open++;
    }
    return { id: String(c.id), kind, createdAt: c.dateCreate ? day(c.dateCreate) : null, won, lost, openDeals: open };
  });
}

/**
 * One contact's stored label row from its scoring result (full runs and event rescoring alike).
 * `history` carries the previous segment and when it changed; `extra` keys are merged last.
 */
export function labelOf(
  c: ScoringRun['customers'][number],
  asOfDay: string,
  history: { prevSegment: string | null; changedAt: string | null },
  extra: { base?: Record<string, unknown>; more?: Record<string, unknown> } = {},
): ContactLabelInput {
  const asOfMs = Date.parse(`${asOfDay}T00:00:00Z`);
  return {
    contactId: Number(c.id),
    segment: c.segment,
    rfm: c.rfm,
    r: c.r,
    f: c.f,
    m: c.m,
    recencyDays: c.recencyDays,
    frequency: c.frequency,
    monetary: c.monetary,
    lastPurchase: c.recencyDays === null ? null : day(new Date(asOfMs - c.recencyDays * 86_400_000)),
    lifecycle: c.lifecycle,
    sleeping: c.sleeping ?? false,
    pAlive: c.recencyDays === null ? null : c.pAlive,
    clv: c.recencyDays === null ? null : c.predictedClv,
    nextPurchase: c.expectedNextPurchase,
    interests: c.interests.map((i) => i.tag),
    extra: {
      ...(extra.base ?? {}),
      revenue: c.historicValue,
      hasPurchases: c.recencyDays !== null,
      sleepingKnown: c.sleeping !== null,
      prevSegment: history.prevSegment,
      changedAt: history.changedAt,
      refusalReason: c.refusalReason,
      // a repeat buyer's days since the last purchase minus their own cycle (null: one purchase day or none)
      daysOverdue: c.daysOverdue,
      medianGapDays: c.medianGapDays,
      // the reason's key (src/settings/refusal.ts): the CRM field's item and the filter compare it
      refusalReasonKey: c.refusalReason ? refusalReasonKey(c.refusalReason) : null,
      valueSource: c.valueSource,
      expectedPurchases: c.expectedPurchases,
      // the 80 % predictive intervals over the horizon (src/scoring/value-distribution.ts); written to UF_CRM_SEG_CLV_LOW … PURCHASES_HIGH
      clvLow: c.recencyDays === null || !c.intervals ? null : c.intervals.clvLow,
      clvHigh: c.recencyDays === null || !c.intervals ? null : c.intervals.clvHigh,
      purchasesLow: c.recencyDays === null || !c.intervals ? null : c.intervals.purchasesLow,
      purchasesHigh: c.recencyDays === null || !c.intervals ? null : c.intervals.purchasesHigh,
      interestNames: Object.fromEntries((c.interestsEver ?? c.interests).map((i) => [i.tag, i.name])),
      // every tag ever bought (filter "ever bought in category") and when each one's window ends
      interestsEver: (c.interestsEver ?? c.interests).map((i) => i.tag),
      interestUntil: Object.fromEntries((c.interestsEver ?? c.interests).map((i) => [i.tag, i.expiresOn])),
      ...(extra.more ?? {}),
    },
  };
}

function sameShape(a: DimensionThresholds | undefined, b: DimensionThresholds): boolean {
  return !!a && a.levels === b.levels && a.direction === b.direction && a.bounds.length === b.bounds.length;
}

/** Relabels r/f/m/cell/segment of a run's score objects with other thresholds (in place; event rescoring). */
export function applyThresholds(run: ScoringRun, th: Th): void {
  const rules = run.scale === 3 ? run.settings.segments.scale3 : run.settings.segments.scale5;
  for (const c of run.customers) {
    if (c.recencyDays === null || c.r === null) continue;
    c.r = levelOf(c.recencyDays, th.recency);
    c.f = levelOf(c.frequency, th.frequency);
    c.m = levelOf(c.monetary, th.monetary);
    c.rfm = cellLabel(run.scale, c.r, c.f, c.m);
    c.segment = segmentOf(rules, c.r, c.f, c.m);
  }
  run.thresholds = th;
  run.segmentSizes = segmentSizes(run.customers);
}

/** The portal's scoring settings (src/settings); unusable stored ones stop the run, as a parse error did before. */
function scoringSettingsOf(portal: { id: number; settings: Record<string, unknown> }): ScoringSettings {
  const { value, error } = readSection(portal.settings, 'scoring');
  if (error) throw new Error(`runScoring: portal ${portal.id}: the stored scoring settings are not valid: ${error}`);
  return value;
}

/**
 * Threshold pinning: in quantile mode the previous run's bounds are kept when fewer than
 * `reanchorShare` of the buyers would get another level under the fresh ones (relabels `run`).
 */
function pinThresholds(run: ScoredPortal, prev: Partial<Th> | undefined, settings: ScoringSettings, reanchorShare: number) {
  let mode: ScoringResult['thresholds'] = run.thresholds ? (settings.rfm.mode === 'fixed' ? 'fixed' : 'fresh') : 'none';
  let drift: number | null = null;
  if (run.thresholds && settings.rfm.mode === 'quantile' && prev && sameShape(prev.recency, run.thresholds.recency)
      && sameShape(prev.frequency, run.thresholds.frequency) && sameShape(prev.monetary, run.thresholds.monetary)) {
    drift = run.customers.levelDrift(prev as Th);
    if (drift <= reanchorShare) {
      relabelRun(run, prev as Th);
      mode = 'pinned';
    }
  }
  return { mode, drift };
}

type PrevLabel = { segment: string | null; prevSegment: string | null; changedAt: string | null };

/**
 * The previous run's segment and history per customer of a kind. Read in pages of the three values
 * only (not the whole extra), their few distinct strings shared: at 1M customers the map is what stays.
 */
async function previousLabels(db: Db, portalId: number, runId: number, kind: CustomerKind = 'contact'): Promise<Map<number, PrevLabel>> {
  const out = new Map<number, PrevLabel>();
  const t = KIND_TABLES[kind];
  const strings = new Map<string, string>();
  const shared = (v: string | null): string | null => {
    if (v === null) return null;
    const have = strings.get(v);
    if (have !== undefined) return have;
    strings.set(v, v);
    return v;
  };
  let after = -1;
  for (;;) {
    const { rows } = await db.query<{ id: number; segment: string | null; prevSegment: string | null; changedAt: string | null }>(
      `SELECT ${t.id} AS id, segment, extra->>'prevSegment' AS "prevSegment", extra->>'changedAt' AS "changedAt" FROM ${t.labels}
        WHERE portal_id = $1 AND run_id = $2 AND ${t.id} > $3 ORDER BY ${t.id} LIMIT $4`,
      [portalId, runId, after, PREV_PAGE],
    );
    for (const r of rows) {
      out.set(Number(r.id), { segment: shared(r.segment), prevSegment: shared(r.prevSegment), changedAt: shared(r.changedAt) });
    }
    if (rows.length < PREV_PAGE) break;
    after = Number(rows[rows.length - 1]!.id);
  }
  return out;
}

/** Previous labels per page (previousLabels). */
const PREV_PAGE = 50_000;

/**
 * The run's labels with their history: a segment that moved since the previous run is stamped `stamp`.
 * The counts come at once; the label rows are built a slice at a time as they are stored (`labels(from, to)`),
 * so a run never holds all of them at once.
 */
function labelsWithHistory(run: ScoredPortal, prev: ReadonlyMap<number, PrevLabel>, asOfDay: string, stamp: string) {
  const view = run.customers;
  let changes = 0;
  let buyers = 0;
  for (let i = 0; i < view.length; i++) {
    const p = prev.get(Number(view.id(i)));
    if (p && p.segment !== view.segment(i)) changes++;
    if (view.isBuyer(i)) buyers++;
  }
  const labels = (from: number, to: number): ContactLabelInput[] => {
    const out: ContactLabelInput[] = [];
    for (let i = from; i < to; i++) {
      const c = view.at(i);
      const p = prev.get(Number(c.id));
      let prevSegment: string | null = p?.prevSegment ?? null;
      let changedAt: string | null = p?.changedAt ?? null;
      if (p && p.segment !== c.segment) {
        prevSegment = p.segment;
        changedAt = stamp;
      }
      out.push(labelOf(c, asOfDay, { prevSegment, changedAt }));
    }
    return out;
  };
  return { labels, count: view.length, changes, buyers };
}

/** Labels of one kind to store with a run: `count` rows, built a slice at a time. */
type KindLabels = { kind: CustomerKind; count: number; labels: (from: number, to: number) => ContactLabelInput[] };

/** Stores the run and its labels ('done' at the end, 'failed' when a write fails), then vacuums the count tables. */
async function storeRun(
  db: Db, portalId: number, asOfDay: string, run: ScoredPortal, sets: KindLabels[], counts: Record<string, unknown>, backtest: StoredBacktest,
): Promise<number> {
  const fits = { bgnbd: run.models.bgnbd, gammagamma: run.models.gammagamma, backtest };
  const sr = await createScoreRun(db, portalId, {
    asOf: new Date(`${asOfDay}T00:00:00Z`), status: 'running', settings: run.settings, thresholds: run.thresholds ?? {}, fits, counts,
  });
  try {
    // one bulk statement's rows at a time (CHUNK_ROWS): building a label row and its statement's
    // parameters costs ~8 kB of short-lived objects, so 20k at once peaked at +170 MB
    for (const { kind, count, labels } of sets) {
      for (let i = 0; i < count; i += CHUNK_ROWS) await insertLabels(db, kind, portalId, sr.id, labels(i, Math.min(count, i + CHUNK_ROWS)));
    }
    // statistics that know this run's rows BEFORE the finish rebuilds the count tables from them: with the
    // previous run's statistics the planner expects one row for this run_id and the rebuild's joins run
    // as nested loops (measured: > 12 min instead of 33 s for a second run of 100k contacts, PostgreSQL)
    for (const { kind, count } of sets) await analyzeLabels(db, kind, portalId, count).catch((err: Error) => console.warn(`[scoring] ANALYZE ${kind} labels: ${err.message}`));
    await finishScoreRun(db, portalId, sr.id, { status: 'done' });
  } catch (err) {
    await finishScoreRun(db, portalId, sr.id, { status: 'failed' }).catch(() => {});
    throw err;
  }
  // the finish rebuilt the portal's count tables (label_facts, label_cube) for this run
  await vacuumLabelFacts(db, portalId, sets.reduce((a, x) => a + x.count, 0)).catch((err: Error) => console.warn(`[scoring] VACUUM label_facts: ${err.message}`));
  return sr.id;
}

/** What a run needs to score one kind of customer besides its input. */
interface KindContext {
  asOfDay: string;
  settings: ScoringSettings;
  sections: { id: number; parentId: number | null; name: string }[];
  reanchorShare: number;
  stamp: string;
}

/**
 * Companies as customers (B2B): scored from their own deals with thresholds of their own, pinned
 * against the previous run's company thresholds (counts.companies.thresholds).
 */
async function scoreCompanies(db: Db, portalId: number, k: KindContext, prev: ScoreRunRow | null, batchSize?: number) {
  const customers = await loadScoringInput(db, portalId, batchSize, 'company');
  const run = scorePortalView({ asOf: k.asOfDay, customers, sections: k.sections }, k.settings);
  const prevCompanies = (prev?.counts as { companies?: { thresholds?: Partial<Th> } } | undefined)?.companies;
  const { mode, drift } = pinThresholds(run, prevCompanies?.thresholds, k.settings, k.reanchorShare);
  const dataQuality = await dataQualityOf(db, portalId, 'company', customers, run, dqContext(k));
  customers.clear();
  const prevLabels = prev ? await previousLabels(db, portalId, prev.id, 'company') : new Map<number, PrevLabel>();
  const { labels, count, changes, buyers } = labelsWithHistory(run, prevLabels, k.asOfDay, k.stamp);
  const result: CompanyScoringResult = { companies: count, buyers, segmentChanges: changes, thresholds: mode, drift };
  const counts = {
    ...result, segments: run.segmentSizes, lifecycles: run.lifecycleSizes, thresholds: run.thresholds ?? {}, thresholdMode: mode,
    warnings: run.warnings, fits: { bgnbd: run.models.bgnbd, gammagamma: run.models.gammagamma }, dataQuality,
  };
  return { labels, count, result, counts };
}

type ScoreRunRow = Awaited<ReturnType<typeof latestScoreRun>>;

/** The data-quality counterfactuals are relabelled as the next run would be: pinned to this run's bounds unless they drift too far. */
const dqContext = (k: KindContext): DqContext => ({
  asOfDay: k.asOfDay, settings: k.settings, sections: k.sections,
  relabel: (cf, actual) => void pinThresholds(cf, actual.thresholds ?? undefined, k.settings, k.reanchorShare),
});

/** The portal's B2B option (src/settings). */
const b2bOf = (portal: { settings: Record<string, unknown> }): boolean => readSection(portal.settings, 'b2b').value;

export async function runScoring(db: Db, portalId: number, asOf?: string | Date, opts: RunScoringOptions = {}): Promise<ScoringResult> {
  const t0 = performance.now();
  const portal = await getPortal(db, portalId);
  if (!portal) throw new Error(`runScoring: portal ${portalId} not found`);
  const settings = opts.settings ?? scoringSettingsOf(portal);
  const asOfDay = asOf instanceof Date ? portalToday(portal.timeZone, asOf) : asOf ?? portalToday(portal.timeZone);
  const now = opts.now ?? new Date();
  const b2b = opts.b2b ?? b2bOf(portal);
  const fullReason = opts.fullReason;
  // what the next incremental cycle starts from (./incremental.ts)
  const marks = await fullRunMarks(db, portalId, portal.settings, now);

  const customers = await loadScoringInput(db, portalId, opts.batchSize);
  const sections = (await getSections(db, portalId)).map((s) => ({ id: s.id, parentId: s.parentId && s.parentId > 0 ? s.parentId : null, name: s.name ?? '' }));
  const t1 = performance.now();
  // the predictions' track record on the portal's own history (pipeline/backtest.ts), with the settings
  // scorePortal parses; first, so that its run's columns are gone before this run's exist
  const backtest = portalBacktest(customers, asOfDay, scoringSettingsSchema.parse(settings));
  const run = scorePortalView({ asOf: asOfDay, customers, sections }, settings);

  const prev = await latestScoreRun(db, portalId);
  const reanchorShare = opts.reanchorShare ?? 0.1;
  const { mode, drift } = pinThresholds(run, prev?.thresholds as Partial<Th> | undefined, settings, reanchorShare);
  const k: KindContext = { asOfDay, settings, sections, reanchorShare, stamp: now.toISOString() };
  // the data-quality checks and what each problem moves (./data-quality.ts), on this run's input
  const dataQuality = await dataQualityOf(db, portalId, 'contact', customers, run, dqContext(k));
  customers.clear();
  const companies = b2b ? await scoreCompanies(db, portalId, k, prev, opts.batchSize) : null;
  const t2 = performance.now();

  const prevLabels = prev ? await previousLabels(db, portalId, prev.id) : new Map<number, PrevLabel>();
  const { labels, count, changes, buyers } = labelsWithHistory(run, prevLabels, asOfDay, k.stamp);
  const counts = {
    contacts: count, buyers, segmentChanges: changes, segments: run.segmentSizes, lifecycles: run.lifecycleSizes,
    thresholdMode: mode, drift, warnings: run.warnings, dataQuality, ...(companies ? { companies: companies.counts } : {}), ...marks,
  };
  const sets: KindLabels[] = [{ kind: 'contact', count, labels }, ...(companies ? [{ kind: 'company' as const, count: companies.count, labels: companies.labels }] : [])];
  const runId = await storeRun(db, portalId, asOfDay, run, sets, counts, backtest);
  const t3 = performance.now();
  return {
    runId, asOf: asOfDay, contacts: count, buyers, segmentChanges: changes, thresholds: mode, drift,
    warnings: run.warnings, companies: companies?.result ?? null, mode: 'full', ...(fullReason ? { fullReason } : {}),
    ms: { load: Math.round(t1 - t0), score: Math.round(t2 - t1), store: Math.round(t3 - t2) },
  };
}
