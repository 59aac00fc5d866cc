/**
 * The CRM event inbox (004 `crm_event_inbox`): events reduced to "object X of portal P needs
 * a look", coalesced per object. 10,000 updates of one deal are one row; an update after a
 * delete (or the reverse) keeps the latest action. Online handlers and the offline poller both
 * write here; the event job reads a page, processes it, and deletes exactly the rows it saw
 * (a row touched again while the job ran has a higher `touches` count and stays for the next pass).
 */
import type { Db } from '../store/db.js';

export type InboxEntity = 'deal' | 'contact';
export type InboxAction = 'upsert' | 'delete';

export interface InboxItem {
  entity: InboxEntity;
  id: number;
  action: InboxAction;
}

export interface InboxRow extends InboxItem {
  receivedAt: Date;
  touches: number;
}

const EVENT_RE = /^ONCRM(DEAL|CONTACT)(ADD|UPDATE|DELETE)$/;

/** ONCRMDEALUPDATE → {entity:'deal', action:'upsert'}; null for events we do not process. */
export function parseCrmEvent(event: string): { entity: InboxEntity; action: InboxAction } | null {
  const m = EVENT_RE.exec(event.toUpperCase());
  if (!m) return null;
  return { entity: m[1] === 'DEAL' ? 'deal' : 'contact', action: m[2] === 'DELETE' ? 'delete' : 'upsert' };
}

/**
 * Adds (coalesces) items; one statement for the whole list. Every statement that writes a portal's
 * rows takes their locks in the order (entity, entity_id): two processes' sinks, the offline poller
 * and the event job's ack write the same rows at once, and two multi-row statements that lock in
 * different orders deadlock (test/integration/events-inbox.test.ts).
 */
export async function addToInbox(db: Db, portalId: number, items: readonly InboxItem[], source: 'online' | 'offline' | 'manual' = 'online'): Promise<void> {
  if (!items.length) return;
  // last action per object within the call wins
  const byKey = new Map<string, InboxItem>();
  for (const it of items) byKey.set(`${it.entity}:${it.id}`, it);
  const list = [...byKey.values()];
  await db.query(
    `INSERT INTO crm_event_inbox (portal_id, entity, entity_id, action, source, received_at, touches)
     SELECT $1, x.entity, x.id, x.action, $3, clock_timestamp(), 1
       FROM jsonb_to_recordset($2::jsonb) AS x(entity text, id bigint, action text)
      ORDER BY x.entity, x.id
     ON CONFLICT (portal_id, entity, entity_id) DO UPDATE
       SET action = EXCLUDED.action, source = EXCLUDED.source, received_at = EXCLUDED.received_at,
           touches = crm_event_inbox.touches + 1`,
    [portalId, JSON.stringify(list), source],
  );
}

/** The oldest `limit` rows of a portal. */
export async function readInbox(db: Db, portalId: number, limit = 5000): Promise<InboxRow[]> {
  const { rows } = await db.query<{ entity: InboxEntity; id: number; action: InboxAction; receivedAt: Date; touches: number }>(
    `SELECT entity, entity_id AS id, action, received_at AS "receivedAt", touches
       FROM crm_event_inbox WHERE portal_id = $1 ORDER BY received_at, entity, entity_id LIMIT $2`,
    [portalId, limit],
  );
  return rows;
}

/**
 * Deletes the processed rows unless they were touched again after being read. The rows are locked
 * first, in addToInbox's order; a row touched while waiting for its lock is re-checked with its
 * new `touches` and stays.
 */
export async function ackInbox(db: Db, portalId: number, rows: readonly InboxRow[]): Promise<number> {
  if (!rows.length) return 0;
  const r = await db.query(
    `DELETE FROM crm_event_inbox d USING (
       SELECT i.ctid AS tid FROM crm_event_inbox i
         JOIN jsonb_to_recordset($2::jsonb) AS x(entity text, id bigint, touches int)
           ON i.entity = x.entity AND i.entity_id = x.id AND i.touches = x.touches
        WHERE i.portal_id = $1
        ORDER BY i.entity, i.entity_id
          FOR UPDATE OF i) s
      WHERE d.ctid = s.tid`,
    [portalId, JSON.stringify(rows.map((r) => ({ entity: r.entity, id: r.id, touches: r.touches })))],
  );
  return r.rowCount;
}

export async function inboxSize(db: Db, portalId?: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM crm_event_inbox WHERE ($1::int IS NULL OR portal_id = $1)`,
    [portalId ?? null],
  );
  return rows[0]?.n ?? 0;
}

/** Portals with something in the inbox (the poller schedules their event job). */
export async function portalsWithInbox(db: Db): Promise<number[]> {
  const { rows } = await db.query<{ p: number }>(`SELECT DISTINCT portal_id AS p FROM crm_event_inbox`);
  return rows.map((r) => r.p);
}

/**
 * Drops inbox rows received more than `days` ago, `batch` rows per statement (housekeeping,
 * src/jobs/housekeeping.ts). Processed rows are deleted by the event job itself; what is this old
 * belongs to a portal whose jobs do not run (needs_reauth, uninstalled) or kept failing, and the
 * nightly reconciliation (or the full sync after a reinstall) has re-read those objects since.
 */
export async function dropStaleInbox(db: Db, days: number, o: { batch?: number; until?: number } = {}): Promise<number> {
  const batch = Math.max(1, Math.floor(o.batch ?? 5000));
  let n = 0;
  for (;;) {
    if (o.until !== undefined && Date.now() > o.until) return n;
    const r = await db.query(
      `DELETE FROM crm_event_inbox WHERE (portal_id, entity, entity_id) IN
         (SELECT portal_id, entity, entity_id FROM crm_event_inbox WHERE received_at < now() - make_interval(days => $1)
           LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [Math.max(1, Math.floor(days)), batch],
    );
    n += r.rowCount;
    if (r.rowCount < batch) return n;
  }
}
