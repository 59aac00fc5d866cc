/**
 * Incremental rescoring: which customers a cycle must rescore, and when it must score everyone.
 *
 * A full run records the newest finished sync run it saw (`counts.syncMark`), a digest of the
 * portal's settings and when it ran (`counts.fullAt`). The next run with `incremental` rescores only
 * the contacts touched since: rows the sync wrote after the mark (a new contact, one of its deals, a
 * product row of its deals). A contact row read again is not a change for scoring (its labels come
 * from its deals; the write-back's own writes bump its modification date, so the next pull reads back
 * every contact written), unless the contact has no label yet. They are rescored in place in the latest run with the run's population
 * statistics kept (events/rescore.ts): the R/F/M thresholds of the last full run and its BG/NBD and
 * Gamma-Gamma parameters. Untouched customers keep their label rows as they are.
 *
 * A full run is forced (the reason is returned) when:
 *  - there is no previous run, or it has no mark (made before this rule);
 *  - the day changed (recency, sleeping, the lifecycle window, interest expiry and P(alive)/CLV move
 *    with the days for everyone);
 *  - the portal's settings changed (any section: scoring, refusal, B2B, …);
 *  - the last full run is older than FULL_EVERY_DAYS;
 *  - the sync deleted rows since the mark, or changed leads;
 *  - more than PARTIAL_MAX_SHARE of the contacts were touched;
 *  - companies are scored (B2B: their pass stays full).
 * Known gaps, closed by the next full run (at the latest the next day): a deal moved from one contact
 * to another rescores the contact it moved to, not the one it left; the catalog (sections, products:
 * the sync pulls them whole every time, so a change cannot be told from the rows) is read at the full
 * run, so a product moved to another section changes interests then.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../store/db.js';
import type { ScoreRun } from '../store/scores.js';

export const PARTIAL_MAX_SHARE = 0.2;
export const FULL_EVERY_DAYS = 7;

/** The newest finished sync run of the portal (0: none). */
export async function syncMark(db: Db, portalId: number): Promise<number> {
  const { rows } = await db.query<{ id: string | null }>(`SELECT max(id) AS id FROM sync_runs WHERE portal_id = $1 AND status = 'done'`, [portalId]);
  return Number(rows[0]?.id ?? 0);
}

export function settingsDigest(settings: unknown): string {
  return createHash('sha256').update(JSON.stringify(settings ?? {})).digest('hex').slice(0, 16);
}

export type PartialPlan = { ids: number[]; mark: number; contacts: number } | { full: string };

interface Marks { syncMark?: number; settingsDigest?: string; fullAt?: string }

/** The contacts to rescore in place, or why a full run is needed. */
export async function partialPlan(
  db: Db, portalId: number, prev: ScoreRun | null, now: { asOfDay: string; settings: unknown; b2b: boolean; at: Date },
): Promise<PartialPlan> {
  const m = (prev?.counts ?? {}) as Marks;
  if (!prev || typeof m.syncMark !== 'number' || !m.fullAt) return { full: 'no previous full run with a sync mark' };
  if (prev.asOf.toISOString().slice(0, 10) !== now.asOfDay) return { full: 'the day changed' };
  if (m.settingsDigest !== settingsDigest(now.settings)) return { full: 'the settings changed' };
  if (now.at.getTime() - Date.parse(m.fullAt) > FULL_EVERY_DAYS * 86_400_000) return { full: `the last full run is older than ${FULL_EVERY_DAYS} days` };
  if (now.b2b) return { full: 'companies are scored (B2B)' };
  const mark = await syncMark(db, portalId);
  const { rows: [shared] } = await db.query<{ deleted: boolean; shared: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM sync_runs WHERE portal_id = $1 AND id > $2 AND status = 'done'
                     AND EXISTS (SELECT 1 FROM jsonb_each_text(COALESCE(counts->'deleted', checkpoint->'deleted', '{}'::jsonb)) d WHERE d.value::numeric > 0)) AS deleted,
            EXISTS (SELECT 1 FROM leads WHERE portal_id = $1 AND sync_run_id > $2) AS shared`,
    [portalId, m.syncMark],
  );
  if (shared?.deleted) return { full: 'the sync deleted rows' };
  if (shared?.shared) return { full: 'leads changed' };
  const { rows } = await db.query<{ id: string }>(
    `SELECT c.id FROM contacts c WHERE c.portal_id = $1 AND c.sync_run_id > $2
        AND NOT EXISTS (SELECT 1 FROM contact_labels l WHERE l.portal_id = $1 AND l.run_id = $3 AND l.contact_id = c.id)
     UNION SELECT dc.contact_id FROM deals d JOIN deal_contacts dc ON dc.portal_id = d.portal_id AND dc.deal_id = d.id
            WHERE d.portal_id = $1 AND d.sync_run_id > $2
     UNION SELECT dc.contact_id FROM product_rows pr JOIN deal_contacts dc ON dc.portal_id = pr.portal_id AND dc.deal_id = pr.deal_id
            WHERE pr.portal_id = $1 AND pr.sync_run_id > $2`,
    [portalId, m.syncMark, prev.id],
  );
  const { rows: [n] } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM contacts WHERE portal_id = $1`, [portalId]);
  const contacts = Number(n?.n ?? 0);
  if (rows.length > PARTIAL_MAX_SHARE * contacts) return { full: `more than ${PARTIAL_MAX_SHARE * 100}% of the contacts changed` };
  return { ids: rows.map((r) => Number(r.id)).sort((a, b) => a - b), mark, contacts };
}

/** What a full run stores for the next incremental one. */
export async function fullRunMarks(db: Db, portalId: number, settings: unknown, at: Date): Promise<Required<Marks>> {
  return { syncMark: await syncMark(db, portalId), settingsDigest: settingsDigest(settings), fullAt: at.toISOString() };
}
