/**
 * Phase 3 of a run: columns derived from what the run stored — product rows' sections from their
 * products, section depths, and (incremental run after a rate change) every stored deal's
 * opportunity_base from the new rates. One commit.
 */
import type { Db } from '../store/db.js';
import { recomputeSectionDepths, resolveProductRowSections } from '../store/crm.js';
import type { RunContext } from './context.js';

export async function derivedPhase(ctx: RunContext): Promise<void> {
  if (ctx.cp.derived) return;
  await ctx.setPhase('derived');
  const { portalId } = ctx;
  await ctx.commit((c) => { c.derived = true; }, async (tx) => {
    if (ctx.cp.ratesChanged && ctx.cp.kind === 'incremental') await recomputeOpportunityBase(tx, portalId);
    await resolveProductRowSections(tx, portalId);
    await recomputeSectionDepths(tx, portalId);
  });
}

/** opportunity_base of every stored deal from the stored rates (after a rate change). */
export async function recomputeOpportunityBase(db: Db, portalId: number): Promise<number> {
  const r = await db.query(
    `UPDATE deals d SET opportunity_base = round(d.opportunity * (c.amount / c.amount_cnt) / b.rate, 2)
       FROM currencies c, (SELECT amount / amount_cnt AS rate FROM currencies WHERE portal_id = $1 AND base LIMIT 1) b
      WHERE d.portal_id = $1 AND c.portal_id = $1 AND c.code = d.currency_id
        AND d.opportunity_base IS DISTINCT FROM round(d.opportunity * (c.amount / c.amount_cnt) / b.rate, 2)`,
    [portalId],
  );
  return r.rowCount;
}
