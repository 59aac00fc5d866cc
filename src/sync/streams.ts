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
 *               runProductRowStream): works
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
 * Most deals in one crm.item.productrow.list `=ownerId` array. A batch command is a query
 * string that the portal parses like a form (PHP's max_input_vars is 1000 by default): 400
 * IDs stay well below that.
 */
const MAX_OWNERS = 400;
/** Pages a multi-page group aims at (its last page is partial: ~½ page lost per group). */
const GROUP_PAGES = 20;

/**
 * Product rows of WON deals over two methods with separate operating budgets:
 *  - crm.item.productrow.list: won deals are cut into groups (`=ownerId` arrays) paged with a
 *    `>id` keyset (order id ASC, start=-1): every page but a group's last is a full 50 rows.
 *    A big run gets big groups (~GROUP_PAGES pages, ≤ MAX_OWNERS deals: measured ~48 rows a
 *    call); a small one (fewer won deals than ~2 batches of such groups) one-page groups
 *    (~40 rows, no follow-up). Continuation pages and new groups share each 50-call batch.
 *    A new group is started only when the list's budget (the limiter's mirror) still has
 *    room for the pages it and the groups in flight are expected to need, so groups are not
 *    left half-paged when the window's budget runs out.
 *  - crm.deal.productrows.get (one call per deal, 0.02 s: ~5× the list's operating cost per
 *    row, and one request per 50 deals): used only while the list's operating budget is spent
 *    (the limiter's mirror has no room for a list call) and the get's is not, on fresh deals
 *    from the back of the newest block, or (none left) on the deals of list groups still
 *    being paged (keeping only rows with id > the group's cursor). So the list does all it
 *    can in each 10-minute window and the get fills the time the list waits for its window.
 *    A portal whose list budget never runs out makes no get calls at all.
 *
 * Deals are read from the store in blocks of `block` deals (this run's, id ≤ the deals'
 * committed cursor). Work flows across blocks (a new block is loaded while the previous ones'
 * groups are still being paged, so batches stay full); a block is committed — its deals' rows
 * replaced, the product-row cursor moved to its last deal — once all its rows are in, in
 * block order.
 */
interface PrBlock { ids: number[]; won: number[]; last: number; rows: ProductRowInput[]; front: number; back: number; open: number }
interface PrGroup { blk: PrBlock; deals: number[]; afterId: number; rows: number }

export async function runProductRowStream(ctx: RunContext, productSection: ReadonlyMap<number, number | null>, block: number): Promise<void> {
  if (ctx.cp.done.productRows) return;
  const { db, portalId, runId } = ctx;
  const lim = ctx.client.limiter;
  const perDeal0 = ctx.rowsPerWonDeal ?? 2;
  const blocks: PrBlock[] = [];
  let loadedUpto = ctx.cp.prCursor;
  let exhausted = false;
  const active: PrGroup[] = [];
  const getQueue: Array<{ blk: PrBlock; id: number; afterId: number }> = [];
  let doneDeals = 0;
  let doneRows = 0;
  const perDeal = () => (doneDeals >= 200 ? doneRows / doneDeals : perDeal0);
  const groupSize = () => {
    const pd = Math.max(perDeal(), 0.02);
    const onePage = Math.max(1, Math.min(50, Math.floor((PAGE * 0.8) / pd)));
    const multi = Math.max(onePage, Math.min(MAX_OWNERS, Math.floor((GROUP_PAGES * PAGE) / pd)));
    // multi-page groups only when the run has won deals for ≥ 2 batches of them in flight
    const left = (ctx.cp.wonExpected ?? 0) - (ctx.cp.wonDone ?? 0);
    return left >= 2 * PAGE * multi ? multi : onePage;
  };
  const freshCount = () => blocks.reduce((a, b) => a + (b.back - b.front), 0);

  /** Loads the next block of deals; false when there is none yet (or none ever: exhausted). */
  let triedAt = -1; // dealsCommitted version of the last load that found too few deals
  const load = async (): Promise<boolean> => {
    const dealsDone = ctx.cp.done.deals;
    const version = ctx.dealsCommitted.version;
    if (!dealsDone && version === triedAt) return false; // nothing new committed since
    triedAt = -1;
    const upto = dealsDone ? Number.MAX_SAFE_INTEGER : ctx.cp.cursors.deals;
    const { rows: deals } = await db.query<{ id: number; s: string | null }>(
      `SELECT id, stage_semantic AS s FROM deals WHERE portal_id = $1 AND sync_run_id = $2 AND id > $3 AND id <= $4 ORDER BY id LIMIT $5`,
      [portalId, runId, loadedUpto, upto, block],
    );
    if (deals.length === 0 && dealsDone) { exhausted = true; return false; }
    // while the deal export is ahead of us, wait for fuller blocks (fewer, fuller batches)
    if (deals.length < block / 2 && !dealsDone) { triedAt = version; return false; }
    const ids = deals.map((d) => Number(d.id));
    const won = deals.filter((d) => d.s === 'S').map((d) => Number(d.id));
    loadedUpto = ids[ids.length - 1]!;
    blocks.push({ ids, won, last: loadedUpto, rows: [], front: 0, back: won.length, open: 0 });
    return true;
  };

  /** Commits the finished blocks at the head, in order. */
  const commitReady = async () => {
    while (blocks.length > 0 && blocks[0]!.front >= blocks[0]!.back && blocks[0]!.open === 0) {
      const b = blocks.shift()!;
      await ctx.commit(
        (c) => { c.prCursor = b.last; c.counts.productRows += b.rows.length; c.wonDone = (c.wonDone ?? 0) + b.won.length; },
        (tx) => replaceProductRows(tx, portalId, b.ids, b.rows, { syncRunId: runId }),
      );
      if (doneDeals > 0) ctx.rowsPerWonDeal = perDeal();
    }
  };

  const take = (blk: PrBlock, rows: Array<Record<string, unknown>>, afterId = 0) => {
    for (const r of rows) {
      const m = mapProductRow(r, productSection);
      if (m.id > afterId) blk.rows.push(m);
    }
  };

  const t0 = lim.portalNow();
  const trace = process.env.B24_SYNC_TRACE ? (m: string) => console.error(`[pr ${(lim.portalNow() - t0).toFixed(0)}] ${m}`) : null;
  for (;;) {
    ctx.checkStopped();
    await commitReady();
    const G = groupSize();
    // keep enough fresh won deals loaded for a full batch of new groups (and a get batch)
    while (!exhausted && freshCount() < PAGE * G + PAGE && (await load())) { /* loaded */ }
    await commitReady();
    const fresh = freshCount();
    if (fresh === 0 && active.length === 0 && getQueue.length === 0) {
      if (exhausted && blocks.length === 0) break;
      if (exhausted) throw new Error('product rows: blocks left with no work'); // cannot happen
      const seen = ctx.dealsCommitted.version;
      // re-check: the deals cursor may have moved since load() looked
      if (await load()) continue;
      if (exhausted) continue;
      await Promise.race([ctx.dealsCommitted.wait(seen), ctx.stoppedPromise]);
      continue;
    }
    const listWant = Math.min(PAGE, active.length + Math.ceil(fresh / G));
    const listCap = lim.capacity(ROW_LIST);
    let getIds: Array<{ blk: PrBlock; id: number; afterId: number }> = [];
    if (listCap < 1 || listWant === 0) {
      const getCap = lim.capacity(ROW_GET);
      const planGet = (n: number) => {
        const out: typeof getIds = [];
        while (out.length < n && getQueue.length > 0) out.push(getQueue.shift()!);
        for (let i = blocks.length - 1; i >= 0 && out.length < n; i--) {
          const b = blocks[i]!;
          while (out.length < n && b.back > b.front) { b.back--; b.open++; out.push({ blk: b, id: b.won[b.back]!, afterId: 0 }); }
        }
        // nothing fresh: the deals of groups still being paged (their later pages come via get)
        while (out.length < n && active.length > 0) {
          const g = active.pop()!;
          for (const id of g.deals) getQueue.push({ blk: g.blk, id, afterId: g.afterId });
          g.blk.open += g.deals.length - 1; // one pending get per deal instead of the group
          while (out.length < n && getQueue.length > 0) out.push(getQueue.shift()!);
        }
        return out;
      };
      const getWant = Math.min(PAGE, getQueue.length + fresh + active.reduce((a, g) => a + g.deals.length, 0));
      const useGet = getWant > 0 && (getCap >= getWant
        || lim.operatingReadyAt(ROW_GET, getWant) < lim.operatingReadyAt(ROW_LIST, Math.max(1, Math.min(listWant, 5))));
      if (useGet) getIds = planGet(getWant);
    }
    if (getIds.length > 0) {
      trace?.(`get ${getIds.length} listCap=${listCap} getCap=${lim.capacity(ROW_GET)} fresh=${fresh} active=${active.length} blocks=${blocks.length}`);
      const r = await ctx.client.batch(getIds.map((g) => [ROW_GET, { id: g.id }]));
      getIds.forEach((g, k) => {
        const e = r.errors[String(k)];
        if (e) throw e;
        const res = r.results[String(k)];
        take(g.blk, Array.isArray(res) ? (res as Array<Record<string, unknown>>) : [], g.afterId);
        g.blk.open--;
      });
      continue;
    }
    // the list's remaining room; none left: a full batch (the client waits until it fits)
    const n = listCap >= 1 ? Math.min(listWant, listCap) : listWant;
    // start only groups the list's budget can finish in this window (a group left half-paged
    // when the budget runs out waits for the next window, or costs a get per deal): the
    // calls the groups in flight still need come first, new groups get what is left
    const pd = Math.max(perDeal(), 0.02);
    const need = (deals: number, rows: number) => Math.max(1, Math.ceil((deals * pd - rows + PAGE / 2) / PAGE));
    let room = listCap >= 1 ? listCap - active.reduce((a, g) => a + need(g.deals.length, g.rows), 0) : Infinity;
    const work = active.splice(0, n);
    for (const b of blocks) {
      while (work.length < n && b.front < b.back && room >= 1) {
        const fit = Math.max(1, Math.floor((Math.min(room, GROUP_PAGES) * PAGE - PAGE / 2) / pd));
        const end = Math.min(b.back, b.front + Math.min(G, fit));
        room -= need(end - b.front, 0);
        work.push({ blk: b, deals: b.won.slice(b.front, end), afterId: 0, rows: 0 });
        b.open++;
        b.front = end;
      }
    }
    if (work.length === 0) continue;
    trace?.(`list ${work.length} listCap=${listCap} G=${G} fresh=${fresh} active=${active.length} blocks=${blocks.length}`);
    const r = await ctx.client.batch(work.map((w) => [
      ROW_LIST,
      { filter: { '=ownerType': 'D', '=ownerId': w.deals, '>id': w.afterId }, order: { id: 'ASC' }, start: -1 },
    ]));
    const more: PrGroup[] = [];
    work.forEach((w, k) => {
      const e = r.errors[String(k)];
      if (e) throw e;
      const res = r.results[String(k)] as { productRows?: Array<Record<string, unknown>> } | Array<Record<string, unknown>> | undefined;
      const page = (Array.isArray(res) ? res : res?.productRows) ?? [];
      take(w.blk, page);
      w.rows += page.length;
      if (page.length >= PAGE) {
        w.afterId = Math.max(...page.map((p) => Number(p.id)));
        more.push(w);
      } else {
        w.blk.open--;
        doneDeals += w.deals.length;
        doneRows += w.rows;
      }
    });
    // continuations first in the next batch (their block is held in memory until they end)
    active.unshift(...more);
  }
  await ctx.commit((c) => { c.done.productRows = true; }, async () => {});
}
