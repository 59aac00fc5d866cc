/**
 * createCampaign: validates the request (schema.ts), freezes the saved segment's members, puts
 * each in treatment or holdout (group.ts) and stores the campaign, its steps and members in one
 * transaction. A request with a `requestKey` the portal used before returns that campaign
 * (created: false) instead of making a second one.
 */
import type { Db } from '../store/index.js';
import { CampaignError } from './errors.js';
import { groupOf, newSeed } from './group.js';
import { savedSegmentMembers } from './members.js';
import { campaignInputSchema, MAX_ANNOUNCE_DAYS, type CampaignSpec } from './schema.js';

const DAY_MS = 86_400_000;

export interface CreatedCampaign {
  id: number;
  created: boolean;
  members: number;
  treatment: number;
  holdout: number;
}

/** The steps, dated; none → one 'start' step at the start. Refuses dates outside [start − 30 days, start + window]. */
function datedSteps(spec: CampaignSpec, start: Date) {
  const steps = spec.steps.length ? spec.steps : [{ kind: 'start' as const, at: start.toISOString(), action: undefined }];
  const lo = start.getTime() - MAX_ANNOUNCE_DAYS * DAY_MS;
  const hi = start.getTime() + spec.windowDays * DAY_MS;
  return steps.map((s, idx) => {
    const at = new Date(s.at);
    if (at.getTime() < lo || at.getTime() > hi) {
      throw new CampaignError(400, 'STEP_OUT_OF_RANGE', `step ${idx + 1} (${s.kind}) must be dated between ${MAX_ANNOUNCE_DAYS} days before the start and the end of the measurement window`);
    }
    return { idx, kind: s.kind, at, action: s.action ?? null };
  });
}

async function existing(db: Db, portalId: number, key: string | undefined): Promise<CreatedCampaign | null> {
  if (!key) return null;
  const { rows } = await db.query<{ id: number; t: number; h: number }>(
    `SELECT c.id, count(*) FILTER (WHERE m.grp = 'treatment')::int AS t, count(*) FILTER (WHERE m.grp = 'holdout')::int AS h
       FROM campaigns c LEFT JOIN campaign_members m ON m.portal_id = c.portal_id AND m.campaign_id = c.id
      WHERE c.portal_id = $1 AND c.request_key = $2 GROUP BY c.id`,
    [portalId, key],
  );
  const r = rows[0];
  return r ? { id: Number(r.id), created: false, members: r.t + r.h, treatment: r.t, holdout: r.h } : null;
}

/**
 * `o.seed`: the group draw's seed (default a new random one, as every request gets); benches and
 * tests pass one so a whole campaign loop is reproducible. Never taken from a request.
 */
export async function createCampaign(db: Db, portalId: number, input: unknown, now: Date, createdBy: number | null = null, o: { seed?: string } = {}): Promise<CreatedCampaign> {
  const p = campaignInputSchema.safeParse(input);
  if (!p.success) throw new CampaignError(400, 'BAD_REQUEST', p.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
  const spec = p.data;
  const again = await existing(db, portalId, spec.requestKey);
  if (again) return again;
  const start = spec.startAt ? new Date(spec.startAt) : now;
  const steps = datedSteps(spec, start);
  const seg = await savedSegmentMembers(db, portalId, spec.savedSegmentId, spec.entity);
  const seed = o.seed ?? newSeed();
  const groups = seg.ids.map((id) => groupOf(seed, spec.entity, id, spec.holdoutShare));
  const id = await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO campaigns (portal_id, name, entity, saved_segment_id, saved_segment_name, run_id, action, holdout_share, seed, window_days,
                              cost_fixed, cost_per_message, start_at, created_by, request_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (portal_id, request_key) DO NOTHING RETURNING id`,
      [portalId, spec.name, spec.entity, spec.savedSegmentId, seg.segmentName, seg.runId, JSON.stringify(spec.action), spec.holdoutShare, seed,
        spec.windowDays, spec.costFixed, spec.costPerMessage, start, createdBy, spec.requestKey ?? null],
    );
    const cid = rows[0] ? Number(rows[0].id) : null;
    if (cid === null) return null;
    await tx.query(
      `INSERT INTO campaign_steps (portal_id, campaign_id, idx, kind, due_at, action)
       SELECT $1, $2, x.i, x.k, x.at::timestamptz, x.a FROM jsonb_to_recordset($3::jsonb) AS x(i int, k text, at text, a jsonb)`,
      [portalId, cid, JSON.stringify(steps.map((s) => ({ i: s.idx, k: s.kind, at: s.at.toISOString(), a: s.action })))],
    );
    await tx.query(
      `INSERT INTO campaign_members (portal_id, campaign_id, customer_id, grp) SELECT $1, $2, u.id, u.g FROM unnest($3::bigint[], $4::text[]) AS u(id, g)`,
      [portalId, cid, seg.ids, groups],
    );
    return cid;
  });
  // a concurrent create with the same key won the race: answer its campaign
  if (id === null) return (await existing(db, portalId, spec.requestKey))!;
  const holdout = groups.filter((g) => g === 'holdout').length;
  return { id, created: true, members: seg.ids.length, treatment: seg.ids.length - holdout, holdout };
}
