/**
 * Saved segments → one per contact: each contact's highest-priority saved segment in a score run,
 * for the saved-segment CRM field (src/writeback/saved-segment.ts).
 */
import type { SavedSegment } from '../settings/saved-segments.js';
import { needsContacts } from './bounds.js';
import { labelsFrom } from './compile.js';
import { compilePredicate, type CompileOptions } from './predicate.js';
import { byPriority, savedFilters } from './saved.js';
import { Params, type SqlQuery } from './sql.js';

/**
 * Each contact's highest-priority saved segment in run `runId` (contacts in none are skipped), in
 * contact id order, in batches. One SQL CASE over the compiled predicates, highest priority first
 * (ties: the order given): `for await (const rows of savedSegmentAssignments(db, portalId, runId, saved)) ...`.
 */
export async function* savedSegmentAssignments(
  db: SqlQuery,
  portalId: number,
  runId: number,
  saved: ReadonlyArray<Pick<SavedSegment, 'id' | 'priority' | 'filter'>>,
  batch = 5000,
): AsyncGenerator<Array<{ contactId: number; savedId: string }>> {
  if (saved.length === 0) return;
  const ordered = byPriority(saved);
  const opts: CompileOptions = { saved: savedFilters(saved) };
  const ps = new Params([portalId, runId]);
  const cases = ordered.map((s) => `WHEN ${compilePredicate(s.filter, ps, opts)} THEN ${ps.p(s.id)}::text`).join(' ');
  const from = labelsFrom(ordered.some((s) => needsContacts(s.filter, opts.saved)));
  const n = ps.values.length;
  let after = -1;
  for (;;) {
    const { rows } = await db.query<{ contactId: number; savedId: string | null }>(
      `SELECT contact_id AS "contactId", "savedId" FROM (
         SELECT l.contact_id, CASE ${cases} END AS "savedId" ${from}
          WHERE l.portal_id = $1 AND l.run_id = $2 AND l.contact_id > $${n + 1}
          ORDER BY l.contact_id LIMIT $${n + 2}) s`,
      [...ps.values, after, batch],
    );
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.contactId;
    const hit = rows.filter((r): r is { contactId: number; savedId: string } => r.savedId !== null);
    if (hit.length) yield hit;
    if (rows.length < batch) return;
  }
}
