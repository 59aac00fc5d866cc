/**
 * Rescoring a subset of contacts (the event path), in place in the latest score run.
 *
 * Why not just score the subset: RFM levels in quantile mode depend on the whole portal's
 * distribution, and the BG/NBD / Gamma-Gamma fits (P(alive), CLV) are fitted on all buyers.
 * Scoring 30 contacts alone would give them quantiles of 30 people and models fitted on 30
 * people. So the subset is scored with the LATEST RUN's portal-wide parts kept:
 *  - thresholds: the latest run's R/F/M bounds (applyThresholds from the pipeline), which is
 *    also what the full run does between re-anchorings ("pinned" thresholds);
 *  - models: the latest run's fitted parameters (score_runs.fits), applied to the contact's
 *    own (x, t_x, T) and spend, with the same formulas as scorePortal's CustomerLabeler
 *    (src/scoring/labels.ts);
 *  - settings: the latest run's settings (a settings change needs a full run anyway);
 *  - per-contact parts (sleeping, lifecycle, interests, R/F/M values) are computed fresh;
 *  - as-of: today in the portal's time zone, never earlier than the run's own as-of.
 * Known approximation: when the run had no usable BG/NBD fit, the rule-based expected
 * purchases shrink toward the SUBSET's repeat rate instead of the portal's; the nightly full
 * run replaces every label anyway (it is the reconciliation).
 *
 * The labels are upserted into the latest run (not a new run: a new run per debounce window
 * would copy every label of the portal each minute). prev_segment / changed_at history is kept
 * exactly like the full run does. Contacts gone from the store lose their label row.
 *
 * Companies (B2B, `kind: 'company'`): the same over company_labels, with the companies' own
 * thresholds and fits of the run (score_runs.counts.companies); nothing when the run labelled no
 * companies (B2B was off).
 */
import type { Db } from '../store/db.js';
import { getSections, getPortal, insertLabels, KIND_TABLES, latestScoreRun, type ContactLabelInput, type CustomerKind, type ScoreRun } from '../store/index.js';
import { applyThresholds, labelOf, loadScoringInputFor, portalToday } from '../pipeline/score.js';
import {
  bgnbdExpectedIfAlive, bgnbdPAlive, gammaGammaExpectedValue, scorePortal, scoringSettingsSchema,
  type BgNbdParams, type CustomerInput, type GammaGammaParams, type ScoringRun, type ScoringSettings,
} from '../scoring/index.js';
import { aggregateCustomers } from '../scoring/columns.js';
import { discountedPurchases, predictedClv } from '../scoring/clv.js';
import { toDay } from '../scoring/dates.js';
import { normalizeReason } from '../scoring/summary.js';
import { bgnbdPmfIfAlive, mixWithDeath } from '../scoring/purchase-distribution.js';
import { customerIntervals, spendPosterior, type SpendModel } from '../scoring/value-distribution.js';
import { ValueQuantiles } from '../scoring/value-quantiles.js';

export interface LabelChange {
  /** the customer's id (a company's for kind 'company') */
  contactId: number;
  before: { segment: string | null; sleeping: boolean } | null;
  after: { segment: string | null; sleeping: boolean } | null;
}

export interface RescoreResult {
  /** the score run updated in place (null: the portal has no run yet; nothing done) */
  runId: number | null;
  asOf: string | null;
  rescored: number;
  removed: number;
  /** contacts whose segment or sleeping flag changed */
  changes: LabelChange[];
}

const day = (d: Date): string => d.toISOString().slice(0, 10);

type Th = NonNullable<ScoringRun['thresholds']>;

function usableThresholds(t: unknown, scale: number): Th | null {
  const o = t as Partial<Th> | null;
  if (!o?.recency || !o.frequency || !o.monetary) return null;
  if (o.recency.levels !== scale || o.frequency.levels !== scale || o.monetary.levels !== scale) return null;
  return o as Th;
}

export interface RescoreOptions {
  /** 'YYYY-MM-DD'; default today in the portal's time zone (never before the run's as-of) */
  asOf?: string;
  now?: Date;
  /** whose labels (default contacts) */
  kind?: CustomerKind;
}

type PrevLabel = { id: number; segment: string | null; sleeping: boolean; extra: Record<string, unknown> };
type Fits = { bgnbd?: { status?: string; params?: BgNbdParams }; gammagamma?: { status?: string; params?: GammaGammaParams } };

/** The run's thresholds and fits for a kind: the run's own for contacts, counts.companies for companies (null: not labelled). */
function runPartsOf(sr: ScoreRun, kind: CustomerKind): { thresholds: unknown; fits: Fits } | null {
  if (kind === 'contact') return { thresholds: sr.thresholds, fits: (sr.fits ?? {}) as Fits };
  const c = (sr.counts as { companies?: { thresholds?: unknown; fits?: Fits } }).companies;
  return c ? { thresholds: c.thresholds, fits: c.fits ?? {} } : null;
}

export async function rescoreContacts(db: Db, portalId: number, contactIds: readonly number[], o: RescoreOptions = {}): Promise<RescoreResult> {
  const kind = o.kind ?? 'contact';
  const t = KIND_TABLES[kind];
  const ids = [...new Set(contactIds.map(Number))].filter((n) => Number.isFinite(n) && n > 0);
  const sr = await latestScoreRun(db, portalId);
  const parts = sr ? runPartsOf(sr, kind) : null;
  if (!sr || !parts || !ids.length) return { runId: sr?.id ?? null, asOf: null, rescored: 0, removed: 0, changes: [] };
  const portal = await getPortal(db, portalId);
  const runDay = day(sr.asOf);
  let asOf = o.asOf ?? portalToday(portal?.timeZone, o.now ?? new Date());
  if (!o.asOf && asOf < runDay) asOf = runDay;
  const settings = scoringSettingsSchema.parse(sr.settings ?? {});

  // previous labels of these contacts
  const { rows: prevRows } = await db.query<PrevLabel>(
    `SELECT ${t.id} AS id, segment, sleeping, extra FROM ${t.labels} WHERE portal_id = $1 AND run_id = $2 AND ${t.id} = ANY($3::bigint[])`,
    [portalId, sr.id, ids],
  );
  const prev = new Map(prevRows.map((r) => [Number(r.id), r]));

  const customers = await loadScoringInputFor(db, portalId, ids, kind);
  const present = new Set(customers.map((c) => Number(c.id)));
  const changes: LabelChange[] = [];
  const removed = await removeLabels(db, portalId, sr.id, ids.filter((id) => !present.has(id)), prev, changes, kind);
  if (!customers.length) return { runId: sr.id, asOf, rescored: 0, removed, changes };

  const sections = (await getSections(db, portalId)).map((s) => ({ id: s.id, parentId: s.parentId && s.parentId > 0 ? s.parentId : null, name: s.name ?? '' }));
  // models off: the subset must not be fitted on its own; the run's fits are applied below
  const run = scorePortal({ asOf, customers, sections }, { ...settings, models: { ...settings.models, enabled: false } });
  const th = usableThresholds(parts.thresholds, run.scale);
  if (th && run.thresholds) applyThresholds(run, th);
  applyRunFits(run, customers, asOf, settings, parts.fits);

  const stamp = (o.now ?? new Date()).toISOString();
  const labels = labelsWithHistory(run, asOf, prev, stamp, changes);
  await insertLabels(db, kind, portalId, sr.id, labels);
  await db.query(
    `UPDATE score_runs SET counts = jsonb_set(counts, '{partialUpdates}', to_jsonb(COALESCE((counts->>'partialUpdates')::int, 0) + $3))
      WHERE portal_id = $1 AND id = $2`,
    [portalId, sr.id, labels.length + removed],
  );
  return { runId: sr.id, asOf, rescored: labels.length, removed, changes };
}

/** Contacts gone from the store lose their label row (a change when they had one). Returns the rows deleted. */
async function removeLabels(
  db: Db, portalId: number, runId: number, missing: readonly number[], prev: ReadonlyMap<number, PrevLabel>, changes: LabelChange[], kind: CustomerKind,
): Promise<number> {
  if (!missing.length) return 0;
  const t = KIND_TABLES[kind];
  const r = await db.query(`DELETE FROM ${t.labels} WHERE portal_id = $1 AND run_id = $2 AND ${t.id} = ANY($3::bigint[])`, [portalId, runId, missing]);
  for (const id of missing) {
    const p = prev.get(id);
    if (p) changes.push({ contactId: id, before: { segment: p.segment, sleeping: p.sleeping }, after: null });
  }
  return r.rowCount;
}

/** The run's model fits on each contact's own numbers (the formulas of scorePortal's labels). */
function applyRunFits(run: ScoringRun, customers: readonly CustomerInput[], asOf: string, settings: ScoringSettings, fits: Fits): void {
  const bg = fits.bgnbd?.status === 'ok' && fits.bgnbd.params ? fits.bgnbd.params : null;
  const gg = fits.gammagamma?.status === 'ok' && fits.gammagamma.params ? fits.gammagamma.params : null;
  if (!bg && !gg) return;
  const asOfDay = toDay(asOf);
  const cols = aggregateCustomers(customers, {
    asOfDay,
    noResponse: new Set(settings.lifecycle.noResponseReasons.map(normalizeReason)),
    freeOrdersArePurchases: settings.rfm.freeOrdersArePurchases,
    frequencyWindowMonths: settings.rfm.frequencyWindowMonths,
    regularWindowMonths: settings.lifecycle.regularWindowMonths,
  });
  const unitDays = settings.models.timeUnit === 'week' ? 7 : 1;
  const { horizonDays, annualDiscountRate, margin } = settings.models;
  const byId = new Map(run.customers.map((c) => [c.id, c]));
  const values = new ValueQuantiles();
  for (let i = 0; i < cols.count; i++) {
    const c = byId.get(cols.ids[i]!);
    const days = cols.purchaseDays[i]!;
    if (!c || days === 0) continue;
    const first = cols.firstDay[i]!;
    let discounted: number | null = null;
    let forecast: { pmf: Float64Array; moneyScale: number } | null = null;
    if (bg) {
      const x = days - 1;
      const T = (asOfDay - first) / unitDays;
      const pAlive = bgnbdPAlive(bg, x, (cols.lastDay[i]! - first) / unitDays, T);
      const dp = discountedPurchases((d) => bgnbdExpectedIfAlive(bg, d / unitDays, x, T), horizonDays, annualDiscountRate);
      c.pAlive = pAlive;
      c.expectedPurchases = dp.expected * pAlive;
      discounted = dp.discounted * pAlive;
      c.valueSource = 'models';
      forecast = { pmf: mixWithDeath(bgnbdPmfIfAlive(bg, horizonDays / unitDays, x, T), pAlive), moneyScale: margin * (dp.expected > 0 ? dp.discounted / dp.expected : 1) };
    }
    let spend: SpendModel = { kind: 'fixed', value: c.expectedValue };
    if (gg) {
      const ev = gammaGammaExpectedValue(gg, days - 1, cols.repeatMean[i]!);
      if (Number.isFinite(ev)) {
        c.expectedValue = ev;
        spend = spendPosterior(gg, days - 1, cols.repeatMean[i]!);
      }
    }
    // the intervals with the run's fits (without a BG/NBD fit: the subset's rule-based ones stay)
    if (forecast) c.intervals = customerIntervals(forecast.pmf, spend, forecast.moneyScale, values);
    if (discounted === null) {
      // rule-based purchases from scorePortal: recover the discounted count from its CLV
      const avg = cols.total[i]! / days;
      discounted = avg > 0 && margin > 0 ? c.predictedClv / (margin * avg) : 0;
    }
    c.predictedClv = predictedClv(margin, c.expectedValue, discounted);
  }
}

/** The label rows, with prev_segment / changed_at kept as the full run keeps them; records the changes. */
function labelsWithHistory(run: ScoringRun, asOf: string, prev: ReadonlyMap<number, PrevLabel>, stamp: string, changes: LabelChange[]): ContactLabelInput[] {
  return run.customers.map((c) => {
    const id = Number(c.id);
    const p = prev.get(id);
    let prevSegment = (p?.extra?.prevSegment as string | null | undefined) ?? null;
    let changedAt = (p?.extra?.changedAt as string | null | undefined) ?? null;
    if (p && p.segment !== c.segment) {
      prevSegment = p.segment;
      changedAt = stamp;
    }
    const sleeping = c.sleeping ?? false;
    if (!p || p.segment !== c.segment || p.sleeping !== sleeping) {
      changes.push({ contactId: id, before: p ? { segment: p.segment, sleeping: p.sleeping } : null, after: { segment: c.segment, sleeping } });
    }
    return labelOf(c, asOf, { prevSegment, changedAt }, { base: p?.extra ?? {}, more: { rescoredAt: stamp, rescoredAsOf: asOf } });
  });
}
