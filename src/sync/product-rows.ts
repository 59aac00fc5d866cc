/**
 * The product-row stream of the 'crm' phase: product rows of WON deals over two methods with
 * separate operating budgets:
 *  - crm.item.productrow.list: won deals are cut into groups (`=ownerId` arrays) paged with a
 *    `>id` keyset (order id ASC, start=-1): every page but a group's last is a full 50 rows.
 *    A big run gets big groups (~GROUP_PAGES pages, ≤ MAX_OWNERS deals: measured ~48 rows a
 *    call); a small one (fewer won deals than ~2 batches of such groups) one-page groups
 *    (~40 rows, no follow-up). Continuation pages and new groups share each 50-call batch.
 *    A new group is started only when the list's budget (the limiter's mirror) still has
 *    room for the pages it and the groups in flight are expected to need, so groups are not
 *    left half-paged when the window's budget runs out.
 *  - crm.deal.productrows.get (one call per deal, ≈ 0.1 s in the docs' examples: far more
 *    operating time per row than the list, and one request per 50 deals): used only while the list's operating budget is spent
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
 * block order. B24_SYNC_TRACE=1 logs every batch to stderr.
 */
import type { B24Client } from '../b24/client.js';
import { replaceProductRows, type ProductRowInput } from '../store/crm.js';
import type { RunContext } from './context.js';
import { mapProductRow } from './map.js';

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

type Row = Record<string, unknown>;

/** A block of this run's deals: `won[front, back)` not started yet; `open` groups/gets in flight. */
interface PrBlock { ids: number[]; won: number[]; last: number; rows: ProductRowInput[]; front: number; back: number; open: number }
/** A list group: deals paged together, after row id `afterId`. */
interface PrGroup { blk: PrBlock; deals: number[]; afterId: number; rows: number }
/** One deal's rows through crm.deal.productrows.get (rows with id > afterId). */
interface PrGet { blk: PrBlock; id: number; afterId: number }

export async function runProductRowStream(ctx: RunContext, productSection: ReadonlyMap<number, number | null>, block: number): Promise<void> {
  if (ctx.cp.done.productRows) return;
  await new ProductRowStream(ctx, productSection, block).run();
}

class ProductRowStream {
  private readonly blocks: PrBlock[] = [];
  /** Last deal id loaded into a block. */
  private loadedUpto: number;
  /** No deal of this run is left to load. */
  private exhausted = false;
  /** List groups being paged (continuations first). */
  private readonly active: PrGroup[] = [];
  private readonly getQueue: PrGet[] = [];
  private doneDeals = 0;
  private doneRows = 0;
  /** dealsCommitted version of the last load that found too few deals. */
  private triedAt = -1;
  private readonly perDeal0: number;
  private readonly lim: B24Client['limiter'];
  private readonly trace: ((m: string) => void) | null;

  constructor(
    private readonly ctx: RunContext,
    private readonly productSection: ReadonlyMap<number, number | null>,
    private readonly block: number,
  ) {
    this.loadedUpto = ctx.cp.prCursor;
    this.perDeal0 = ctx.rowsPerWonDeal ?? 2;
    const lim = (this.lim = ctx.client.limiter);
    const t0 = lim.portalNow();
    this.trace = process.env.B24_SYNC_TRACE ? (m: string) => console.error(`[pr ${(lim.portalNow() - t0).toFixed(0)}] ${m}`) : null;
  }

  async run(): Promise<void> {
    const { ctx, lim } = this;
    for (;;) {
      ctx.checkStopped();
      await this.commitReady();
      const G = this.groupSize();
      // keep enough fresh won deals loaded for a full batch of new groups (and a get batch)
      while (!this.exhausted && this.freshCount() < PAGE * G + PAGE && (await this.load())) { /* loaded */ }
      await this.commitReady();
      const fresh = this.freshCount();
      if (fresh === 0 && this.active.length === 0 && this.getQueue.length === 0) {
        if (this.exhausted && this.blocks.length === 0) break;
        await this.waitForDeals();
        continue;
      }
      const listWant = Math.min(PAGE, this.active.length + Math.ceil(fresh / G));
      const listCap = lim.capacity(ROW_LIST);
      const gets = listCap < 1 || listWant === 0 ? this.planGets(fresh, listWant) : [];
      if (gets.length > 0) {
        this.trace?.(`get ${gets.length} listCap=${listCap} getCap=${lim.capacity(ROW_GET)} fresh=${fresh} active=${this.active.length} blocks=${this.blocks.length}`);
        await this.fetchByGet(gets);
        continue;
      }
      const work = this.planGroups(listWant, listCap, G);
      if (work.length === 0) continue;
      this.trace?.(`list ${work.length} listCap=${listCap} G=${G} fresh=${fresh} active=${this.active.length} blocks=${this.blocks.length}`);
      await this.fetchByList(work);
    }
    await ctx.commit((c) => { c.done.productRows = true; }, async () => {});
  }

  private perDeal(): number {
    return this.doneDeals >= 200 ? this.doneRows / this.doneDeals : this.perDeal0;
  }

  /** Deals per list group. */
  private groupSize(): number {
    const pd = Math.max(this.perDeal(), 0.02);
    const onePage = Math.max(1, Math.min(50, Math.floor((PAGE * 0.8) / pd)));
    const multi = Math.max(onePage, Math.min(MAX_OWNERS, Math.floor((GROUP_PAGES * PAGE) / pd)));
    // multi-page groups only when the run has won deals for ≥ 2 batches of them in flight
    const left = (this.ctx.cp.wonExpected ?? 0) - (this.ctx.cp.wonDone ?? 0);
    return left >= 2 * PAGE * multi ? multi : onePage;
  }

  /** Won deals loaded but not started. */
  private freshCount(): number {
    return this.blocks.reduce((a, b) => a + (b.back - b.front), 0);
  }

  /** Loads the next block of deals; false when there is none yet (or none ever: exhausted). */
  private async load(): Promise<boolean> {
    const { ctx } = this;
    const dealsDone = ctx.cp.done.deals;
    const version = ctx.dealsCommitted.version;
    if (!dealsDone && version === this.triedAt) return false; // nothing new committed since
    this.triedAt = -1;
    const upto = dealsDone ? Number.MAX_SAFE_INTEGER : ctx.cp.cursors.deals;
    const { rows: deals } = await ctx.db.query<{ id: number; s: string | null }>(
      `SELECT id, stage_semantic AS s FROM deals WHERE portal_id = $1 AND sync_run_id = $2 AND id > $3 AND id <= $4 ORDER BY id LIMIT $5`,
      [ctx.portalId, ctx.runId, this.loadedUpto, upto, this.block],
    );
    if (deals.length === 0 && dealsDone) { this.exhausted = true; return false; }
    // while the deal export is ahead of us, wait for fuller blocks (fewer, fuller batches)
    if (deals.length < this.block / 2 && !dealsDone) { this.triedAt = version; return false; }
    const ids = deals.map((d) => Number(d.id));
    const won = deals.filter((d) => d.s === 'S').map((d) => Number(d.id));
    this.loadedUpto = ids[ids.length - 1]!;
    this.blocks.push({ ids, won, last: this.loadedUpto, rows: [], front: 0, back: won.length, open: 0 });
    return true;
  }

  /** Nothing to fetch: load a block if the deals cursor moved, else wait for the next deals commit (or a stop). */
  private async waitForDeals(): Promise<void> {
    if (this.exhausted) throw new Error('product rows: blocks left with no work'); // cannot happen
    const seen = this.ctx.dealsCommitted.version;
    // re-check: the deals cursor may have moved since load() looked
    if (await this.load()) return;
    if (this.exhausted) return;
    await Promise.race([this.ctx.dealsCommitted.wait(seen), this.ctx.stoppedPromise]);
  }

  /** Commits the finished blocks at the head, in order. */
  private async commitReady(): Promise<void> {
    const { ctx, blocks } = this;
    while (blocks.length > 0 && blocks[0]!.front >= blocks[0]!.back && blocks[0]!.open === 0) {
      const b = blocks.shift()!;
      await ctx.commit(
        (c) => { c.prCursor = b.last; c.counts.productRows += b.rows.length; c.wonDone = (c.wonDone ?? 0) + b.won.length; },
        (tx) => replaceProductRows(tx, ctx.portalId, b.ids, b.rows, { syncRunId: ctx.runId }),
      );
      if (this.doneDeals > 0) ctx.rowsPerWonDeal = this.perDeal();
    }
  }

  private take(blk: PrBlock, rows: Row[], afterId = 0): void {
    for (const r of rows) {
      const m = mapProductRow(r, this.productSection);
      if (m.id > afterId) blk.rows.push(m);
    }
  }

  /** The gets of the next batch when the list's budget is spent (and the get's is not): [] = use the list. */
  private planGets(fresh: number, listWant: number): PrGet[] {
    const { lim, active } = this;
    const getCap = lim.capacity(ROW_GET);
    const getWant = Math.min(PAGE, this.getQueue.length + fresh + active.reduce((a, g) => a + g.deals.length, 0));
    const useGet = getWant > 0 && (getCap >= getWant
      || lim.operatingReadyAt(ROW_GET, getWant) < lim.operatingReadyAt(ROW_LIST, Math.max(1, Math.min(listWant, 5))));
    return useGet ? this.takeGets(getWant) : [];
  }

  /** n gets: queued ones, fresh deals from the back of the newest blocks, then the deals of groups in flight. */
  private takeGets(n: number): PrGet[] {
    const { blocks, active, getQueue } = this;
    const out: PrGet[] = [];
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
  }

  private async fetchByGet(gets: PrGet[]): Promise<void> {
    const r = await this.ctx.client.batch(gets.map((g) => [ROW_GET, { id: g.id }]));
    gets.forEach((g, k) => {
      const e = r.errors[String(k)];
      if (e) throw e;
      const res = r.results[String(k)];
      this.take(g.blk, Array.isArray(res) ? (res as Row[]) : [], g.afterId);
      g.blk.open--;
    });
  }

  /**
   * The list groups of the next batch: continuations first, then new groups — only those the
   * list's budget can finish in this window (a group left half-paged when the budget runs out
   * waits for the next window, or costs a get per deal): the calls the groups in flight still
   * need come first, new groups get what is left.
   */
  private planGroups(listWant: number, listCap: number, G: number): PrGroup[] {
    // the list's remaining room; none left: a full batch (the client waits until it fits)
    const n = listCap >= 1 ? Math.min(listWant, listCap) : listWant;
    const pd = Math.max(this.perDeal(), 0.02);
    const need = (deals: number, rows: number) => Math.max(1, Math.ceil((deals * pd - rows + PAGE / 2) / PAGE));
    let room = listCap >= 1 ? listCap - this.active.reduce((a, g) => a + need(g.deals.length, g.rows), 0) : Infinity;
    const work = this.active.splice(0, n);
    for (const b of this.blocks) {
      while (work.length < n && b.front < b.back && room >= 1) {
        const fit = Math.max(1, Math.floor((Math.min(room, GROUP_PAGES) * PAGE - PAGE / 2) / pd));
        const end = Math.min(b.back, b.front + Math.min(G, fit));
        room -= need(end - b.front, 0);
        work.push({ blk: b, deals: b.won.slice(b.front, end), afterId: 0, rows: 0 });
        b.open++;
        b.front = end;
      }
    }
    return work;
  }

  private async fetchByList(work: PrGroup[]): Promise<void> {
    const r = await this.ctx.client.batch(work.map((w) => [
      ROW_LIST,
      { filter: { '=ownerType': 'D', '=ownerId': w.deals, '>id': w.afterId }, order: { id: 'ASC' }, start: -1 },
    ]));
    const more: PrGroup[] = [];
    work.forEach((w, k) => {
      const e = r.errors[String(k)];
      if (e) throw e;
      const res = r.results[String(k)] as { productRows?: Row[] } | Row[] | undefined;
      const page = (Array.isArray(res) ? res : res?.productRows) ?? [];
      this.take(w.blk, page);
      w.rows += page.length;
      if (page.length >= PAGE) {
        w.afterId = Math.max(...page.map((p) => Number(p.id)));
        more.push(w);
      } else {
        w.blk.open--;
        this.doneDeals += w.deals.length;
        this.doneRows += w.rows;
      }
    });
    // continuations first in the next batch (their block is held in memory until they end)
    this.active.unshift(...more);
  }
}
