/**
 * Deletion reconciliation for an incremental sync, without a full ID sweep.
 *
 * A full sweep costs as much operating time as exporting the table again (the portal charges
 * per returned row, whatever the select), e.g. ~800 s of budget for 400k deals. Events are not
 * durable here (online events are lost while the app is down). Instead, counts by ID range:
 *
 *   1. For the whole stored ID range [min, max], one counted list call
 *      (`filter {>=ID lo, <ID hi}`, `select [ID]`, `start 0`) → the portal's `total` in the range
 *      (+ up to 50 IDs). The store's count in the same range is one SQL query.
 *   2. Equal counts → nothing was deleted there (after the incremental upserts the store holds
 *      every live row of the range plus the deleted ones; rows created later lie above `max`).
 *   3. Portal total ≤ 50 → the page holds every live ID of the range: delete the stored IDs that
 *      are not in it.
 *   4. Otherwise split the range at quantiles of the STORED ids into k parts (k chosen so one
 *      level fills one batch of ≤ 50 calls) and repeat for the mismatching parts.
 *
 * Cost: about d·k·log_k(N/50) calls for d deletions among N rows: one request per level.
 * Legacy list methods are used (crm.contact.list / crm.company.list / crm.deal.list): their
 * budgets are separate from crm.item.list, which carries the deal export.
 *
 * Phase 4 of a run (deletionsPhase): a full run instead deletes the rows it did not see
 * (deleteNotSeenInRun: every row it saw carries its sync_run_id).
 */
import type { B24Client } from '../b24/client.js';
import type { BatchCommand } from '../b24/batch-encoding.js';
import type { Db } from '../store/db.js';
import { deleteCompanies, deleteContacts, deleteDeals, deleteLeads, deleteNotSeenInRun, replaceDealContacts } from '../store/crm.js';
import type { RunContext } from './context.js';

type Table = 'contacts' | 'companies' | 'deals' | 'leads';
const METHOD: Record<Table, string> = { contacts: 'crm.contact.list', companies: 'crm.company.list', deals: 'crm.deal.list', leads: 'crm.lead.list' };
const DELETE: Record<Table, (db: Db, portalId: number, ids: readonly number[]) => Promise<number>> = {
  contacts: deleteContacts, companies: deleteCompanies, deals: deleteDeals, leads: deleteLeads,
};
const PAGE = 50;
const MAX_CALLS = 50;

interface Range { lo: number; hi: number } // [lo, hi)

export interface ReconcileResult {
  deleted: number;
  /** Contacts only: deals that were linked to a deleted contact (their link lists changed). */
  affectedDeals: number[];
  calls: number;
  levels: number;
}

async function storeCount(db: Db, portalId: number, t: Table, r: Range): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE portal_id = $1 AND id >= $2 AND id < $3`, [portalId, r.lo, r.hi]);
  return rows[0]?.n ?? 0;
}

/** k sub-ranges of r holding about equal numbers of stored rows. */
async function split(db: Db, portalId: number, t: Table, r: Range, k: number): Promise<Range[]> {
  const { rows } = await db.query<{ b: number }>(
    `SELECT min(id) AS b FROM (SELECT id, ntile($4) OVER (ORDER BY id) AS g FROM ${t} WHERE portal_id = $1 AND id >= $2 AND id < $3) s GROUP BY g ORDER BY 1`,
    [portalId, r.lo, r.hi, k],
  );
  const cuts = [...new Set(rows.map((x) => Number(x.b)).filter((b) => b > r.lo))].sort((a, b) => a - b);
  const out: Range[] = [];
  let lo = r.lo;
  for (const c of cuts) { out.push({ lo, hi: c }); lo = c; }
  out.push({ lo, hi: r.hi });
  return out;
}

export async function reconcileDeletions(db: Db, portalId: number, client: B24Client, t: Table, isStopped: () => boolean = () => false): Promise<ReconcileResult> {
  const { rows } = await db.query<{ lo: number | null; hi: number | null }>(`SELECT min(id) AS lo, max(id) AS hi FROM ${t} WHERE portal_id = $1`, [portalId]);
  const lo = rows[0]?.lo;
  const hi = rows[0]?.hi;
  const res: ReconcileResult = { deleted: 0, affectedDeals: [], calls: 0, levels: 0 };
  if (lo === null || lo === undefined || hi === null || hi === undefined) return res;
  let level: Range[] = [{ lo: Number(lo), hi: Number(hi) + 1 }];
  while (level.length > 0) {
    if (isStopped()) throw new Error('stopped');
    res.levels++;
    const next: Range[] = [];
    for (let i = 0; i < level.length; i += MAX_CALLS) {
      const part = level.slice(i, i + MAX_CALLS);
      const cmds: BatchCommand[] = part.map((r) => [METHOD[t], { filter: { '>=ID': r.lo, '<ID': r.hi }, order: { ID: 'ASC' }, select: ['ID'], start: 0 }]);
      const b = await client.batch(cmds);
      res.calls += part.length;
      const mismatched: Array<{ r: Range; stored: number }> = [];
      for (let j = 0; j < part.length; j++) {
        const r = part[j]!;
        const e = b.errors[String(j)];
        if (e) throw e;
        const page = (Array.isArray(b.results[String(j)]) ? b.results[String(j)] : []) as Array<{ ID: unknown }>;
        const total = b.totals[String(j)] !== undefined ? Number(b.totals[String(j)]) : page.length;
        const stored = await storeCount(db, portalId, t, r);
        if (stored <= total) continue; // nothing deleted here (or only rows we have not seen yet)
        if (total <= PAGE && page.length >= total) {
          const live = page.map((x) => Number(x.ID));
          const { rows: gone } = await db.query<{ id: number }>(
            `SELECT id FROM ${t} WHERE portal_id = $1 AND id >= $2 AND id < $3 AND NOT (id = ANY($4::bigint[]))`,
            [portalId, r.lo, r.hi, live],
          );
          const ids = gone.map((g) => Number(g.id));
          if (ids.length && t === 'contacts') {
            const { rows: ds } = await db.query<{ d: number }>(`SELECT DISTINCT deal_id AS d FROM deal_contacts WHERE portal_id = $1 AND contact_id = ANY($2::bigint[])`, [portalId, ids]);
            res.affectedDeals.push(...ds.map((x) => Number(x.d)));
          }
          if (ids.length) {
            res.deleted += await DELETE[t](db, portalId, ids);
          }
          continue;
        }
        mismatched.push({ r, stored });
      }
      // fan-out: fill the next level's batch of ≤ 50 calls
      const k = Math.max(2, Math.floor(MAX_CALLS / Math.max(1, mismatched.length)));
      for (const m of mismatched) next.push(...(await split(db, portalId, t, m.r, Math.min(k, m.stored))));
    }
    level = next.filter((r) => r.hi > r.lo);
  }
  return res;
}

/**
 * Re-reads the contact lists of `dealIds` (crm.item.list `@id`, `select [id, contactIds]`,
 * 50 deals a call) and replaces their stored links: deleting a contact changes its deals'
 * links (and which one is primary) without touching the deals' DATE_MODIFY.
 */
export async function refreshDealLinks(db: Db, portalId: number, client: B24Client, dealIds: readonly number[]): Promise<number> {
  const ids = [...new Set(dealIds)].sort((a, b) => a - b);
  let n = 0;
  for (let i = 0; i < ids.length; i += PAGE * MAX_CALLS) {
    const part = ids.slice(i, i + PAGE * MAX_CALLS);
    const cmds: BatchCommand[] = [];
    for (let j = 0; j < part.length; j += PAGE) {
      cmds.push(['crm.item.list', { entityTypeId: 2, filter: { '@id': part.slice(j, j + PAGE) }, select: ['id', 'contactIds'], order: { id: 'ASC' }, start: -1 }]);
    }
    const b = await client.batch(cmds);
    const links: Array<{ dealId: number; contactId: number; sort: number; isPrimary: boolean }> = [];
    for (let k = 0; k < cmds.length; k++) {
      const e = b.errors[String(k)];
      if (e) throw e;
      const items = ((b.results[String(k)] as { items?: Array<{ id: unknown; contactIds?: unknown }> } | undefined)?.items) ?? [];
      for (const it of items) {
        const cs = [...new Set((Array.isArray(it.contactIds) ? it.contactIds : []).map(Number).filter((x) => x > 0))];
        cs.forEach((c, idx) => links.push({ dealId: Number(it.id), contactId: c, sort: (idx + 1) * 10, isPrimary: idx === 0 }));
      }
    }
    await replaceDealContacts(db, portalId, part, links);
    n += links.length;
  }
  return n;
}

/** Phase 4 of a run: rows deleted in the CRM leave the store (full: not seen by the run; incremental: reconcileDeletions). */
export async function deletionsPhase(ctx: RunContext): Promise<void> {
  if (ctx.cp.deletions) return;
  await ctx.setPhase('deletions');
  const { db, portalId, runId, client } = ctx;
  const del = { contacts: 0, companies: 0, deals: 0, productRows: 0, leads: 0 };
  if (ctx.cp.kind === 'full') {
    del.deals = await deleteNotSeenInRun(db, portalId, 'deals', runId);
    del.contacts = await deleteNotSeenInRun(db, portalId, 'contacts', runId);
    del.companies = await deleteNotSeenInRun(db, portalId, 'companies', runId);
    del.productRows = await deleteNotSeenInRun(db, portalId, 'product_rows', runId);
    del.leads = await deleteNotSeenInRun(db, portalId, 'leads', runId);
  } else {
    for (const t of ['deals', 'contacts', 'companies', 'leads'] as const) {
      ctx.checkStopped();
      const r = await reconcileDeletions(db, portalId, client, t, () => ctx.isStopping());
      del[t] = r.deleted;
      if (r.affectedDeals.length) await refreshDealLinks(db, portalId, client, r.affectedDeals);
    }
  }
  await ctx.commit((c) => {
    c.deletions = true;
    c.deleted.contacts += del.contacts;
    c.deleted.companies += del.companies;
    c.deleted.deals += del.deals;
    c.deleted.productRows += del.productRows;
    c.deleted.leads = (c.deleted.leads ?? 0) + del.leads;
  }, async () => {});
}
