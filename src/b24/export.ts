/**
 * List export by ID keyset with `start=-1` (no COUNT, https://apidocs.bitrix24.com/settings/how-to-call-rest-api/list-methods-pecularities.html), in batches of ≤50 calls
 * (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html). Two strategies:
 *
 *  - "chain": one batch = 50 pages linked by `$result` references: page k+1 filters
 *    `>ID = $result[p<k>][49][ID]` (legacy) / `$result[p<k>][items][49][id]` (crm.item). A page
 *    with < 50 rows is the end of the data (the filter is `>ID` on an ID-ordered keyset); the
 *    commands after it reference a row that does not exist, so their results are discarded.
 *  - "ranges": learn the max ID (one call, order ID DESC), then send independent
 *    `>=ID lo, <ID hi` calls, 50 per batch, widths adapted to the observed ID density
 *    (see ranges.ts); a wide range that returns 50 rows has its remainder re-queued; the last
 *    batch also asks for `>ID maxId` so rows created during the export are not lost.
 *
 * Both yield pages (one per batch, rows sorted by ID, memory bounded) with a `cursor`: every
 * row with ID ≤ cursor has been yielded. Store it as the checkpoint; resuming with
 * `afterId: cursor` may re-deliver some rows (at-least-once; upsert by ID).
 *
 * `api: 'spread'` alternates between crm.<entity>.list and crm.item.list (separate operating
 * budgets) by the limiter's remaining capacity; rows always come out in the legacy shape.
 */
import type { B24Client, BatchResult } from './client.js';
import type { BatchCommand, Params } from './batch-encoding.js';
import { MAX_BATCH, resultRef } from './batch-encoding.js';
import { B24Error } from './errors.js';
import { itemRowToLegacy, legacyFieldToItem, legacyFilterToItem } from './fields.js';
import { type IdRange, PAGE, nextWidth, planRanges, splitRemainder } from './ranges.js';

export type Row = Record<string, unknown>;
export type EntityName = 'contact' | 'company' | 'deal' | 'lead';
export type Flavor = 'legacy' | 'item';

const ENTITIES: Record<EntityName, { legacy: string; entityTypeId: number }> = {
  contact: { legacy: 'crm.contact.list', entityTypeId: 3 },
  company: { legacy: 'crm.company.list', entityTypeId: 4 },
  deal: { legacy: 'crm.deal.list', entityTypeId: 2 },
  lead: { legacy: 'crm.lead.list', entityTypeId: 1 },
};

export interface ExportOptions {
  entity: EntityName;
  /** Default: the measured winner (docs/rest-client.md, "Export"): 'chain'. */
  strategy?: 'chain' | 'ranges';
  /** 'legacy' (default), 'item' (crm.item.list), or 'spread' over both. */
  api?: Flavor | 'spread';
  /** Legacy field names (mapped for crm.item). Default ['*', 'UF_*'] (legacy) / ['*'] (item). */
  select?: string[];
  /** Extra filter in legacy names, e.g. {'=CATEGORY_ID': 0}. Must not constrain ID. */
  filter?: Record<string, unknown>;
  /** Resume: export rows with ID > afterId (the last checkpoint). */
  afterId?: number;
  /** Incremental: only rows modified after this instant (epoch ms, Date or ISO), minus `overlapSec`. */
  modifiedSince?: number | Date | string;
  /** Safety overlap for incremental exports, seconds (default 300): clock skew, same-second edits. */
  overlapSec?: number;
  /** Calls per batch (default and max 50). */
  batchSize?: number;
}

export interface ExportPage {
  rows: Row[];
  /** Every row with ID ≤ cursor has been delivered (this page or earlier). */
  cursor: number;
  /** Portal time (epoch ms) when the export started: the next incremental `modifiedSince`. */
  startedAt: number;
  /** Calls made for this page per method. */
  calls: Record<string, number>;
}

interface Src {
  flavor: Flavor;
  method: string;
}

function sources(entity: EntityName, api: ExportOptions['api']): Src[] {
  const e = ENTITIES[entity];
  const legacy: Src = { flavor: 'legacy', method: e.legacy };
  const item: Src = { flavor: 'item', method: 'crm.item.list' };
  if (api === 'item') return [item];
  if (api === 'spread') return [legacy, item];
  return [legacy];
}

function toIso(v: number | Date | string): string {
  const d = v instanceof Date ? v : new Date(v);
  return d.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** Builds list params for one source: legacy names in, flavor-specific params out. */
function listParams(o: ExportOptions, src: Src, idFilter: Record<string, unknown>, desc = false): Params {
  const filter: Record<string, unknown> = { ...(o.filter ?? {}) };
  if (o.modifiedSince !== undefined) {
    const since = new Date(o.modifiedSince instanceof Date ? o.modifiedSince.getTime() : typeof o.modifiedSince === 'string' ? Date.parse(o.modifiedSince) : o.modifiedSince);
    filter['>DATE_MODIFY'] = toIso(since.getTime() - (o.overlapSec ?? 300) * 1000);
  }
  Object.assign(filter, idFilter);
  const dir = desc ? 'DESC' : 'ASC';
  if (src.flavor === 'legacy') {
    return { order: { ID: dir }, filter, select: o.select ?? ['*', 'UF_*'], start: -1 };
  }
  const select = o.select ? [...new Set(['id', ...o.select.map(legacyFieldToItem)])] : ['*'];
  return {
    entityTypeId: ENTITIES[o.entity].entityTypeId,
    order: { id: dir },
    filter: legacyFilterToItem(filter),
    select,
    useOriginalUfNames: 'Y',
    start: -1,
  };
}

function rowsOf(src: Src, result: unknown): Row[] {
  if (src.flavor === 'legacy') return Array.isArray(result) ? (result as Row[]) : [];
  const items = (result as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as Row[]).map(itemRowToLegacy) : [];
}

function idOf(r: Row): number {
  return Number(r.ID);
}

/** Picks the source with the most operating capacity left (ties → first). */
function pickSource(client: B24Client, srcs: Src[], planned: Map<string, number>): Src {
  let best = srcs[0]!;
  let bestCap = -Infinity;
  for (const s of srcs) {
    const cap = client.limiter.capacity(s.method) - (planned.get(s.method) ?? 0);
    if (cap > bestCap) { best = s; bestCap = cap; }
  }
  return best;
}

function throwFirst(r: BatchResult, keys: string[]): void {
  for (const k of keys) {
    const e = r.errors[k];
    if (e) throw e;
  }
}

/** Exports a CRM list as pages. */
export async function* exportList(client: B24Client, o: ExportOptions): AsyncGenerator<ExportPage> {
  const strategy = o.strategy ?? 'chain';
  if (strategy === 'ranges') yield* exportRanges(client, o);
  else yield* exportChain(client, o);
}

/** Calls of `method` the next request may carry (≥ 1), waiting while the limiter plans none. */
async function plannedCalls(client: B24Client, method: string, wanted: number): Promise<number> {
  for (;;) {
    const k = client.limiter.planCalls(method, wanted);
    if (k > 0) return k;
    await client.limiter.acquireOperating({ [method]: 1 });
  }
}

async function* exportChain(client: B24Client, o: ExportOptions): AsyncGenerator<ExportPage> {
  const srcs = sources(o.entity, o.api);
  const size = Math.min(o.batchSize ?? MAX_BATCH, MAX_BATCH);
  const startedAt = Math.round(client.limiter.portalNow() * 1000);
  let cursor = o.afterId ?? 0;
  // The first batch also asks for the max ID (an independent command, order ID DESC); later
  // batches send only as many chained pages as the remaining IDs can fill (density-scaled,
  // +1 spare), so the batch after the data ends does not burn up to 49 dangling calls.
  let maxId: number | null = null;
  let lastRows = 0;
  let lastSpan = 0;
  let lastBounded = false;
  let blocked = 0;
  for (;;) {
    const src = pickSource(client, srcs, new Map());
    const cmds: Record<string, BatchCommand> = {};
    const keys: string[] = [];
    let pages = size;
    // never plan more calls than the method's budget has room for; with no room, as many pages as
    // one request carries free under the 0.1 s floor (Limiter.planCalls)
    const room = await plannedCalls(client, src.method, size);
    if (maxId === null) {
      cmds.max = [src.method, { ...listParams(o, src, {}, true), select: src.flavor === 'legacy' ? ['ID'] : ['id'] }];
      pages = Math.min(size, room) - 1;
    } else if (!lastBounded) {
      // density of the last batch (data can cluster, e.g. recent edits), 1.5× spare + 1 page;
      // a bounded batch that did not reach the end is followed by a full one
      const density = lastSpan > 0 ? Math.min(1, lastRows / lastSpan) : 1;
      const expected = Math.ceil((Math.max(0, maxId - cursor) * density * 1.5) / PAGE);
      pages = Math.max(1, Math.min(size, expected + 1));
    }
    pages = Math.max(1, Math.min(pages, room));
    lastBounded = pages < size && maxId !== null;
    for (let k = 0; k < pages; k++) {
      const key = `p${k}`;
      const prev = `p${k - 1}`;
      const idRef = k === 0 ? cursor : src.flavor === 'legacy' ? resultRef(prev, PAGE - 1, 'ID') : resultRef(prev, 'items', PAGE - 1, 'id');
      cmds[key] = [src.method, listParams(o, src, { '>ID': idRef })];
      keys.push(key);
    }
    const r = await client.batch(cmds);
    if ('max' in cmds) {
      const e = r.errors.max;
      if (e && !e.isOperatingLimit) throw e;
      if (!e) {
        const top = rowsOf(src, r.results.max);
        maxId = top.length ? idOf(top[0]!) : 0;
      }
    }
    const rows: Row[] = [];
    let end = false;
    let used = 0;
    let stalled = false;
    for (const key of keys) {
      used++;
      const e = r.errors[key];
      if (e) {
        // 429 inside the chain: keep what came before it, the limiter now blocks the
        // method until its budget frees, and the next batch resumes from the cursor.
        if (e.isOperatingLimit && blocked < 5) { stalled = true; break; }
        throw e;
      }
      const page = rowsOf(src, r.results[key]);
      rows.push(...page);
      if (page.length < PAGE) { end = true; break; }
    }
    blocked = stalled && rows.length === 0 ? blocked + 1 : 0;
    if (stalled) lastBounded = true; // next batch: full size
    rows.sort((a, b) => idOf(a) - idOf(b));
    const last = rows.at(-1);
    const before = cursor;
    if (last) cursor = Math.max(cursor, idOf(last));
    lastRows = rows.length;
    lastSpan = cursor - before;
    yield { rows, cursor, startedAt, calls: { [src.method]: used + ('max' in cmds ? 1 : 0) } };
    if (end) return;
  }
}

/** Where a "ranges" export stands between batches. */
interface RangesState {
  srcs: Src[];
  /** calls per batch */
  size: number;
  startedAt: number;
  cursor: number;
  maxId: number;
  /** width of the next fresh ranges (adapted to the observed ID density) */
  width: number;
  /** first ID not yet planned */
  next: number;
  /** remainders of wide ranges, in ID order */
  queue: IdRange[];
  /** the `>ID maxId` tail call was made */
  tailDone: boolean;
}

/** One batch of a "ranges" export: its ID ranges and which source each command goes to. */
interface RangesBatch {
  plan: IdRange[];
  cmds: Record<string, BatchCommand>;
  keys: string[];
  planned: Map<string, number>;
  via: Map<string, Src>;
}

async function* exportRanges(client: B24Client, o: ExportOptions): AsyncGenerator<ExportPage> {
  const s = await startRanges(client, o);
  for (;;) {
    const b = await planRangesBatch(client, o, s);
    if (b.keys.length === 0) return;
    const r = await client.batch(b.cmds);
    throwFirst(r, b.keys);
    const { rows, tailMore } = readRangesBatch(s, b, r);
    yield { rows, cursor: s.cursor, startedAt: s.startedAt, calls: Object.fromEntries(b.planned) };
    if (tailMore) {
      // rows appeared above maxId during the export: finish with the chain from there
      yield* exportChain(client, { ...o, afterId: s.cursor });
      return;
    }
    if (s.tailDone && s.queue.length === 0 && s.next > s.maxId) return;
  }
}

/** The max ID (one call), and the state before the first batch. */
async function startRanges(client: B24Client, o: ExportOptions): Promise<RangesState> {
  const srcs = sources(o.entity, o.api);
  const size = Math.min(o.batchSize ?? MAX_BATCH, MAX_BATCH);
  const startedAt = Math.round(client.limiter.portalNow() * 1000);
  const cursor = o.afterId ?? 0;
  const first = srcs[0]!;
  const top = rowsOf(first, (await client.callRaw(first.method, { ...listParams(o, first, {}, true), select: first.flavor === 'legacy' ? ['ID'] : ['id'] })).result);
  const maxId = top.length ? idOf(top[0]!) : 0;
  return { srcs, size, startedAt, cursor, maxId, width: PAGE, next: cursor + 1, queue: [], tailDone: false };
}

/** The next batch: queued remainders first, then fresh ranges; on the last batch the `>ID maxId` tail. */
async function planRangesBatch(client: B24Client, o: ExportOptions, s: RangesState): Promise<RangesBatch> {
  const { srcs } = s;
  // never plan more calls than the budgets have room for (tight budgets), or than one request
  // carries free under the floor (Limiter.planCalls)
  let cap = srcs.reduce((a, src) => a + client.limiter.planCalls(src.method, s.size), 0);
  if (cap === 0) cap = await plannedCalls(client, srcs[0]!.method, s.size);
  cap = Math.max(1, Math.min(s.size, cap));
  const plan: IdRange[] = [...s.queue.splice(0, cap)];
  const room = cap - plan.length;
  if (room > 0 && s.next <= s.maxId) {
    const fresh = planRanges(s.next, s.maxId, s.width, room);
    plan.push(...fresh);
    s.next = fresh.at(-1)!.hi;
  }
  plan.sort((a, b) => a.lo - b.lo);
  const lastBatch = s.queue.length === 0 && s.next > s.maxId;
  const b: RangesBatch = { plan, cmds: {}, keys: [], planned: new Map(), via: new Map() };
  const add = (key: string, idFilter: Record<string, unknown>) => {
    const src = pickSource(client, srcs, b.planned);
    b.planned.set(src.method, (b.planned.get(src.method) ?? 0) + 1);
    b.cmds[key] = [src.method, listParams(o, src, idFilter)];
    b.keys.push(key);
    b.via.set(key, src);
  };
  plan.forEach((rg, i) => add(`r${i}`, { '>=ID': rg.lo, '<ID': rg.hi }));
  if (lastBatch && !s.tailDone && b.keys.length < cap) add('tail', { '>ID': s.maxId });
  return b;
}

/**
 * A batch's rows, sorted by ID; overflowing ranges queue their remainders, the width follows
 * the density seen, and the cursor moves to the end of the contiguous complete part.
 */
function readRangesBatch(s: RangesState, b: RangesBatch, r: BatchResult): { rows: Row[]; tailMore: boolean } {
  const rows: Row[] = [];
  let spanRows = 0;
  let span = 0;
  let incompleteFrom = Infinity;
  b.plan.forEach((rg, i) => {
    const key = `r${i}`;
    const page = rowsOf(b.via.get(key)!, r.results[key]);
    rows.push(...page);
    const rest = splitRemainder(rg, page.map(idOf));
    if (rest.length) {
      s.queue.push(...rest);
      incompleteFrom = Math.min(incompleteFrom, rest[0]!.lo);
      span += rest[0]!.lo - rg.lo;
    } else span += rg.hi - rg.lo;
    spanRows += page.length;
  });
  s.queue.sort((x, y) => x.lo - y.lo);
  s.width = nextWidth(spanRows, span);
  let tailMore = false;
  if (b.keys.includes('tail')) {
    s.tailDone = true;
    const page = rowsOf(b.via.get('tail')!, r.results.tail);
    rows.push(...page);
    if (page.length >= PAGE) tailMore = true;
  }
  rows.sort((x, y) => idOf(x) - idOf(y));
  const planEnd = b.plan.length ? b.plan.at(-1)!.hi - 1 : s.cursor;
  s.cursor = Math.max(s.cursor, Math.min(planEnd, incompleteFrom - 1));
  if (s.tailDone && incompleteFrom === Infinity && s.queue.length === 0) {
    const lastRow = rows.at(-1);
    if (lastRow) s.cursor = Math.max(s.cursor, idOf(lastRow));
  }
  return { rows, tailMore };
}

// ---------------------------------------------------------------------------------------
// Product rows

export interface ProductRowsOptions {
  /** Deals per call to start with (default 10); adapted to measured rows per deal. */
  dealsPerCall?: number;
  /** Fill target of a 50-row page (default 0.8). */
  fill?: number;
  batchSize?: number;
}

export interface ProductRowsPage {
  rows: Row[];
  /** Deal IDs whose rows are all in this or earlier pages. */
  completedDeals: number[];
  calls: number;
}

/**
 * Product rows of many deals via `crm.item.productrow.list` with `=ownerType: 'D'` and an
 * `=ownerId` array. A call returns ≤50 rows: the deals per call are sized from the measured
 * rows per deal (aim: 40 rows a call) and a chunk whose page came back full continues with
 * `>id` (keyset on the row id, start=-1) in the next batch.
 */
export async function* exportProductRows(client: B24Client, dealIds: readonly number[], o: ProductRowsOptions = {}): AsyncGenerator<ProductRowsPage> {
  const size = Math.min(o.batchSize ?? MAX_BATCH, MAX_BATCH);
  const fill = o.fill ?? 0.8;
  let perCall = Math.max(1, Math.min(50, o.dealsPerCall ?? 10));
  let i = 0;
  const cont: Array<{ deals: number[]; afterId: number }> = [];
  let seenDeals = 0;
  let seenRows = 0;
  while (i < dealIds.length || cont.length > 0) {
    const work: Array<{ deals: number[]; afterId: number }> = cont.splice(0, size);
    while (work.length < size && i < dealIds.length) {
      work.push({ deals: dealIds.slice(i, i + perCall), afterId: 0 });
      i += perCall;
    }
    const cmds: BatchCommand[] = work.map((w) => [
      'crm.item.productrow.list',
      { filter: { '=ownerType': 'D', '=ownerId': w.deals, '>id': w.afterId }, order: { id: 'ASC' }, start: -1 },
    ]);
    const r = await client.batch(cmds);
    const rows: Row[] = [];
    const completed: number[] = [];
    work.forEach((w, k) => {
      const e = r.errors[String(k)];
      if (e) throw e;
      const res = r.results[String(k)] as { productRows?: Row[] } | Row[] | undefined;
      const page = (Array.isArray(res) ? res : res?.productRows) ?? [];
      rows.push(...page);
      if (w.afterId === 0) { seenDeals += w.deals.length; }
      seenRows += page.length;
      if (page.length >= PAGE) cont.push({ deals: w.deals, afterId: Math.max(...page.map((p) => Number(p.id))) });
      else completed.push(...w.deals);
    });
    if (seenDeals > 0) {
      const perDeal = seenRows / seenDeals;
      perCall = Math.max(1, Math.min(50, Math.floor((PAGE * fill) / Math.max(perDeal, 0.01))));
    }
    yield { rows, completedDeals: completed, calls: work.length };
  }
}

/** Convenience: drains an export into one array (tests, small portals). */
export async function collect<T extends { rows: Row[] }>(gen: AsyncGenerator<T>): Promise<Row[]> {
  const out: Row[] = [];
  for await (const p of gen) out.push(...p.rows);
  return out;
}

export { B24Error };
