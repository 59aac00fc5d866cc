/**
 * The reason of a lost deal, from where the portal keeps it (settings.refusal, src/settings/refusal.ts):
 *
 *   stages  the deal's lost stage: the admin's reason for that STATUS_ID, else the stage's name as
 *           the portal calls it (crm.status.list, synced into `stages`), else the STATUS_ID itself
 *           (a stage deleted since);
 *   field   the deal user field's value (deals.uf, synced with UF_*): the admin's reason for that
 *           value (an enumeration item's ID or the text), else the item's name (deal_fields, from
 *           crm.deal.fields) or the text; an empty field = lost without a reason (null).
 *
 * Resolved when scoring, not when syncing, so a changed setting counts at the next scoring run
 * without pulling the deals again.
 */
import type { Db } from '../store/db.js';
import { getPortal } from '../store/portals.js';
import { readSection, type RefusalSettings } from '../settings/index.js';

export interface RefusalResolver {
  settings: RefusalSettings;
  /** lost-stage STATUS_ID → the portal's name */
  stageNames: ReadonlyMap<string, string>;
  /** the chosen field's enumeration items: ID → name (empty for a string field) */
  items: ReadonlyMap<string, string>;
}

/** A deal as the resolver reads it. */
export interface LostDealRow {
  stageId: string | null;
  uf: Record<string, unknown> | null;
}

const text = (v: unknown): string | null => {
  const x = Array.isArray(v) ? v[0] : v;
  if (x === null || x === undefined || x === false) return null;
  const s = String(x).trim();
  return s === '' ? null : s;
};

/** An own entry of a reason map (a value such as "constructor" read from a deal is not the object's). */
const own = (m: Record<string, string>, k: string): string | undefined => (Object.hasOwn(m, k) ? m[k] : undefined);

/** The reason of one lost deal (null: lost without a reason). */
export function lostReason(d: LostDealRow, r: RefusalResolver): string | null {
  const s = r.settings;
  if (s.source === 'stages') {
    if (!d.stageId) return null;
    return own(s.stages, d.stageId) ?? r.stageNames.get(d.stageId) ?? d.stageId;
  }
  const raw = s.field ? text(d.uf && Object.hasOwn(d.uf, s.field) ? d.uf[s.field] : null) : null;
  if (raw === null) return null;
  return own(s.values, raw) ?? r.items.get(raw) ?? raw;
}

/** The portal's refusal settings with the stage names and field items they need. */
export async function refusalResolver(db: Db, portalId: number): Promise<RefusalResolver> {
  const portal = await getPortal(db, portalId);
  const { value: settings } = readSection(portal?.settings, 'refusal');
  const { rows: stages } = await db.query<{ id: string; name: string | null }>(
    `SELECT status_id AS id, name FROM stages WHERE portal_id = $1 AND semantics = 'F'`,
    [portalId],
  );
  const stageNames = new Map(stages.filter((s) => s.name).map((s) => [s.id, s.name!.trim()]));
  const items = new Map<string, string>();
  if (settings.source === 'field' && settings.field) {
    const { rows } = await db.query<{ items: Array<{ id: string; value: string }> }>(
      `SELECT items FROM deal_fields WHERE portal_id = $1 AND field_name = $2`,
      [portalId, settings.field],
    );
    for (const i of rows[0]?.items ?? []) items.set(String(i.id), String(i.value));
  }
  return { settings, stageNames, items };
}
