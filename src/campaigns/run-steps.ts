/**
 * runDueSteps: what a campaign does on the portal, called after each scoring run (the job
 * pipeline) and from the UI API ("run due steps now").
 *
 *  1. The members' group is written into UF_CRM_SEG_CAMPAIGN_GROUP (write-group.ts), before any
 *     step, so a native mailing can target the treatment group from the first day.
 *  2. Each step whose date has come and that has not run yet is planned ONCE (its `ran_at` is
 *     claimed in the same transaction): every treatment member gets a send row, 'pending', or
 *     'dropped' when the member converted since the campaign started (a won deal with a day from
 *     the start day to today, from the store as the latest sync left it). The holdout gets nothing.
 *  3. Pending sends go out with the automation engine's at-most-once protocol and its sender
 *     (src/automation/send.ts): claimed ('sending', committed) before the call, then 'done',
 *     'failed' or 'unknown' (never re-sent); a customer deleted since is 'skipped'. A 'sending'
 *     row left by a dead process becomes 'unknown'. `maxSends` bounds the calls of one invocation.
 */
import type { B24Client } from '../b24/client.js';
import { actionCall, probeConnection, sendOnce, type AutomationAction, type SendOutcome } from '../automation/send.js';
import type { Db } from '../store/index.js';
import { CUSTOMER_TABLE, dayOf, memberWonDeals } from './deals-sql.js';
import type { CampaignEntity } from './schema.js';
import { writeGroupFields, type GroupFieldResult } from './write-group.js';

export interface PlannedStep {
  campaignId: number;
  step: number;
  kind: string;
  targeted: number;
  dropped: number;
}

export interface RunStepsResult {
  fields: GroupFieldResult;
  planned: PlannedStep[];
  done: number;
  failed: number;
  unknown: number;
  skipped: number;
  recovered: number;
  /** sends still pending (maxSends reached) */
  pending: number;
  errors: string[];
}

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/** Plans every due step of the portal (see the module comment). */
export async function planDueSteps(db: Db, portalId: number, now: Date): Promise<PlannedStep[]> {
  const { rows: due } = await db.query<{ campaignId: number; idx: number; kind: string; entity: CampaignEntity; startAt: Date }>(
    `SELECT s.campaign_id AS "campaignId", s.idx, s.kind, c.entity, c.start_at AS "startAt"
       FROM campaign_steps s JOIN campaigns c ON c.portal_id = s.portal_id AND c.id = s.campaign_id
      WHERE s.portal_id = $1 AND s.ran_at IS NULL AND s.due_at <= $2 ORDER BY s.due_at, s.campaign_id, s.idx`,
    [portalId, now],
  );
  const out: PlannedStep[] = [];
  for (const s of due) {
    const planned = await db.transaction(async (tx) => {
      const claim = await tx.query(`UPDATE campaign_steps SET ran_at = $4 WHERE portal_id = $1 AND campaign_id = $2 AND idx = $3 AND ran_at IS NULL`, [portalId, s.campaignId, s.idx, now]);
      if (claim.rowCount !== 1) return null;
      const { rows } = await tx.query<{ status: string; n: number }>(
        `WITH ins AS (
           INSERT INTO campaign_sends (portal_id, campaign_id, step_idx, customer_id, status)
           SELECT m.portal_id, m.campaign_id, $3, m.customer_id,
                  CASE WHEN EXISTS (SELECT 1 FROM ${memberWonDeals(s.entity)} AND ${dayOf('d')} >= $4::date AND ${dayOf('d')} <= $5::date)
                       THEN 'dropped' ELSE 'pending' END
             FROM campaign_members m WHERE m.portal_id = $1 AND m.campaign_id = $2 AND m.grp = 'treatment'
           ON CONFLICT DO NOTHING RETURNING status)
         SELECT status, count(*)::int AS n FROM ins GROUP BY status`,
        [portalId, s.campaignId, s.idx, utcDay(new Date(s.startAt)), utcDay(now)],
      );
      const n = (st: string) => rows.find((r) => r.status === st)?.n ?? 0;
      return { campaignId: Number(s.campaignId), step: s.idx, kind: s.kind, targeted: n('pending'), dropped: n('dropped') };
    });
    if (planned) out.push(planned);
  }
  return out;
}

interface Claimed {
  id: number;
  campaignId: number;
  stepIdx: number;
  customerId: number;
}

interface SendContext {
  entity: CampaignEntity;
  name: string;
  kind: string;
  action: AutomationAction;
}

/** The campaign, step and customer facts of claimed sends. */
async function sendContexts(db: Db, portalId: number, rows: readonly Claimed[]) {
  const { rows: steps } = await db.query<SendContext & { campaignId: number; idx: number }>(
    `SELECT s.campaign_id AS "campaignId", s.idx, c.entity, c.name, s.kind, COALESCE(s.action, c.action) AS action
       FROM campaign_steps s JOIN campaigns c ON c.portal_id = s.portal_id AND c.id = s.campaign_id
      WHERE s.portal_id = $1 AND s.campaign_id = ANY($2::bigint[])`,
    [portalId, [...new Set(rows.map((r) => r.campaignId))]],
  );
  const stepOf = new Map(steps.map((s) => [`${s.campaignId}:${s.idx}`, s]));
  const customers = new Map<string, { name: string; assignedById: number | null }>();
  for (const entity of ['contact', 'company'] as const) {
    const ids = rows.filter((r) => stepOf.get(`${r.campaignId}:${r.stepIdx}`)?.entity === entity).map((r) => r.customerId);
    if (!ids.length) continue;
    const t = CUSTOMER_TABLE[entity];
    const { rows: cs } = await db.query<{ id: number; name: string; assignedById: number | null }>(
      `SELECT c.id, ${t.name} AS name, c.assigned_by_id AS "assignedById" FROM ${t.table} c WHERE c.portal_id = $1 AND c.id = ANY($2::bigint[])`,
      [portalId, ids],
    );
    for (const c of cs) customers.set(`${entity}:${c.id}`, { name: c.name, assignedById: c.assignedById === null ? null : Number(c.assignedById) });
  }
  return { stepOf, customers };
}

/** Sends pending rows, at most `max` calls (module comment, 3). */
async function sendPending(db: Db, client: B24Client, portalId: number, now: Date, max: number, res: RunStepsResult): Promise<void> {
  let calls = 0;
  let probed = false;
  while (calls < max) {
    const { rows } = await db.query<Claimed>(
      `UPDATE campaign_sends SET status = 'sending', updated_at = now()
        WHERE portal_id = $1 AND id IN (SELECT id FROM campaign_sends WHERE portal_id = $1 AND status = 'pending' ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING id, campaign_id AS "campaignId", step_idx AS "stepIdx", customer_id AS "customerId"`,
      [portalId, Math.min(50, max - calls)],
    );
    if (!rows.length) break;
    if (!probed) probed = await probeConnection(client);
    const { stepOf, customers } = await sendContexts(db, portalId, rows);
    const finish = (id: number, status: string, result: string | null, error: string | null) =>
      db.query(`UPDATE campaign_sends SET status = $3, result = $4, error = $5, updated_at = now() WHERE portal_id = $1 AND id = $2`, [portalId, id, status, result, error]);
    for (const f of rows) {
      const st = stepOf.get(`${f.campaignId}:${f.stepIdx}`)!;
      const who = customers.get(`${st.entity}:${f.customerId}`);
      if (!who) {
        await finish(f.id, 'skipped', null, 'customer no longer exists');
        res.skipped++;
        continue;
      }
      const vars = { name: who.name, contactId: Number(f.customerId), customerId: Number(f.customerId), campaign: st.name, step: st.kind };
      const [method, params] = actionCall(st.action, { kind: st.entity, id: Number(f.customerId), ...who }, vars, now.getTime());
      calls++;
      let out: SendOutcome;
      try {
        out = await sendOnce(client, method, params);
      } catch (e) {
        // the call did not go out (token death etc.): give the claimed rows back and stop
        await db.query(`UPDATE campaign_sends SET status = 'pending', updated_at = now() WHERE portal_id = $1 AND status = 'sending' AND id = ANY($2::bigint[])`, [portalId, rows.map((r) => r.id)]);
        throw e;
      }
      await finish(f.id, out.status, out.status === 'done' ? out.result : null, out.status === 'done' ? null : out.error);
      res[out.status]++;
      if (out.status === 'failed' && res.errors.length < 20) res.errors.push(`campaign ${f.campaignId} step ${f.stepIdx + 1} → ${st.entity} ${f.customerId}: ${out.error}`);
    }
  }
}

export async function runDueSteps(db: Db, client: B24Client, portalId: number, now: Date, o: { maxSends?: number; maxFields?: number; staleSendingSec?: number } = {}): Promise<RunStepsResult> {
  const res: RunStepsResult = {
    fields: { written: 0, failed: 0, errors: [] }, planned: [], done: 0, failed: 0, unknown: 0, skipped: 0, recovered: 0, pending: 0, errors: [],
  };
  const rec = await db.query(
    `UPDATE campaign_sends SET status = 'unknown', error = 'process stopped between claim and answer', updated_at = now()
      WHERE portal_id = $1 AND status = 'sending' AND updated_at < now() - make_interval(secs => $2)`,
    [portalId, o.staleSendingSec ?? 600],
  );
  res.recovered = rec.rowCount;
  res.fields = await writeGroupFields(db, client, portalId, o.maxFields);
  res.planned = await planDueSteps(db, portalId, now);
  await sendPending(db, client, portalId, now, o.maxSends ?? Number.POSITIVE_INFINITY, res);
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM campaign_sends WHERE portal_id = $1 AND status = 'pending'`, [portalId]);
  res.pending = rows[0]?.n ?? 0;
  return res;
}
