/**
 * The 'crm' phase: five streams running concurrently over one B24Client (its limiter shares
 * the request bucket; each method has its own operating budget, so while crm.item.list waits
 * for its 10-minute window the other streams keep the bucket busy):
 *
 *  - contacts   crm.contact.list   keyset export (start=-1, `>ID` chained in batches of 50)
 *  - companies  crm.company.list   same
 *  - leads      crm.lead.list      same (status and its semantic, source, the contact / company it
 *               was converted into, dates: src/store/crm-fields.ts LEADS)
 *  - deals      crm.item.list (entityTypeId 2): the only list that returns `contactIds`, so
 *               the deal↔contact links come with the deals at no extra call (measured: the
 *               alternative, crm.deal.contact.items.get, is one call per deal).
 *  - productRows  crm.item.productrow.list with `=ownerType: 'D'` and `=ownerId: [...]` (and
 *               crm.deal.productrows.get per deal while the list's budget is spent: see
 *               ./product-rows.ts): works
 *               through the deals this run stored (sync_run_id = run, id ≤ the deals' committed
 *               cursor) in ID blocks; WON deals (stage semantic S) get their rows fetched, every
 *               deal in the block gets its rows replaced (a deal that left WON loses its rows).
 *
 * Every page batch is committed in ONE transaction together with the checkpoint (cursors per
 * entity, product-row cursor, counts): see ./commit.ts.
 */
import { exportList, type EntityName } from '../b24/export.js';
import {
  replaceDealContacts, upsertCompanies, upsertContacts, upsertDeals, upsertLeads, type DealContactInput, type DealInput,
} from '../store/crm.js';
import {
  COMPANY_SELECT, CONTACT_SELECT, DEAL_SELECT, LEAD_SELECT, mapCompany, mapContact, mapDeal, mapLead, type ToBase,
} from './map.js';
import type { RunContext } from './context.js';
import { runProductRowStream } from './product-rows.js';
import type { Checkpoint } from './types.js';

type EntityStream = 'contacts' | 'companies' | 'deals' | 'leads';

const ENTITY: Record<EntityStream, EntityName> = { contacts: 'contact', companies: 'company', deals: 'deal', leads: 'lead' };
const SELECT: Record<Exclude<EntityStream, 'deals'>, string[]> = { contacts: CONTACT_SELECT, companies: COMPANY_SELECT, leads: LEAD_SELECT };

function exportOpts(ctx: RunContext, name: EntityStream) {
  const cp = ctx.cp;
  // a chained batch runs all its pages even past the end of the data: size the batches from
  // the counted total when it is small (incremental runs)
  const exp = cp.expected[name];
  const base = {
    entity: ENTITY[name],
    ...(exp !== undefined ? { batchSize: Math.max(2, Math.min(50, Math.ceil(exp / 50) + 2)) } : {}),
    afterId: cp.cursors[name] ?? 0,
    ...(cp.since !== null ? { modifiedSince: cp.since, overlapSec: cp.overlapSec } : {}),
  };
  if (name === 'deals') return { ...base, api: 'item' as const, select: DEAL_SELECT };
  return { ...base, api: 'legacy' as const, select: SELECT[name] };
}

export async function runEntityStream(ctx: RunContext, name: EntityStream, toBase: ToBase): Promise<void> {
  if (ctx.cp.done[name]) return;
  const { portalId } = ctx;
  if (ctx.cp.expected[name] === 0 && ctx.cp.kind === 'incremental') {
    // nothing modified since the watermark (rows changed after the count are newer than this
    // run's watermark and are picked up next time)
    await ctx.commit((cp) => { cp.done[name] = true; }, async () => {});
    if (name === 'deals') ctx.dealsCommitted.notify();
    return;
  }
  for await (const page of readAhead(exportList(ctx.client, exportOpts(ctx, name)))) {
    ctx.checkStopped();
    const n = page.rows.length;
    if (name === 'deals') {
      const deals: DealInput[] = [];
      const links: DealContactInput[] = [];
      for (const r of page.rows) {
        const m = mapDeal(r, toBase);
        deals.push(m.deal);
        links.push(...m.links);
      }
      await ctx.commit(
        (cp) => { cp.cursors.deals = page.cursor; cp.counts.deals += n; cp.counts.dealContacts += links.length; },
        async (tx) => {
          await upsertDeals(tx, portalId, deals, { syncRunId: ctx.runId });
          await replaceDealContacts(tx, portalId, deals.map((d) => d.id), links);
        },
      );
      ctx.dealsCommitted.notify();
    } else if (name === 'contacts') {
      const rows = page.rows.map(mapContact);
      await ctx.commit(
        (cp) => { cp.cursors.contacts = page.cursor; cp.counts.contacts += n; },
        (tx) => upsertContacts(tx, portalId, rows, { syncRunId: ctx.runId }).then(() => {}),
      );
    } else if (name === 'leads') {
      const rows = page.rows.map(mapLead);
      await ctx.commit(
        (cp) => { cp.cursors.leads = page.cursor; cp.counts.leads = (cp.counts.leads ?? 0) + n; },
        (tx) => upsertLeads(tx, portalId, rows, { syncRunId: ctx.runId }).then(() => {}),
      );
    } else {
      const rows = page.rows.map(mapCompany);
      await ctx.commit(
        (cp) => { cp.cursors.companies = page.cursor; cp.counts.companies += n; },
        (tx) => upsertCompanies(tx, portalId, rows, { syncRunId: ctx.runId }).then(() => {}),
      );
    }
  }
  await ctx.commit((cp) => { cp.done[name] = true; }, async () => {});
  if (name === 'deals') ctx.dealsCommitted.notify();
}

/** Fetches the next page while the current one is being written (REST and DB overlap). */
export async function* readAhead<T>(gen: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = gen.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = gen.next();
      yield r.value;
    }
  } finally {
    // a stop mid-run: let the pending fetch settle quietly, then close the generator
    await next.catch(() => undefined);
    await gen.return(undefined).catch(() => undefined);
  }
}

/**
 * Phase 2 of a run: the five streams, concurrently. A failing stream stops the run; after a
 * stop the others get a moment to reach a page boundary (their commits are then refused).
 */
export async function crmPhase(ctx: RunContext, toBase: ToBase, productSection: ReadonlyMap<number, number | null>, productRowBlock: number): Promise<void> {
  const progress = ctx.progress;
  progress.startCrm();
  const streams: Array<[keyof Checkpoint['done'], () => Promise<void>]> = [
    ['deals', () => runEntityStream(ctx, 'deals', toBase)],
    ['productRows', () => runProductRowStream(ctx, productSection, productRowBlock)],
    ['contacts', () => runEntityStream(ctx, 'contacts', toBase)],
    ['companies', () => runEntityStream(ctx, 'companies', toBase)],
    ['leads', () => runEntityStream(ctx, 'leads', toBase)],
  ];
  progress.active = streams.filter(([n]) => !ctx.cp.done[n]).map(([n]) => n);
  const running = streams.map(([name, fn]) =>
    fn().then(
      () => { progress.active = progress.active.filter((a) => a !== name); },
      (e) => { ctx.stop(e); throw e; },
    ),
  );
  const all = Promise.allSettled(running);
  // after a stop, give the other streams a moment to reach a page boundary, then move on
  await Promise.race([all, ctx.stoppedPromise.then(() => new Promise((r) => setTimeout(r, 1000).unref()))]);
  ctx.checkStopped();
  progress.active = [];
}
