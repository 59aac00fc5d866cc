/**
 * The write-back's planning (write.ts steps 2 and 6), in two steps so that a run never holds
 * every update's values (plan-order.ts):
 *
 *  1. `planOrder`: every labelled customer of the run is read from the store in id order, a page
 *     at a time, and diffed (diff.ts) against what the CRM holds (c.uf) and what we last wrote
 *     (written_values); a changed customer keeps only its id, its place in the write-back order
 *     (priority.ts) and its saved segment.
 *  2. `pendingPage`: right before a page of the order is written, its customers are read again
 *     (by primary key) and diffed again, giving the changed values to send. A customer whose
 *     values no longer differ (a sync or an event came between) is left out; one whose labels
 *     are gone is skipped. Its place in the order is kept from step 1, so a resumed run plans the
 *     same order over what is left.
 */
import type { Db } from '../store/db.js';
import type { ContactLabel } from '../store/scores.js';
import { KIND_TABLES, type CustomerKind } from '../store/customer-kinds.js';
import type { FieldRegistry } from './fields.js';
import { AssignmentCursor, SAVED_FIELD, type SavedSegmentConfig } from './saved-segment.js';
import { tierOf, valueOf, type Tier } from './priority.js';
import { baseValue, crmToSemantic, desiredValues, diffRecord, type SemValues, type Tolerances } from './diff.js';
import { F, manifestFields } from './manifest-fields.js';
import { mergeInterests, ownTags } from './own-interests.js';
import { PlanOrder, type Pending } from './plan-order.js';

interface LabelRow extends ContactLabel {
  uf: Record<string, unknown> | null;
  wv: SemValues | null;
}

/** What a plan diffs: one run's labels of one kind, optionally only some fields. */
export interface PlanScope {
  db: Db;
  portalId: number;
  runId: number;
  kind: CustomerKind;
  reg: FieldRegistry;
  tol: Tolerances;
  saved: SavedSegmentConfig;
  /** labels per store page */
  pageSize: number;
  onlyFields?: ReadonlySet<string>;
}

/**
 * The label columns, the CRM's values (c.uf) and what we last wrote, of a kind's labels l joined
 * to its CRM rows c. written_values is read by a correlated primary-key lookup, not a LEFT JOIN:
 * right after the first write-back fills it, PostgreSQL has no statistics yet, estimated one row
 * per side and joined every label against a scan of the portal's whole written_values (measured:
 * 20,000 contacts, a no-change run took 26–43 s instead of < 1 s until autovacuum analysed it).
 */
const labelSelect = (kind: CustomerKind) => {
  const t = KIND_TABLES[kind];
  const id = `l.${t.id}`;
  return `SELECT ${id} AS "contactId", l.segment, l.rfm, l.r, l.f, l.m, l.recency_days AS "recencyDays", l.frequency,
  l.monetary, l.first_purchase AS "firstPurchase", l.last_purchase AS "lastPurchase", l.lifecycle, l.sleeping, l.p_alive AS "pAlive",
  l.clv, l.next_purchase AS "nextPurchase", l.interests, l.extra, c.uf,
  (SELECT w."values" FROM written_values w WHERE w.portal_id = l.portal_id AND w.entity = '${kind}' AND w.entity_id = ${id}) AS wv
  FROM ${t.labels} l JOIN ${t.crm} c ON c.portal_id = l.portal_id AND c.id = ${id}`;
};

const savedOn = (s: PlanScope) => s.saved.enabled && s.kind === 'contact';

/** Step 1: the run's changed customers in write-back order, and how many were considered / unresolved. */
export async function planOrder(s: PlanScope): Promise<{ order: PlanOrder; considered: number; unresolved: number }> {
  const cursor = savedOn(s) ? new AssignmentCursor(s.db, s.portalId, s.saved.usable, s.pageSize) : null;
  const order = new PlanOrder();
  let considered = 0;
  let unresolved = 0;
  let after = -1;
  try {
    for (;;) {
      const { rows } = await s.db.query<LabelRow>(
        `${labelSelect(s.kind)} WHERE l.portal_id = $1 AND l.run_id = $2 AND l.${KIND_TABLES[s.kind].id} > $3 ORDER BY l.${KIND_TABLES[s.kind].id} LIMIT $4`,
        [s.portalId, s.runId, after, s.pageSize],
      );
      if (!rows.length) break;
      after = Number(rows[rows.length - 1]!.contactId);
      const assigned = cursor ? await cursor.upTo(after) : null;
      for (const r of rows) {
        considered++;
        const saved = assigned ? (assigned.get(r.contactId) ?? null) : null;
        const d = diffRow(s, r, saved);
        if (d.unresolved) unresolved++;
        if (d.pending) order.push({ id: d.pending.id, tier: d.pending.tier, value: d.pending.value, saved });
      }
      if (rows.length < s.pageSize) break;
    }
  } finally {
    await cursor?.close();
  }
  order.sort();
  return { order, considered, unresolved };
}

/**
 * Step 2: the updates of the order's customers [from, to), diffed again, in order. `pos[i]` is
 * the place in the order of `pending[i]`.
 */
export async function pendingPage(s: PlanScope, order: PlanOrder, from: number, to: number): Promise<{ pending: Pending[]; pos: number[] }> {
  const entries = Array.from({ length: to - from }, (_, k) => order.at(from + k));
  const { rows } = await s.db.query<LabelRow>(
    `${labelSelect(s.kind)} WHERE l.portal_id = $1 AND l.run_id = $2 AND l.${KIND_TABLES[s.kind].id} = ANY($3::bigint[])`,
    [s.portalId, s.runId, entries.map((e) => e.id)],
  );
  const byId = new Map(rows.map((r) => [Number(r.contactId), r]));
  const pending: Pending[] = [];
  const pos: number[] = [];
  entries.forEach((e, k) => {
    const r = byId.get(e.id);
    const p = r ? diffRow(s, r, e.saved).pending : null;
    if (!p) return;
    pending.push({ ...p, tier: e.tier, value: e.value });
    pos.push(from + k);
  });
  return { pending, pos };
}

/** One customer's desired values diffed against the CRM's and our last write: its update, if any. */
function diffRow(s: PlanScope, r: LabelRow, saved: string | null): { pending: Pending | null; unresolved: boolean } {
  let desired = desiredValues(r);
  // the saved-segment field: its value when the option is on, left out entirely when off
  if (savedOn(s)) desired[SAVED_FIELD] = saved;
  else delete desired[SAVED_FIELD];
  // the campaign group field belongs to src/campaigns: left out here (neither written nor cleared)
  delete desired[F.CAMPAIGN_GROUP];
  const only = s.onlyFields;
  if (only) desired = Object.fromEntries(Object.entries(desired).filter(([k]) => only.has(k)));
  const own = F.INTERESTS in desired ? keepHandTags(desired, r, s.reg) : undefined;
  const d = diffRecord(desired, r.uf, r.wv, s.reg, s.tol);
  const unresolved = d.unresolved.length > 0;
  if (!Object.keys(d.changed).length) return { pending: null, unresolved };
  const id = Number(r.contactId);
  const interests = F.INTERESTS in d.changed ? { own, owned: ownTags(r.wv, F.INTERESTS) } : {};
  return { pending: { id, changed: d.changed, ...priorityOf(r, d.changed, s.reg), ...interests }, unresolved };
}

/** A changed customer's place in the write-back order (priority.ts): its segment now in the CRM → the one written. */
function priorityOf(r: LabelRow, changed: SemValues, reg: FieldRegistry): { tier: Tier; value: number } {
  const def = manifestFields().get(F.SEGMENT)!;
  const from = baseValue(def, r.uf, r.wv, reg.get(F.SEGMENT));
  const to = F.SEGMENT in changed ? changed[F.SEGMENT] : from;
  const p = {
    segmentFrom: from === null ? null : String(from), segmentTo: to === null || to === undefined ? null : String(to),
    lifecycleChanged: F.LIFECYCLE in changed, clv: num(r.clv), monetary: num(r.monetary),
  };
  return { tier: tierOf(p), value: valueOf(p) };
}

const num = (v: unknown): number | null => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v));

/**
 * The interests field keeps a manager's own tags (own-interests.ts): `desired` gets the CRM's tags
 * minus the ones the app last wrote, plus the app's tags now. Returns the app's tags now.
 */
function keepHandTags(desired: SemValues, r: LabelRow, reg: FieldRegistry): string[] {
  const name = F.INTERESTS;
  const app = desired[name] ?? null;
  const def = manifestFields().get(name)!;
  const current = r.uf && Object.prototype.hasOwnProperty.call(r.uf, name) ? crmToSemantic(def, r.uf[name], reg.get(name)) : (r.wv?.[name] ?? null);
  desired[name] = mergeInterests(app, current, ownTags(r.wv, name));
  return Array.isArray(app) ? app : [];
}
