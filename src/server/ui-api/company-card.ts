/**
 * One company's card (the company tab, B2B): its latest label, its label history, and its contacts
 * with their own latest labels. Companies are labelled only while the B2B option is on; a company
 * of a run without company labels has `label` null.
 */
import type { Db } from '../../store/index.js';
import { latestScoreRun } from '../../store/index.js';
import { labelsFrom } from '../../segments/index.js';
import { iso } from './dashboard-query.js';
import { ROW_SELECT, type ListRow } from './queries.js';

export interface CompanyCard {
  company: { id: number; title: string; industry: string | null; revenue: number | null; city: string | null; assignedById: number | null } | null;
  label: (ListRow & { r: number | null; f: number | null; m: number | null; firstPurchase: string | null; extra: Record<string, unknown> }) | null;
  run: { id: number; asOf: string } | null;
  history: Array<{ runId: number; asOf: string; segment: string | null; lifecycle: string | null; rfm: string | null }>;
  /** the company's contacts (at most 200, by id) with their latest segment and revenue */
  contacts: Array<{ id: number; name: string; segment: string | null; lifecycle: string | null; monetary: number | null; lastPurchase: string | null }>;
}

export async function companyCard(db: Db, portalId: number, companyId: number): Promise<CompanyCard> {
  const run = await latestScoreRun(db, portalId);
  const { rows: cs } = await db.query<NonNullable<CompanyCard['company']>>(
    `SELECT id, coalesce(title, '') AS title, industry, revenue::float8 AS revenue, city,
            assigned_by_id AS "assignedById" FROM companies WHERE portal_id = $1 AND id = $2`,
    [portalId, companyId],
  );
  let label: CompanyCard['label'] = null;
  let contacts: CompanyCard['contacts'] = [];
  if (run) {
    const { rows } = await db.query<NonNullable<CompanyCard['label']>>(
      `SELECT ${ROW_SELECT}, l.r, l.f, l.m, l.first_purchase AS "firstPurchase", l.extra
         ${labelsFrom(true, 'company')} WHERE l.portal_id = $1 AND l.run_id = $2 AND l.contact_id = $3`,
      [portalId, run.id, companyId],
    );
    label = rows[0] ?? null;
  }
  const { rows: people } = await db.query<CompanyCard['contacts'][number]>(
    `SELECT c.id::int AS id, trim(coalesce(c.name, '') || ' ' || coalesce(c.last_name, '')) AS name, l.segment, l.lifecycle,
            l.monetary::float8 AS monetary, l.last_purchase::text AS "lastPurchase"
       FROM contacts c LEFT JOIN contact_labels l ON l.portal_id = c.portal_id AND l.contact_id = c.id AND l.run_id = $3
      WHERE c.portal_id = $1 AND c.company_id = $2 ORDER BY c.id LIMIT 200`,
    [portalId, companyId, run?.id ?? -1],
  );
  contacts = people;
  const { rows: history } = await db.query<CompanyCard['history'][number]>(
    `SELECT r.id AS "runId", r.as_of AS "asOf", l.segment, l.lifecycle, l.rfm FROM company_labels l
       JOIN score_runs r ON r.portal_id = l.portal_id AND r.id = l.run_id
      WHERE l.portal_id = $1 AND l.company_id = $2 AND r.status = 'done' ORDER BY r.created_at DESC, r.id DESC LIMIT 24`,
    [portalId, companyId],
  );
  return {
    company: cs[0] ?? null,
    label,
    run: run ? { id: run.id, asOf: iso(run.asOf) } : null,
    history: history.map((h) => ({ ...h, asOf: iso(h.asOf) })).reverse(),
    contacts,
  };
}
