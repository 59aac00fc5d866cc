/** One contact's card (the contact tab, the slider): its latest label, purchase rhythm and label history. */
import type { Db } from '../../store/index.js';
import { latestScoreRun } from '../../store/index.js';
import { iso } from './dashboard-query.js';
import { ROW_SELECT, type ListRow } from './queries.js';

export interface ContactCard {
  contact: { id: number; name: string; city: string | null; hasEmail: boolean; hasPhone: boolean; sourceId: string | null; assignedById: number | null } | null;
  label: (ListRow & { r: number | null; f: number | null; m: number | null; firstPurchase: string | null; extra: Record<string, unknown> }) | null;
  /** horizonDays: the predictions' horizon (the CLV and its 80 % range in label.extra cover it) */
  run: { id: number; asOf: string; horizonDays: number } | null;
  purchaseDays: number;
  medianGapDays: number | null;
  daysSinceLast: number | null;
  history: Array<{ runId: number; asOf: string; segment: string | null; lifecycle: string | null; rfm: string | null }>;
}

function horizonOf(settings: unknown): number {
  const h = (settings as { models?: { horizonDays?: unknown } } | null)?.models?.horizonDays;
  return typeof h === 'number' && h > 0 ? h : 365;
}

export async function contactCard(db: Db, portalId: number, contactId: number): Promise<ContactCard> {
  const run = await latestScoreRun(db, portalId);
  const { rows: cs } = await db.query<ContactCard['contact'] & object>(
    `SELECT id, trim(coalesce(name, '') || ' ' || coalesce(last_name, '')) AS name, city, has_email AS "hasEmail", has_phone AS "hasPhone",
            source_id AS "sourceId", assigned_by_id AS "assignedById" FROM contacts WHERE portal_id = $1 AND id = $2`,
    [portalId, contactId],
  );
  let label: ContactCard['label'] = null;
  if (run) {
    const { rows } = await db.query<NonNullable<ContactCard['label']>>(
      `SELECT ${ROW_SELECT}, l.r, l.f, l.m, l.first_purchase AS "firstPurchase", l.extra
         FROM contact_labels l LEFT JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        WHERE l.portal_id = $1 AND l.run_id = $2 AND l.contact_id = $3`,
      [portalId, run.id, contactId],
    );
    label = rows[0] ?? null;
  }
  const { rows: days } = await db.query<{ day: string }>(
    `SELECT DISTINCT d.close_date::text AS day FROM deal_contacts dc JOIN deals d ON d.portal_id = dc.portal_id AND d.id = dc.deal_id
      WHERE dc.portal_id = $1 AND dc.contact_id = $2 AND d.stage_semantic = 'S' AND d.close_date IS NOT NULL ORDER BY 1`,
    [portalId, contactId],
  );
  const t = days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 86_400_000);
  const gaps = t.slice(1).map((x, i) => x - t[i]!).sort((a, b) => a - b);
  const medianGapDays = gaps.length ? Math.round(gaps.length % 2 ? gaps[(gaps.length - 1) / 2]! : (gaps[gaps.length / 2 - 1]! + gaps[gaps.length / 2]!) / 2) : null;
  const asOfDay = run ? Math.floor(new Date(run.asOf).getTime() / 86_400_000) : null;
  const { rows: history } = await db.query<ContactCard['history'][number]>(
    `SELECT r.id AS "runId", r.as_of AS "asOf", l.segment, l.lifecycle, l.rfm FROM contact_labels l
       JOIN score_runs r ON r.portal_id = l.portal_id AND r.id = l.run_id
      WHERE l.portal_id = $1 AND l.contact_id = $2 AND r.status = 'done' ORDER BY r.created_at DESC, r.id DESC LIMIT 24`,
    [portalId, contactId],
  );
  return {
    contact: cs[0] ?? null,
    label,
    run: run ? { id: run.id, asOf: iso(run.asOf), horizonDays: horizonOf(run.settings) } : null,
    purchaseDays: t.length,
    medianGapDays,
    daysSinceLast: label?.recencyDays ?? (asOfDay !== null && t.length ? Math.round(asOfDay - t[t.length - 1]!) : null),
    history: history.map((h) => ({ ...h, asOf: iso(h.asOf) })).reverse(),
  };
}
