/**
 * The settings page's preview: how segments would move under draft scoring settings, for the
 * contacts or (B2B) the companies: their won deals re-scored against their labels in the latest run.
 */
import type { Db } from '../../store/index.js';
import { iterateContactBatches, latestScoreRun } from '../../store/index.js';
import { scorePortal, type CustomerInput, type ScoringSettings } from '../../scoring/index.js';

export type PreviewEntity = 'contact' | 'company';

export interface PreviewResult {
  entity: PreviewEntity;
  asOf: string;
  scored: number;
  current: Record<string, number>;
  draft: Record<string, number>;
  /** from → to with count, only customers that would change segment */
  moves: Array<{ from: string | null; to: string; count: number }>;
  changed: number;
  /** buyers per R, F and M level under the draft (index 0 = level 1) */
  levels: { r: number[]; f: number[]; m: number[] };
  warnings: string[];
}

/**
 * Re-scores the portal in memory with the draft settings (won deals from the store, as of the
 * latest run) and diffs the segments with the current labels. Segments depend on won deals only,
 * so lost/open deals are not loaded here.
 */
/**
 * Every company with its won deals (by the deal's COMPANY_ID, closed on a date), as the contacts'
 * below; companies are few (tens of thousands at most), so two queries.
 */
async function companyInput(db: Db, portalId: number): Promise<CustomerInput[]> {
  const { rows: cos } = await db.query<{ id: string }>(`SELECT id::text AS id FROM companies WHERE portal_id = $1 ORDER BY id`, [portalId]);
  const { rows: won } = await db.query<{ id: string; day: string; amount: string | null }>(
    `SELECT company_id::text AS id, to_char(close_date, 'YYYY-MM-DD') AS day, COALESCE(opportunity_base, opportunity, 0)::text AS amount
       FROM deals WHERE portal_id = $1 AND stage_semantic = 'S' AND company_id IS NOT NULL AND close_date IS NOT NULL ORDER BY company_id, id`,
    [portalId],
  );
  const byCompany = new Map<string, CustomerInput['won']>();
  for (const d of won) byCompany.set(d.id, [...(byCompany.get(d.id) ?? []), { date: d.day, amount: Number(d.amount) }]);
  return cos.map((c) => ({ id: c.id, won: byCompany.get(c.id) ?? [] }));
}

/** The customers' won deals as the scoring reads them (contacts: without product rows, not needed for segments). */
async function previewInput(db: Db, portalId: number, entity: PreviewEntity): Promise<CustomerInput[]> {
  if (entity === 'company') return companyInput(db, portalId);
  const customers: CustomerInput[] = [];
  for await (const batch of iterateContactBatches(db, portalId, { includeProductRows: false, batchSize: 5000 })) {
    for (const { contact, wonDeals } of batch) {
      customers.push({
        id: String(contact.id),
        won: wonDeals
          .filter((d) => d.closeDate)
          .map((d) => ({ date: d.closeDate!, amount: Number(d.opportunityBase ?? d.opportunity ?? 0) })),
      });
    }
  }
  return customers;
}

/** The customers' segments in a run (contact_labels or company_labels). */
async function currentSegments(db: Db, portalId: number, runId: number, entity: PreviewEntity): Promise<Map<number, string | null>> {
  const [table, idCol] = entity === 'company' ? ['company_labels', 'company_id'] : ['contact_labels', 'contact_id'];
  const current = new Map<number, string | null>();
  let after = -1;
  for (;;) {
    const { rows } = await db.query<{ id: number; segment: string | null }>(
      `SELECT ${idCol} AS id, segment FROM ${table} WHERE portal_id = $1 AND run_id = $2 AND ${idCol} > $3 ORDER BY ${idCol} LIMIT 20000`,
      [portalId, runId, after],
    );
    if (!rows.length) break;
    for (const r of rows) current.set(Number(r.id), r.segment);
    after = Number(rows[rows.length - 1]!.id);
  }
  return current;
}

export async function previewSettings(db: Db, portalId: number, draft: ScoringSettings, entity: PreviewEntity = 'contact'): Promise<PreviewResult> {
  const run = await latestScoreRun(db, portalId);
  const asOf = (run ? new Date(run.asOf) : new Date()).toISOString().slice(0, 10);
  const customers = await previewInput(db, portalId, entity);
  const scored = scorePortal({ asOf, customers }, { ...draft, models: { ...draft.models, enabled: false } });
  const current = run ? await currentSegments(db, portalId, run.id, entity) : new Map<number, string | null>();
  const moves = new Map<string, { from: string | null; to: string; count: number }>();
  const cur: Record<string, number> = {};
  const dr: Record<string, number> = {};
  let changed = 0;
  for (const s of current.values()) cur[s ?? 'none'] = (cur[s ?? 'none'] ?? 0) + 1;
  for (const c of scored.customers) {
    dr[c.segment] = (dr[c.segment] ?? 0) + 1;
    const from = current.get(Number(c.id)) ?? null;
    if (from === c.segment) continue;
    changed++;
    const k = `${from}\0${c.segment}`;
    const m = moves.get(k);
    if (m) m.count++;
    else moves.set(k, { from, to: c.segment, count: 1 });
  }
  const scale = draft.rfm.scale;
  const levels = { r: new Array<number>(scale).fill(0), f: new Array<number>(scale).fill(0), m: new Array<number>(scale).fill(0) };
  for (const c of scored.customers) {
    if (c.r !== null) levels.r[c.r - 1]! += 1;
    if (c.f !== null) levels.f[c.f - 1]! += 1;
    if (c.m !== null) levels.m[c.m - 1]! += 1;
  }
  return {
    entity,
    asOf,
    levels,
    scored: scored.customers.length,
    current: cur,
    draft: dr,
    moves: [...moves.values()].sort((a, b) => b.count - a.count),
    changed,
    warnings: scored.warnings.filter((w) => !w.startsWith('BG/NBD') && !w.startsWith('Gamma-Gamma')),
  };
}
