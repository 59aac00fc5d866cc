/**
 * The 'crm' phase: four streams running concurrently over one B24Client (its limiter shares
 * the request bucket; each method has its own operating budget, so while crm.item.list waits
 * for its 10-minute window the other streams keep the bucket busy):
 *
 *  - contacts   crm.contact.list   keyset export (start=-1, `>ID` chained in batches of 50)
 *  - companies  crm.company.list   same
 *  - deals      crm.item.list (entityTypeId 2): the only list that returns `contactIds`, so
 *               the deal↔contact links come with the deals at no extra call (measured: the
 *               alternative, crm.deal.contact.items.get, is one call per deal).
 *  - productRows  crm.item.productrow.list with `=ownerType: 'D'` and `=ownerId: [...]` (and
 *               crm.deal.productrows.get per deal while the list's budget is spent: see
 *               spreadProductRows): works
 *               through the deals this run stored (sync_run_id = run, id ≤ the deals' committed
 *               cursor) in ID blocks; WON deals (stage semantic S) get their rows fetched, every
 *               deal in the block gets its rows replaced (a deal that left WON loses its rows).
 *
 * Every page batch is committed in ONE transaction together with the checkpoint (cursors per
 * entity, product-row cursor, counts): see Commit in ./index.ts.
 */
import { exportList, type EntityName } from '../b24/export.js';
import {
  replaceDealContacts, replaceProductRows, upsertCompanies, upsertContacts, upsertDeals, type DealContactInput, type DealInput,
  type ProductRowInput,
} from '../store/crm.js';
import {
  COMPANY_SELECT, CONTACT_SELECT, DEAL_SELECT, mapCompany, mapContact, mapDeal, mapProductRow, type ToBase,
} from './map.js';
import type { Checkpoint } from './types.js';
import type { RunContext } from './context.js';

type EntityStream = 'contacts' | 'companies' | 'deals';

const ENTITY: Record<EntityStream, EntityName> = { contacts: 'contact', companies: 'company', deals: 'deal' };

function exportOpts(ctx: RunContext, name: EntityStream) {
  const cp = ctx.cp;
  // a chained batch runs all its pages even past the end of the data: size the batches from
  // the counted total when it is small (incremental runs)
  const exp = cp.expected[name];
  const base = {
    entity: ENTITY[name],
    ...(exp !== undefined ? { batchSize: Math.max(2, Math.min(50, Math.ceil(exp / 50) + 2)) } : {}),
    afterId: cp.cursors[name],
    ...(cp.since !== null ? { modifiedSince: cp.since, overlapSec: cp.overlapSec } : {}),
  };
  if (name === 'deals') return { ...base, api: 'item' as const, select: DEAL_SELECT };
  return { ...base, api: 'legacy' as const, select: name === 'contacts' ? CONTACT_SELECT : COMPANY_SELECT };
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

/** Wake-up with a version: wait(v) resolves at once if notify() happened since version v was read. */
export class Signal {
  version = 0;
  private waiters: Array<() => void> = [];
  notify(): void {
    this.version++;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  wait(seen: number): Promise<void> {
    if (this.version !== seen) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }
}

const ROW_LIST = 'crm.item.productrow.list';
const ROW_GET = 'crm.deal.productrows.get';
const PAGE = 50;

/**
 * Product rows of `won` deals, one batch at a time, over two methods with separate operating
 * budgets:
 *  - crm.item.productrow.list (`=ownerId` lists of `perCall` deals, `>id` keyset continuation
 *    for a call that returned a full page): the cheap one (one call per ~40 rows);
 *  - crm.deal.productrows.get (one call per deal, no paging): used for a batch when the
 *    list's operating budget has no room for a batch right now (the limiter's mirror says the
 *    batch would wait) and the get's has: the rows come while the list's window slides instead
 *    of after it; and, while the list's current budget is short of the run's remaining won
 *    deals, whenever the get's budget has room for more deals than the list's (so the two
 *    budgets drain together and both windows restart early). A portal whose list budget
 *    never runs short makes no get calls at all.
 */
async function* spreadProductRows(ctx: RunContext, won: readonly number[], perCall: number): AsyncGenerator<Array<Record<string, unknown>>> {
  const lim = ctx.client.limiter;
  let front = 0;
  let back = won.length;
  const cont: Array<{ deals: number[]; afterId: number }> = [];
  let seenDeals = 0;
  let seenRows = 0;
  while (front < back || cont.length > 0) {
    ctx.checkStopped();
    const remainingCalls = cont.length + Math.ceil((back - front) / perCall);
    const listWant = Math.min(PAGE, remainingCalls);
    const getWant = Math.min(PAGE, back - front);
    const listCap = lim.capacity(ROW_LIST);
    const getCap = cont.length === 0 && getWant > 0 ? lim.capacity(ROW_GET) : 0;
    // won deals still to fetch in this whole run (this block's unfetched + later blocks')
    const runLeft = Math.max(back - front, (ctx.cp.wonExpected ?? 0) - (ctx.cp.wonDone ?? 0) - (won.length - (back - front)));
    // the list's budget cannot finish the run's rows right now: the get's budget takes a
    // share, so both drain together (a get costs a request per 50 deals, a list call ~1 per
    // 50·perCall deals: when the list alone suffices, no get is made)
    const short = listCap * perCall < runLeft;
    const useGet = getCap >= getWant && getWant > 0 && (listCap < listWant || (short && getCap > listCap * perCall));
    if (useGet) {
      // from the back: the list keeps taking contiguous deals from the front
      const ids = won.slice(back - getWant, back);
      back -= getWant;
      const r = await ctx.client.batch(ids.map((id) => [ROW_GET, { id }]));
      const rows: Array<Record<string, unknown>> = [];
      ids.forEach((_, k) => {
        const e = r.errors[String(k)];
        if (e) throw e;
        const res = r.results[String(k)];
        if (Array.isArray(res)) rows.push(...(res as Array<Record<string, unknown>>));
      });
      yield rows;
      continue;
    }
    const work = cont.splice(0, PAGE);
    while (work.length < PAGE && front < back) {
      const end = Math.min(back, front + perCall);
      work.push({ deals: won.slice(front, end), afterId: 0 });
      front = end;
    }
    const r = await ctx.client.batch(work.map((w) => [
      ROW_LIST,
      { filter: { '=ownerType': 'D', '=ownerId': w.deals, '>id': w.afterId }, order: { id: 'ASC' }, start: -1 },
    ]));
    const rows: Array<Record<string, unknown>> = [];
    work.forEach((w, k) => {
      const e = r.errors[String(k)];
      if (e) throw e;
      const res = r.results[String(k)] as { productRows?: Array<Record<string, unknown>> } | Array<Record<string, unknown>> | undefined;
      const page = (Array.isArray(res) ? res : res?.productRows) ?? [];
      rows.push(...page);
      if (w.afterId === 0) seenDeals += w.deals.length;
      seenRows += page.length;
      if (page.length >= PAGE) cont.push({ deals: w.deals, afterId: Math.max(...page.map((p) => Number(p.id))) });
    });
    if (seenDeals > 0) perCall = Math.max(1, Math.min(50, Math.floor((PAGE * 0.8) / Math.max(seenRows / seenDeals, 0.01))));
    yield rows;
  }
}

export async function runProductRowStream(ctx: RunContext, productSection: ReadonlyMap<number, number | null>, block: number): Promise<void> {
  if (ctx.cp.done.productRows) return;
  const { db, portalId, runId } = ctx;
  let perDeal = ctx.rowsPerWonDeal ?? 2;
  for (;;) {
    ctx.checkStopped();
    const seen = ctx.dealsCommitted.version;
    const cp: Checkpoint = ctx.cp;
    const dealsDone = cp.done.deals;
    const upto = dealsDone ? Number.MAX_SAFE_INTEGER : cp.cursors.deals;
    const { rows: deals } = await db.query<{ id: number; s: string | null }>(
      `SELECT id, stage_semantic AS s FROM deals WHERE portal_id = $1 AND sync_run_id = $2 AND id > $3 AND id <= $4 ORDER BY id LIMIT $5`,
      [portalId, runId, cp.prCursor, upto, block],
    );
    if (deals.length === 0 && dealsDone) break;
    // while the deal export is ahead of us, wait for fuller blocks (fewer, fuller batches)
    if (deals.length < block / 2 && !dealsDone) {
      await Promise.race([ctx.dealsCommitted.wait(seen), ctx.stoppedPromise]);
      continue;
    }
    const won = deals.filter((d) => d.s === 'S').map((d) => Number(d.id));
    const rows: ProductRowInput[] = [];
    if (won.length) {
      const perCall = Math.max(1, Math.min(50, Math.floor(40 / Math.max(perDeal, 0.05))));
      for await (const page of spreadProductRows(ctx, won, perCall)) {
        ctx.checkStopped();
        for (const r of page) rows.push(mapProductRow(r, productSection));
      }
      perDeal = rows.length / won.length || perDeal;
      ctx.rowsPerWonDeal = perDeal;
    }
    const ids = deals.map((d) => Number(d.id));
    const last = ids[ids.length - 1]!;
    await ctx.commit(
      (c) => { c.prCursor = last; c.counts.productRows += rows.length; c.wonDone = (c.wonDone ?? 0) + won.length; },
      (tx) => replaceProductRows(tx, portalId, ids, rows, { syncRunId: runId }),
    );
  }
  await ctx.commit((c) => { c.done.productRows = true; }, async () => {});
}
