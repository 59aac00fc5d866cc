/** A campaign as stored, and the campaigns of a portal (of one responsible's customers, for a non-admin). */
import type { Db } from '../store/index.js';
import type { AutomationAction } from '../automation/send.js';
import { CUSTOMER_TABLE } from './deals-sql.js';
import type { CampaignEntity } from './schema.js';

export interface CampaignStepRow {
  idx: number;
  kind: string;
  dueAt: string;
  ranAt: string | null;
  action: AutomationAction | null;
}

export interface CampaignRow {
  id: number;
  name: string;
  entity: CampaignEntity;
  savedSegmentId: string;
  savedSegmentName: string;
  action: AutomationAction;
  holdoutShare: number;
  windowDays: number;
  costFixed: number;
  costPerMessage: number;
  startAt: string;
  createdAt: string;
  seed: string;
  steps: CampaignStepRow[];
}

const COLS = `c.id, c.name, c.entity, c.saved_segment_id AS "savedSegmentId", c.saved_segment_name AS "savedSegmentName", c.action,
  c.holdout_share AS "holdoutShare", c.window_days AS "windowDays", c.cost_fixed AS "costFixed", c.cost_per_message AS "costPerMessage",
  c.start_at AS "startAt", c.created_at AS "createdAt", c.seed`;

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

function shape(r: Record<string, unknown>, steps: CampaignStepRow[]): CampaignRow {
  return {
    ...(r as unknown as CampaignRow), id: Number(r.id), holdoutShare: Number(r.holdoutShare), windowDays: Number(r.windowDays),
    costFixed: Number(r.costFixed), costPerMessage: Number(r.costPerMessage), startAt: iso(r.startAt), createdAt: iso(r.createdAt), steps,
  };
}

export async function readCampaign(db: Db, portalId: number, campaignId: number): Promise<CampaignRow | null> {
  const { rows } = await db.query<Record<string, unknown>>(`SELECT ${COLS} FROM campaigns c WHERE c.portal_id = $1 AND c.id = $2`, [portalId, campaignId]);
  if (!rows[0]) return null;
  const { rows: steps } = await db.query<{ idx: number; kind: string; dueAt: Date; ranAt: Date | null; action: AutomationAction | null }>(
    `SELECT idx, kind, due_at AS "dueAt", ran_at AS "ranAt", action FROM campaign_steps WHERE portal_id = $1 AND campaign_id = $2 ORDER BY idx`,
    [portalId, campaignId],
  );
  return shape(rows[0], steps.map((s) => ({ ...s, dueAt: iso(s.dueAt), ranAt: s.ranAt ? iso(s.ranAt) : null })));
}

export interface CampaignListItem {
  id: number;
  name: string;
  entity: CampaignEntity;
  savedSegmentName: string;
  startAt: string;
  windowDays: number;
  treatment: number;
  holdout: number;
}

/** The portal's campaigns, newest first (at most `limit`); with `onlyResponsible`, those with a member that user is responsible for, counting only them. */
export async function listCampaigns(db: Db, portalId: number, o: { onlyResponsible?: number | null; limit?: number } = {}): Promise<CampaignListItem[]> {
  const only = o.onlyResponsible ?? null;
  const own = (e: CampaignEntity) => `EXISTS (SELECT 1 FROM ${CUSTOMER_TABLE[e].table} k WHERE k.portal_id = m.portal_id AND k.id = m.customer_id AND k.assigned_by_id = $3)`;
  const { rows } = await db.query<CampaignListItem & { startAt: Date }>(
    `SELECT c.id, c.name, c.entity, c.saved_segment_name AS "savedSegmentName", c.start_at AS "startAt", c.window_days AS "windowDays",
            count(*) FILTER (WHERE m.grp = 'treatment')::int AS treatment, count(*) FILTER (WHERE m.grp = 'holdout')::int AS holdout
       FROM campaigns c JOIN campaign_members m ON m.portal_id = c.portal_id AND m.campaign_id = c.id
      WHERE c.portal_id = $1 AND ($3::bigint IS NULL OR CASE c.entity WHEN 'contact' THEN ${own('contact')} ELSE ${own('company')} END)
      GROUP BY c.portal_id, c.id ORDER BY c.id DESC LIMIT $2`,
    [portalId, o.limit ?? 200, only],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), startAt: iso(r.startAt) }));
}
