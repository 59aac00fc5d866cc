/**
 * The list engine shared by every emulated list method (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/list-methods-pecularities.html): filter operators,
 * order, 50-row pages with `start`, `total` and `next`, and `start=-1` (no count).
 *
 * Performance: tables are Maps keyed by ID. A sorted ID index per table (kept in a WeakMap
 * beside the Map, rebuilt when the Map's size no longer matches, updated incrementally by
 * `indexInsert`/`indexDelete`) lets `>ID`/`>=ID`/`<ID`/`<=ID`/`=ID` narrow the scan by binary
 * search, and with `order` empty or `{ID: ASC|DESC}` the scan stops after the page is full
 * when no count is needed (`start=-1`), so the bulk-export keyset loop is O(log n + 50).
 */
import { RestError } from './types.js';
import { isNumericType, localMidnightMs, parseDateInput, type FType, type V } from './serialize.js';

export const PAGE = 50;

// ---------------------------------------------------------------------------
// Sorted ID index

interface IndexState {
  ids: number[];
}
const indexes = new WeakMap<Map<number, unknown>, IndexState>();

function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The table's IDs in ascending order (rebuilt in O(n) only when the table changed behind our back). */
export function sortedIds(table: Map<number, unknown>): number[] {
  let st = indexes.get(table);
  if (!st || st.ids.length !== table.size) {
    const ids = Array.from(table.keys());
    let sorted = true;
    for (let i = 1; i < ids.length; i++) if (ids[i]! <= ids[i - 1]!) { sorted = false; break; }
    if (!sorted) ids.sort((a, b) => a - b);
    st = { ids };
    indexes.set(table, st);
  }
  return st.ids;
}

/** Call right after `table.set(id, rec)` for a new id. */
export function indexInsert(table: Map<number, unknown>, id: number): void {
  const st = indexes.get(table);
  if (!st || st.ids.length !== table.size - 1) { indexes.delete(table); return; }
  const a = st.ids;
  if (a.length === 0 || a[a.length - 1]! < id) a.push(id);
  else a.splice(lowerBound(a, id), 0, id);
}

/** Call right after `table.delete(id)`. */
export function indexDelete(table: Map<number, unknown>, id: number): void {
  const st = indexes.get(table);
  if (!st || st.ids.length !== table.size + 1) { indexes.delete(table); return; }
  const i = lowerBound(st.ids, id);
  if (st.ids[i] === id) st.ids.splice(i, 1);
  else indexes.delete(table);
}

/** Forget the index (after bulk changes that kept the size equal, e.g. clear + reload). */
export function invalidateIndex(table: Map<number, unknown>): void {
  indexes.delete(table);
}

// ---------------------------------------------------------------------------
// Fields and filters

export interface QField<R> {
  /** Name as the caller wrote it in errors. */
  name: string;
  type: FType;
  get: (r: R) => V;
  /** true for the primary key: enables index range narrowing. */
  isId?: boolean;
}

export type Resolver<R> = (name: string) => QField<R> | undefined;

export interface QueryOptions {
  /** crm.item style: unknown filter/order fields and bad directions → 400 INVALID_ARG_VALUE. */
  strict: boolean;
  /** crm.item style: nested groups with `logic: 'OR'`. */
  allowLogic: boolean;
  /** Portal time zone (dates compare as instants). */
  tz: string;
  /**
   * The caller's CRM read permission (perms.ts): rows it rejects do not exist for this list
   * (not returned, not counted in `total`), like the permission join of the real portal.
   */
  visible?: ((r: never) => boolean) | null;
}

type Op = '=' | '!=' | '>' | '>=' | '<' | '<=' | '@' | '!@' | '%' | '!%' | 'like' | '!like';

const OP_RE = /^(!=%|!%=|>=|<=|!=|!@|=%|%=|!%|=|!|>|<|@|%)?(.*)$/s;

function parseKey(key: string): { op: Op; field: string } {
  const m = OP_RE.exec(key)!;
  const raw = m[1] ?? '';
  const field = m[2] ?? '';
  const op: Op =
    raw === '' || raw === '=' ? '='
      : raw === '!' || raw === '!=' ? '!='
        : raw === '=%' || raw === '%=' ? 'like'
          : raw === '!=%' || raw === '!%=' ? '!like'
            : (raw as Op);
  return { op, field };
}

type Scalar = number | string | null;

/** Normalises a record or filter value of a field type to a comparable scalar. */
function norm(t: FType, v: unknown, tz: string): Scalar {
  if (v === null || v === undefined || v === '') return null;
  if (isNumericType(t)) {
    if (typeof v === 'boolean') return v ? 1 : 0;
    const n = Number(v);
    return Number.isNaN(n) ? NaN : n;
  }
  switch (t) {
    case 'char':
    case 'bool':
      return v === true || v === 'Y' || v === 'y' || v === 1 || v === '1' ? 'Y' : 'N';
    case 'date':
      return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? localMidnightMs(v, tz) : parseDateInput(v, tz);
    case 'datetime':
      return typeof v === 'number' ? v : parseDateInput(v, tz);
    default:
      return String(v);
  }
}

function likeRegex(pattern: string): RegExp {
  const esc = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${esc}$`, 'is');
}

type Pred<R> = (r: R) => boolean;

interface Compiled<R> {
  pred: Pred<R> | null;
  /** ID range from top-level AND conditions: [lo, hi] inclusive. */
  lo: number;
  hi: number;
  /** Explicit ID set from a top-level `=ID`/`@ID` array. */
  idSet: number[] | null;
}

function cmp(a: Scalar, b: Scalar): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

function condition<R>(f: QField<R>, op: Op, raw: unknown, tz: string): Pred<R> {
  const t = f.type;
  const get = f.get;
  const vals = (r: R): Scalar[] => {
    const v = get(r);
    if (Array.isArray(v)) return v.map((x) => norm(t, x, tz));
    return [norm(t, v, tz)];
  };
  const isEmpty = (xs: Scalar[]) => xs.length === 0 || xs.every((x) => x === null);
  switch (op) {
    case '=':
    case '@':
    case '!=':
    case '!@': {
      const list = Array.isArray(raw) ? raw : [raw];
      const wanted = list.map((x) => norm(t, x, tz));
      const wantEmpty = wanted.some((x) => x === null);
      const set = new Set(wanted.filter((x) => x !== null).map((x) => (typeof x === 'number' ? x : String(x).toLowerCase())));
      const hit = (r: R): boolean => {
        const xs = vals(r);
        if (wantEmpty && isEmpty(xs)) return true;
        return xs.some((x) => x !== null && set.has(typeof x === 'number' ? x : String(x).toLowerCase()));
      };
      if (op === '=' || op === '@') {
        if (op === '@' && Array.isArray(raw) && raw.length === 0) return () => false;
        return hit;
      }
      return (r) => !hit(r);
    }
    case '>':
    case '>=':
    case '<':
    case '<=': {
      const w = norm(t, Array.isArray(raw) ? raw[0] : raw, tz);
      if (w === null || (typeof w === 'number' && Number.isNaN(w))) return () => false;
      // numeric/date bound against a scalar numeric record value (dateModify, opportunity, …):
      // compare in place, no per-row array; arrays and strings take the general path below
      if (typeof w === 'number' && (isNumericType(t) || t === 'datetime')) {
        const general = (r: R, v: unknown) => (Array.isArray(v) ? v : [v]).some((y) => {
          const x = norm(t, y, tz);
          if (x === null || (typeof x === 'number' && Number.isNaN(x))) return false;
          const c = cmp(x, w);
          return op === '>' ? c > 0 : op === '>=' ? c >= 0 : op === '<' ? c < 0 : c <= 0;
        });
        const fast = (v: unknown, r: R): boolean => {
          if (typeof v !== 'number') return general(r, v);
          if (Number.isNaN(v)) return false;
          return op === '>' ? v > w : op === '>=' ? v >= w : op === '<' ? v < w : v <= w;
        };
        return (r) => fast(get(r), r);
      }
      return (r) =>
        vals(r).some((x) => {
          if (x === null || (typeof x === 'number' && Number.isNaN(x))) return false;
          const c = cmp(x, w);
          return op === '>' ? c > 0 : op === '>=' ? c >= 0 : op === '<' ? c < 0 : c <= 0;
        });
    }
    case '%':
    case '!%':
    case 'like':
    case '!like': {
      const list = (Array.isArray(raw) ? raw : [raw]).map((x) => String(x ?? ''));
      const tests = list.map((p) =>
        op === '%' || op === '!%' ? ((s: string) => s.toLowerCase().includes(p.toLowerCase())) : ((re: RegExp) => (s: string) => re.test(s))(likeRegex(p)),
      );
      const hit = (r: R): boolean => {
        const v = get(r);
        const xs = (Array.isArray(v) ? v : [v]).filter((x) => x !== null && x !== undefined).map((x) => String(x));
        return xs.some((s) => tests.some((tst) => tst(s)));
      };
      return op === '%' || op === 'like' ? hit : (r) => !hit(r);
    }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function compileGroup<R>(
  filter: Record<string, unknown>,
  resolve: Resolver<R>,
  o: QueryOptions,
  top: Compiled<R> | null,
): Pred<R> | null {
  const preds: Pred<R>[] = [];
  const orMode = String(filter['logic'] ?? filter['LOGIC'] ?? 'AND').toUpperCase() === 'OR';
  for (const [key, raw] of Object.entries(filter)) {
    if (key === 'logic' || key === 'LOGIC') continue;
    if (isPlainObject(raw) && (o.allowLogic || /^\d+$/.test(key))) {
      if (!o.allowLogic) continue; // legacy filter has no groups: ignored
      const sub = compileGroup(raw, resolve, o, null);
      if (sub) preds.push(sub);
      continue;
    }
    const { op, field } = parseKey(key);
    const f = resolve(field);
    if (!f) {
      if (o.strict) throw new RestError('INVALID_ARG_VALUE', `Invalid filter: field '${field}' is not allowed in filter`, 400);
      continue; // legacy lists ignore unknown filter keys
    }
    if (top && !orMode && f.isId) {
      const n = Array.isArray(raw) ? NaN : Number(raw);
      if (!Number.isNaN(n) && raw !== '' && raw !== null) {
        if (op === '>') top.lo = Math.max(top.lo, Math.floor(n) + 1);
        else if (op === '>=') top.lo = Math.max(top.lo, Math.ceil(n));
        else if (op === '<') top.hi = Math.min(top.hi, Math.ceil(n) - 1);
        else if (op === '<=') top.hi = Math.min(top.hi, Math.floor(n));
        else if (op === '=') top.idSet = [n];
      } else if ((op === '=' || op === '@') && Array.isArray(raw)) {
        top.idSet = raw.map(Number).filter((x) => !Number.isNaN(x));
      }
    }
    preds.push(condition(f, op, raw, o.tz));
  }
  if (preds.length === 0) return orMode ? null : null;
  if (preds.length === 1) return preds[0]!;
  return orMode ? (r) => preds.some((p) => p(r)) : (r) => preds.every((p) => p(r));
}

export function compileFilter<R>(filter: unknown, resolve: Resolver<R>, o: QueryOptions): Compiled<R> {
  const c: Compiled<R> = { pred: null, lo: -Infinity, hi: Infinity, idSet: null };
  if (filter === undefined || filter === null || filter === '') return c;
  if (!isPlainObject(filter)) {
    if (Array.isArray(filter) && filter.length === 0) return c;
    throw new RestError('', "Parameter 'filter' must be array.", 400); // crm-deal-list.md example
  }
  c.pred = compileGroup(filter, resolve, o, c);
  return c;
}

export interface OrderSpec<R> {
  field: QField<R>;
  desc: boolean;
}

export function compileOrder<R>(order: unknown, resolve: Resolver<R>, o: QueryOptions): OrderSpec<R>[] {
  if (order === undefined || order === null || order === '') return [];
  if (!isPlainObject(order)) {
    if (Array.isArray(order) && order.length === 0) return [];
    throw new RestError('', "Parameter 'order' must be array.", 400);
  }
  const out: OrderSpec<R>[] = [];
  for (const [k, dir] of Object.entries(order)) {
    const f = resolve(k);
    const d = String(dir ?? 'ASC').toUpperCase();
    if (!f || (d !== 'ASC' && d !== 'DESC')) {
      if (o.strict) throw new RestError('INVALID_ARG_VALUE', `Invalid order: field '${k}' is not allowed in order`, 400);
      continue;
    }
    out.push({ field: f, desc: d === 'DESC' });
  }
  return out;
}

export interface ListRequest {
  filter?: unknown;
  order?: unknown;
  start?: unknown;
}

export interface ListOutcome<R> {
  rows: R[];
  total: number;
  next?: number;
}

/** Parses `start`: integer offset, negative → no count. */
export function parseStart(start: unknown): number {
  if (start === undefined || start === null || start === '') return 0;
  const n = Number.parseInt(String(start), 10);
  return Number.isNaN(n) ? 0 : n;
}

function sortRows<R>(rows: R[], order: OrderSpec<R>[], tz: string): void {
  if (order.length === 0) return;
  const keyed = rows.map((r) => ({ r, k: order.map((o) => { const v = o.field.get(r); return norm(o.field.type, Array.isArray(v) ? v[0] : v, tz); }) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < order.length; i++) {
      const x = a.k[i]!;
      const y = b.k[i]!;
      let c: number;
      if (x === null && y === null) c = 0;
      else if (x === null) c = -1; // NULLs first in ASC, like MySQL
      else if (y === null) c = 1;
      else c = cmp(x, y);
      if (c !== 0) return order[i]!.desc ? -c : c;
    }
    return 0;
  });
  for (let i = 0; i < rows.length; i++) rows[i] = keyed[i]!.r;
}

/**
 * Runs a list query over a table (Map keyed by ID, index-accelerated) or an array.
 * `idField` resolves the primary key (used for the ID fast path and as final tie-breaker).
 */
export function runList<R>(
  source: Map<number, R> | readonly R[],
  req: ListRequest,
  resolve: Resolver<R>,
  o: QueryOptions,
  pageSize = PAGE,
): ListOutcome<R> {
  const c = compileFilter(req.filter, resolve, o);
  const order = compileOrder(req.order, resolve, o);
  const start = parseStart(req.start);
  const noCount = start < 0;
  const offset = Math.max(0, start);
  const visible = o.visible as ((r: R) => boolean) | null | undefined;
  const base = c.pred;
  const pred: ((r: R) => boolean) | null = visible ? (base ? (r: R) => visible(r) && base(r) : visible) : base;

  if (source instanceof Map) {
    const idOrder = order.length === 0 || (order.length === 1 && order[0]!.field.isId === true);
    const desc = idOrder && order.length === 1 && order[0]!.desc;
    let ids: number[];
    let from: number;
    let to: number; // exclusive
    if (c.idSet) {
      ids = [...new Set(c.idSet)].sort((a, b) => a - b);
      from = 0;
      to = ids.length;
    } else {
      ids = sortedIds(source as Map<number, unknown>);
      from = c.lo === -Infinity ? 0 : lowerBound(ids, c.lo);
      to = c.hi === Infinity ? ids.length : lowerBound(ids, c.hi + 1);
    }
    if (to < from) to = from;
    if (idOrder) {
      const rows: R[] = [];
      let matched = 0;
      const fastTotal = pred === null && !c.idSet;
      if (fastTotal) {
        const n = to - from;
        for (let i = offset; i < n && rows.length < pageSize; i++) {
          const id = ids[desc ? to - 1 - i : from + i]!;
          const r = source.get(id);
          if (r) rows.push(r);
        }
        return finish(rows, noCount ? 0 : n, offset, noCount);
      }
      for (let k = 0; k < to - from; k++) {
        const id = ids[desc ? to - 1 - k : from + k]!;
        const r = source.get(id);
        if (!r || (pred && !pred(r))) continue;
        if (matched >= offset && rows.length < pageSize) rows.push(r);
        matched++;
        if (noCount && rows.length >= pageSize) break;
      }
      return finish(rows, noCount ? 0 : matched, offset, noCount);
    }
    const all: R[] = [];
    for (let k = from; k < to; k++) {
      const r = source.get(ids[k]!);
      if (r && (!pred || pred(r))) all.push(r);
    }
    sortRows(all, order, o.tz);
    return finish(all.slice(offset, offset + pageSize), noCount ? 0 : all.length, offset, noCount);
  }
  const all = pred ? source.filter(pred) : source.slice();
  sortRows(all, order, o.tz);
  return finish(all.slice(offset, offset + pageSize), noCount ? 0 : all.length, offset, noCount);
}

function finish<R>(rows: R[], total: number, offset: number, noCount: boolean): ListOutcome<R> {
  const out: ListOutcome<R> = { rows, total };
  if (!noCount && offset + rows.length < total) out.next = offset + rows.length;
  return out;
}
