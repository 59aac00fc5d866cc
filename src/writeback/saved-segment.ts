/**
 * The "saved segment" contact field (UF_CRM_SEG_SAVED, manifest/fields.json): each contact's
 * highest-priority saved segment, written by the write-back when the portal's settings say
 * `segmentField.enabled`.
 *
 *  - Items: one enumeration item per saved segment, XML_ID = the segment's id, VALUE = its
 *    name, SORT by priority (highest first). `registerFields` adds the items of new segments
 *    and renames / re-sorts the items of renamed / re-prioritised ones on every write-back
 *    (and at install), whether or not the option is on.
 *  - Values: with the option on, every labelled contact's desired value is its highest-priority
 *    saved segment (`savedSegmentAssignments`, ties: the stored order), or empty when it is in
 *    none. The usual diff applies, so only contacts whose value changed are written.
 *  - Option off: the field is left out of the write-back entirely: nothing is written, nothing
 *    is cleared. Values written while it was on stay as they were ("frozen"); clearing them is
 *    a separate explicit action (`clearSavedSegmentField`).
 *  - A deleted saved segment: with the option on, its contacts are rewritten (their next saved
 *    segment, or empty); then, at the end of the write-back, its item is deleted from the field
 *    once no contact holds it any more (per contacts.uf / written_values). With the option off
 *    its item stays as long as contacts still hold it (so their frozen value still reads).
 *  - A saved segment whose filter cannot be compiled any more (it refers to a deleted saved
 *    segment) is skipped with a note; its item is kept.
 */
import type { B24Client } from '../b24/client.js';
import type { BatchCommand } from '../b24/batch-encoding.js';
import type { Db } from '../store/db.js';
import { getPortal } from '../store/portals.js';
import { latestScoreRun } from '../store/scores.js';
import { byPriority, savedSegmentAssignments as assignmentsInRun, usableSavedSegments } from '../segments/index.js';
import { readSettings, type SavedSegment } from '../settings/index.js';
import type { FieldRegistry, ItemDef } from './fields.js';
import { F } from './manifest-fields.js';

export const SAVED_FIELD = F.SAVED;

export interface SavedSegmentConfig {
  /** settings.segmentField.enabled */
  enabled: boolean;
  /** all saved segments (their items are kept in step), highest priority first */
  segments: SavedSegment[];
  /** the segments used for assignment (those whose filter compiles) */
  usable: SavedSegment[];
  /** notes about segments left out */
  notes: string[];
}

/** The field's items: one per saved segment, code = id, value = name, sorted by priority. */
export function savedItemDefs(segments: readonly Pick<SavedSegment, 'id' | 'name' | 'priority'>[]): ItemDef[] {
  return byPriority(segments).map((s, i) => ({ code: s.id, value: s.name, sort: (i + 1) * 10 }));
}

/** The portal's saved segments and whether the field is written. */
export async function savedSegmentConfig(db: Db, portalId: number): Promise<SavedSegmentConfig> {
  const { settings } = readSettings((await getPortal(db, portalId))?.settings);
  const segments = byPriority(settings.savedSegments);
  // segments whose filter does not compile against the others (a reference to a deleted segment,
  // too deep a nesting) are left out of the assignment, with a note
  const { usable, notes } = usableSavedSegments(segments);
  return { enabled: settings.segmentField.enabled, segments, usable, notes };
}

/**
 * Each contact's highest-priority saved segment in the portal's latest run (contacts in none are
 * skipped), in contact id order, in batches (src/segments/assign.ts over the latest run).
 */
export async function* savedSegmentAssignments(
  db: Db, portalId: number, saved: ReadonlyArray<Pick<SavedSegment, 'id' | 'priority' | 'filter'>>, batch = 5000,
): AsyncGenerator<Array<{ contactId: number; savedId: string }>> {
  const run = await latestScoreRun(db, portalId);
  if (run) yield* assignmentsInRun(db, portalId, run.id, saved, batch);
}

/**
 * Reads the assignments of the latest run in contact id order, alongside the write-back's own
 * pages of labels: `upTo(id)` returns the assignments of contacts ≤ id not returned before.
 */
export class AssignmentCursor {
  private readonly it: AsyncGenerator<Array<{ contactId: number; savedId: string }>> | null;
  private buf: Array<{ contactId: number; savedId: string }> = [];
  private pos = 0;
  private done = false;

  constructor(db: Db, portalId: number, segments: readonly SavedSegment[], batch = 5000) {
    this.it = segments.length ? savedSegmentAssignments(db, portalId, segments, batch) : null;
    if (!this.it) this.done = true;
  }

  async upTo(maxId: number): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (;;) {
      while (this.pos < this.buf.length && this.buf[this.pos]!.contactId <= maxId) {
        const a = this.buf[this.pos++]!;
        out.set(a.contactId, a.savedId);
      }
      if (this.pos < this.buf.length || this.done) return out;
      const next = await this.it!.next();
      if (next.done) { this.done = true; return out; }
      this.buf = next.value;
      this.pos = 0;
    }
  }

  async close(): Promise<void> {
    if (this.it && !this.done) await this.it.return(undefined);
    this.done = true;
  }
}

/** Item codes of the field that no contact holds, per the store (CRM values and our writes). */
async function unheldCodes(db: Db, portalId: number, items: Record<string, number>, codes: readonly string[]): Promise<string[]> {
  if (!codes.length) return [];
  const { rows } = await db.query<{ code: string }>(
    `SELECT x.code FROM jsonb_to_recordset($2::jsonb) AS x(code text, id text)
      WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.portal_id = $1 AND (c.uf->>$3 = x.id OR c.uf->$3 @> jsonb_build_array(x.id)))
        AND NOT EXISTS (SELECT 1 FROM written_values w WHERE w.portal_id = $1 AND w.entity = 'contact' AND w."values"->>$3 = x.code)`,
    [portalId, JSON.stringify(codes.map((code) => ({ code, id: String(items[code]) }))), SAVED_FIELD],
  );
  return rows.map((r) => r.code);
}

/**
 * Deletes the items of saved segments that no longer exist once no contact holds them, and
 * drops them from the stored registry. Returns the removed codes and the kept (still held) ones.
 */
export async function pruneSavedItems(
  client: B24Client, db: Db, portalId: number, reg: FieldRegistry, segments: readonly SavedSegment[],
): Promise<{ removed: string[]; kept: string[]; errors: string[] }> {
  const out = { removed: [] as string[], kept: [] as string[], errors: [] as string[] };
  const f = reg.get(SAVED_FIELD);
  if (!f) return out;
  const live = new Set(segments.map((s) => s.id));
  const stale = Object.keys(f.items).filter((code) => !live.has(code));
  if (!stale.length) return out;
  const drop = await unheldCodes(db, portalId, f.items, stale);
  out.kept = stale.filter((c) => !drop.includes(c));
  if (!drop.length) return out;
  const cmds: Record<string, BatchCommand> = {
    del: ['crm.contact.userfield.update', { id: f.ufId, fields: { LIST: drop.map((code) => ({ ID: f.items[code], DEL: 'Y' })) } }],
  };
  const r = await client.batch(cmds);
  const e = r.errors.del;
  if (e) { out.errors.push(`${SAVED_FIELD}: deleting items failed: ${e.code || '(no code)'} ${e.description}`); return out; }
  for (const code of drop) delete f.items[code];
  await db.query(
    `UPDATE field_registry SET items = items - $3::text[] WHERE portal_id = $1 AND entity = 'contact' AND field_name = $2`,
    [portalId, SAVED_FIELD, drop],
  );
  out.removed = drop;
  return out;
}

/**
 * The explicit "clear the saved-segment field" action: empties the field on every contact that
 * holds a value per the store (turning the option off does not do this). Returns the number of
 * contacts cleared. The option should be off, or the next write-back writes the values again.
 */
export async function clearSavedSegmentField(client: B24Client, db: Db, portalId: number, opts: { batchSize?: number } = {}): Promise<{ cleared: number; failed: number }> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT c.id FROM contacts c
       LEFT JOIN written_values w ON w.portal_id = c.portal_id AND w.entity = 'contact' AND w.entity_id = c.id
      WHERE c.portal_id = $1 AND (
        (c.uf ? $2 AND c.uf->>$2 IS NOT NULL AND c.uf->>$2 NOT IN ('', '0', 'false'))
        OR (NOT c.uf ? $2 AND w."values"->>$2 IS NOT NULL))
      ORDER BY c.id`,
    [portalId, SAVED_FIELD],
  );
  const size = Math.min(50, opts.batchSize ?? 50);
  let cleared = 0;
  let failed = 0;
  for (let i = 0; i < rows.length; i += size) {
    const part = rows.slice(i, i + size);
    const cmds: Record<string, BatchCommand> = {};
    for (const r of part) cmds[String(r.id)] = ['crm.contact.update', { id: r.id, fields: { [SAVED_FIELD]: '' }, params: { REGISTER_SONET_EVENT: 'N' } }];
    const res = await client.batch(cmds);
    const ok = part.filter((r) => !res.errors[String(r.id)]).map((r) => r.id);
    failed += part.length - ok.length;
    if (ok.length) {
      await db.transaction(async (tx) => {
        await tx.query(`UPDATE contacts SET uf = uf || jsonb_build_object($2::text, NULL) WHERE portal_id = $1 AND id = ANY($3::bigint[])`, [portalId, SAVED_FIELD, ok]);
        await tx.query(
          `UPDATE written_values SET "values" = "values" || jsonb_build_object($2::text, NULL) WHERE portal_id = $1 AND entity = 'contact' AND entity_id = ANY($3::bigint[])`,
          [portalId, SAVED_FIELD, ok],
        );
      });
    }
    cleared += ok.length;
  }
  return { cleared, failed };
}
