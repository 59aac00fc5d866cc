/**
 * measureCampaign: treatment vs holdout of one campaign, from the store (deals as the latest sync
 * left them), over its measurement window [start day, start day + windowDays) up to today; per
 * step over the members who had not converted when it ran (figures.ts). Revenue is the won deals'
 * amounts in the base currency; margin by the one rule (store/deal-margin.ts) with the portal's
 * margin % (settings.effectiveness.marginPercent). cost = fixed cost + cost per message × messages
 * (sends 'done', and 'unknown' ones: they may have gone out); ROI = (incremental margin − cost) / cost.
 *
 * `onlyResponsible`: a non-admin sees the figures of their own customers only (the members whose
 * responsible is that user now).
 */
import { readSection } from '../settings/index.js';
import { dealCostSql, dealMarginSql, getPortal, type Db } from '../store/index.js';
import { CampaignError } from './errors.js';
import { compareGroups, type Comparison, type MemberDeal, type MemberOutcome } from './figures.js';
import { CUSTOMER_TABLE, dayOf, memberWonDeals } from './deals-sql.js';
import { campaignCode, type CampaignGroup } from './group.js';
import { roiOf } from './lift.js';
import { readCampaign, type CampaignRow } from './read.js';

export interface StepMeasure extends Comparison {
  step: number;
  kind: string;
  dueAt: string;
  ranAt: string | null;
  /** sends by status (done, failed, unknown, skipped, dropped, pending, sending) */
  sends: Record<string, number>;
}

export interface CampaignMeasure extends Comparison {
  /** the campaign as stored (without its seed) and its code in the CRM field */
  campaign: Omit<CampaignRow, 'seed'> & { code: string };
  /** members of each group (the figures' `members`) */
  treated: number;
  holdout: number;
  windowStart: string;
  windowEnd: string;
  /** the window has passed: the figures are final */
  complete: boolean;
  marginPercent: number;
  messages: number;
  cost: number;
  roi: number | null;
  steps: StepMeasure[];
}

const DAY_MS = 86_400_000;
const withoutSeed = ({ seed: _seed, ...rest }: CampaignRow): Omit<CampaignRow, 'seed'> => rest;
const utcDay = (d: Date) => d.toISOString().slice(0, 10);
const addDays = (day: string, n: number) => utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS));

/** The members (of `onlyResponsible`, when given) with their won deals in [from, to). */
async function memberOutcomes(db: Db, portalId: number, c: CampaignRow, from: string, to: string, marginPercent: number, onlyResponsible: number | null) {
  const t = CUSTOMER_TABLE[c.entity];
  const own = onlyResponsible === null ? '' : `AND EXISTS (SELECT 1 FROM ${t.table} c WHERE c.portal_id = m.portal_id AND c.id = m.customer_id AND c.assigned_by_id = $6)`;
  const params = [portalId, c.id, from, to, marginPercent, ...(onlyResponsible === null ? [] : [onlyResponsible])];
  const { rows: members } = await db.query<{ id: number; grp: CampaignGroup }>(
    `SELECT m.customer_id AS id, m.grp FROM campaign_members m WHERE m.portal_id = $1 AND m.campaign_id = $2 AND $3::date IS NOT NULL AND $4::date IS NOT NULL AND $5::float8 IS NOT NULL ${own} ORDER BY 1`,
    params,
  );
  const { rows: deals } = await db.query<{ member: number; day: string; amount: number; margin: number }>(
    `WITH w AS MATERIALIZED (
       SELECT DISTINCT m.customer_id AS member, d.id AS deal, ${dayOf('d')}::text AS day, COALESCE(d.opportunity_base, d.opportunity, 0)::float8 AS amount
         FROM campaign_members m CROSS JOIN LATERAL (SELECT d.* FROM ${memberWonDeals(c.entity)} AND ${dayOf('d')} >= $3::date AND ${dayOf('d')} < $4::date) d
        WHERE m.portal_id = $1 AND m.campaign_id = $2 ${own}),
     cost AS (${dealCostSql('SELECT deal FROM w')})
     SELECT w.member, w.day, w.amount, (${dealMarginSql('w.amount', 'cost', '$5')})::float8 AS margin
       FROM w LEFT JOIN cost ON cost.deal = w.deal ORDER BY w.member, w.day`,
    params,
  );
  const byMember = new Map<number, MemberDeal[]>();
  for (const d of deals) {
    const k = Number(d.member);
    const list = byMember.get(k) ?? [];
    list.push({ day: String(d.day).slice(0, 10), amount: Number(d.amount), margin: Number(d.margin) });
    byMember.set(k, list);
  }
  return members.map((m): MemberOutcome => ({ id: Number(m.id), grp: m.grp, deals: byMember.get(Number(m.id)) ?? [] }));
}

/** Sends per step and status (of `onlyResponsible`'s customers, when given). */
async function sendCounts(db: Db, portalId: number, c: CampaignRow, onlyResponsible: number | null) {
  const t = CUSTOMER_TABLE[c.entity];
  const own = onlyResponsible === null ? '' : `AND EXISTS (SELECT 1 FROM ${t.table} c WHERE c.portal_id = s.portal_id AND c.id = s.customer_id AND c.assigned_by_id = $3)`;
  const { rows } = await db.query<{ step: number; status: string; n: number }>(
    `SELECT s.step_idx AS step, s.status, count(*)::int AS n FROM campaign_sends s WHERE s.portal_id = $1 AND s.campaign_id = $2 ${own} GROUP BY 1, 2`,
    [portalId, c.id, ...(onlyResponsible === null ? [] : [onlyResponsible])],
  );
  const out = new Map<number, Record<string, number>>();
  for (const r of rows) out.set(r.step, { ...(out.get(r.step) ?? {}), [r.status]: r.n });
  return out;
}

export async function measureCampaign(db: Db, portalId: number, campaignId: number, now: Date, o: { onlyResponsible?: number | null } = {}): Promise<CampaignMeasure> {
  const c = await readCampaign(db, portalId, campaignId);
  if (!c) throw new CampaignError(404, 'CAMPAIGN_NOT_FOUND', 'no such campaign');
  const portal = await getPortal(db, portalId);
  const marginPercent = readSection(portal?.settings, 'effectiveness').value.marginPercent;
  const windowStart = utcDay(new Date(c.startAt));
  const windowEnd = addDays(windowStart, c.windowDays);
  const to = utcDay(now) < windowEnd ? addDays(utcDay(now), 1) : windowEnd;
  const only = o.onlyResponsible ?? null;
  const members = await memberOutcomes(db, portalId, c, windowStart, to, marginPercent, only);
  const sends = await sendCounts(db, portalId, c, only);
  const reachedOf = (s: Record<string, number> | undefined) => ({ treatment: s?.done ?? 0, holdout: 0 });
  const allSends: Record<string, number> = {};
  for (const s of sends.values()) for (const [k, v] of Object.entries(s)) allSends[k] = (allSends[k] ?? 0) + v;
  const whole = compareGroups(members, { from: windowStart, to, reached: { treatment: allSends.done ?? 0 } });
  const steps = c.steps.map((s): StepMeasure => {
    const base = { step: s.idx, kind: s.kind, dueAt: s.dueAt, ranAt: s.ranAt, sends: sends.get(s.idx) ?? {} };
    const after = s.ranAt ? utcDay(new Date(s.ranAt)) : null;
    const cmp = after && after < to
      ? compareGroups(members, { from: windowStart, to, after, reached: reachedOf(sends.get(s.idx)) })
      : compareGroups([], { from: windowStart, to });
    return { ...base, ...cmp };
  });
  const messages = (allSends.done ?? 0) + (allSends.unknown ?? 0);
  const cost = c.costFixed + c.costPerMessage * messages;
  return {
    ...whole, campaign: { ...withoutSeed(c), code: campaignCode(c.id) }, treated: whole.groups.treatment.members, holdout: whole.groups.holdout.members,
    windowStart, windowEnd, complete: utcDay(now) >= windowEnd, marginPercent, messages, cost,
    roi: whole.incrementalMargin === null ? null : roiOf(whole.incrementalMargin, cost), steps,
  };
}
