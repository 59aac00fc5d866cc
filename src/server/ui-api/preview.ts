/** The settings page's preview: how segments would move under draft scoring settings. */
import type { Db } from '../../store/index.js';
import { iterateContactBatches, latestScoreRun } from '../../store/index.js';
import { scorePortal, type CustomerInput, type ScoringSettings } from '../../scoring/index.js';

export interface PreviewResult {
  asOf: string;
  scored: number;
  current: Record<string, number>;
  draft: Record<string, number>;
  /** from → to with count, only contacts that would change segment */
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
export async function previewSettings(db: Db, portalId: number, draft: ScoringSettings): Promise<PreviewResult> {
  const run = await latestScoreRun(db, portalId);
  const asOf = (run ? new Date(run.asOf) : new Date()).toISOString().slice(0, 10);
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
  const scored = scorePortal({ asOf, customers }, { ...draft, models: { ...draft.models, enabled: false } });
  const current = new Map<number, string | null>();
  if (run) {
    let after = -1;
    for (;;) {
      const { rows } = await db.query<{ id: number; segment: string | null }>(
        `SELECT contact_id AS id, segment FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND contact_id > $3 ORDER BY contact_id LIMIT 20000`,
        [portalId, run.id, after],
      );
      if (!rows.length) break;
      for (const r of rows) current.set(r.id, r.segment);
      after = rows[rows.length - 1]!.id;
    }
  }
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
