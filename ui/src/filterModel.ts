/**
 * Filter builder rows (what the UI edits) ↔ the server's filter AST, the input checks of each row,
 * and the list's state as it travels in the URL. Pure; unit-tested.
 * Self-contained (no imports): the server's unit tests import it directly.
 */
export type Condition = Record<string, unknown> & { field: string };
export interface Filter { all: Condition[]; any?: Condition[]; exclude?: Filter }

export type Kind =
  | 'segment' | 'lifecycle' | 'rfm' | 'r' | 'f' | 'm' | 'monetary' | 'clv' | 'p_alive' | 'recency_days' | 'frequency'
  | 'first_purchase_days' | 'next_purchase_days' | 'prev_segment' | 'refusal_reason'
  | 'sleeping' | 'interests' | 'last_purchase' | 'source' | 'responsible' | 'city' | 'uf' | 'has_email' | 'has_phone'
  | 'reachable' | 'saved' | 'contact';

/** What "Add condition" offers, in this order (a fixed list of contacts comes from "add to a list" only). */
export const KINDS: Kind[] = [
  'segment', 'sleeping', 'interests', 'city', 'responsible', 'monetary', 'clv', 'p_alive', 'recency_days', 'frequency',
  'last_purchase', 'first_purchase_days', 'next_purchase_days', 'prev_segment', 'lifecycle', 'refusal_reason', 'rfm', 'r', 'f', 'm', 'source',
  'has_email', 'has_phone', 'reachable', 'uf', 'saved',
];

export const RANGE_KINDS: Kind[] = ['r', 'f', 'm', 'monetary', 'clv', 'p_alive', 'recency_days', 'frequency', 'first_purchase_days', 'next_purchase_days'];
export const BOOL_KINDS: Kind[] = ['sleeping', 'has_email', 'has_phone', 'reachable'];
export const LIST_KINDS: Kind[] = ['segment', 'lifecycle', 'interests', 'source', 'responsible', 'prev_segment', 'refusal_reason'];

export interface Row {
  uid: number;
  kind: Kind;
  values: string[];
  min: string | number;
  max: string | number;
  from: string;
  to: string;
  mode: 'all' | 'any';
  /** interests: bought within the tag's window (active) or ever */
  when: 'active' | 'ever';
  op: string;
  key: string;
  text: string;
  bool: boolean;
  /** a fixed list of contacts */
  ids: number[];
}

let uid = 1;
export function newRow(kind: Kind): Row {
  return {
    uid: uid++, kind, values: [], min: '', max: '', from: '', to: '', mode: 'any', when: 'active',
    op: kind === 'city' ? 'in' : kind === 'uf' ? 'not_empty' : '', key: '', text: '', bool: true, ids: [],
  };
}

/** A number as typed ("1 000,5" too); null when empty; NaN when it is not a number (an error, never dropped). */
export function parseNum(v: string | number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
  const s = v.trim().replace(/[\s\u00A0\u202F]/g, '').replace(',', '.');
  if (s === '') return null;
  return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s) ? Number(s) : Number.NaN;
}
const list = (s: string) => s.split(/[,;]/).map((x) => x.trim()).filter(Boolean);

/** A row's input problem: a message key and its values; null when the row is fine (or still empty). */
export interface RowIssue { key: 'errNumber' | 'errMinMax' | 'errLevel' | 'errPercent' | 'errRfmCell' | 'errDateOrder'; vars?: Record<string, string | number> }

function rangeIssue(r: Row, scale: number): RowIssue | null {
  const min = parseNum(r.min);
  const max = parseNum(r.max);
  if (Number.isNaN(min) || Number.isNaN(max)) return { key: 'errNumber', vars: { v: String(Number.isNaN(min) ? r.min : r.max) } };
  if (min !== null && max !== null && min > max) return { key: 'errMinMax', vars: { min, max } };
  const levels = r.kind === 'r' || r.kind === 'f' || r.kind === 'm';
  for (const x of [min, max]) {
    if (x === null) continue;
    if (levels && (x < 1 || x > scale || !Number.isInteger(x))) return { key: 'errLevel', vars: { n: scale } };
    if (r.kind === 'p_alive' && (x < 0 || x > 100)) return { key: 'errPercent' };
  }
  return null;
}

/** What is wrong with a row's input, so the UI can say it next to the field instead of dropping it. */
export function rowIssue(r: Row, scale = 5): RowIssue | null {
  if (RANGE_KINDS.includes(r.kind)) return rangeIssue(r, scale);
  if (r.kind === 'rfm') {
    const digits = `1-${scale}`;
    const bad = list(r.text).find((x) => !new RegExp(`^[${digits}]{3}$`).test(x));
    return bad === undefined ? null : { key: 'errRfmCell', vars: { cell: bad, n: scale } };
  }
  if (r.kind === 'last_purchase' && r.from && r.to && r.from > r.to) return { key: 'errDateOrder' };
  return null;
}

/** One valid row → a condition, or null while the row is incomplete or wrong (see rowIssue). */
export function rowToCondition(r: Row, scale = 5): Condition | null {
  if (rowIssue(r, scale)) return null;
  if (RANGE_KINDS.includes(r.kind)) {
    let min = parseNum(r.min);
    let max = parseNum(r.max);
    if (min === null && max === null) return null;
    // the chance still buying is typed in percent; the filter holds 0..1
    if (r.kind === 'p_alive') {
      min = min === null ? null : min / 100;
      max = max === null ? null : max / 100;
    }
    return { field: 'range', key: r.kind, min, max };
  }
  if (BOOL_KINDS.includes(r.kind)) return { field: r.kind, value: r.bool };
  switch (r.kind) {
    case 'segment':
    case 'lifecycle':
    case 'source':
    case 'prev_segment':
    case 'refusal_reason':
      return r.values.length ? { field: r.kind, values: [...r.values] } : null;
    case 'responsible':
      return r.values.length ? { field: 'responsible', values: r.values.map(Number) } : null;
    case 'interests':
      return r.values.length ? { field: 'interests', mode: r.mode, when: r.when, values: [...r.values] } : null;
    case 'rfm': {
      const v = list(r.text);
      return v.length ? { field: 'rfm', values: v } : null;
    }
    case 'last_purchase':
      return r.from || r.to ? { field: 'last_purchase', from: r.from || null, to: r.to || null } : null;
    case 'city': {
      const v = list(r.text);
      return v.length ? { field: 'city', op: r.op === 'contains' ? 'contains' : 'in', values: v } : null;
    }
    case 'uf':
      if (!r.key) return null;
      if (r.op === 'empty' || r.op === 'not_empty') return { field: 'uf', key: r.key, op: r.op };
      return r.text.trim() ? { field: 'uf', key: r.key, op: r.op === 'contains' ? 'contains' : 'eq', value: r.text.trim() } : null;
    case 'saved':
      return r.key ? { field: 'saved', id: r.key } : null;
    case 'contact':
      return r.ids.length ? { field: 'contact', ids: [...r.ids] } : null;
    default:
      return null;
  }
}

export function toFilter(rows: Row[], excludeSavedId: string, search = '', scale = 5): Filter {
  const all = rows.map((r) => rowToCondition(r, scale)).filter((c): c is Condition => c !== null);
  if (search.trim()) all.unshift({ field: 'search', text: search.trim() });
  const f: Filter = { all };
  if (excludeSavedId) f.exclude = { all: [{ field: 'saved', id: excludeSavedId }] };
  return f;
}

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** One condition of a saved filter's AST → a row (null for one the builder does not edit, e.g. search). */
function conditionToRow(c: Condition): Row | null {
  const field = String(c.field);
  if (field === 'range') {
    const r = newRow(c.key as Kind);
    const pct = (v: unknown) => (v === null || v === undefined ? '' : c.key === 'p_alive' ? String(Math.round(Number(v) * 10000) / 100) : String(v));
    r.min = pct(c.min);
    r.max = pct(c.max);
    return r;
  }
  if (BOOL_KINDS.includes(field as Kind)) return { ...newRow(field as Kind), bool: Boolean(c.value) };
  if (LIST_KINDS.includes(field as Kind)) {
    const r = newRow(field as Kind);
    r.values = ((c.values as unknown[]) ?? []).map(String);
    if (field === 'interests') {
      r.mode = c.mode === 'all' ? 'all' : 'any';
      r.when = c.when === 'ever' ? 'ever' : 'active';
    }
    return r;
  }
  if (field === 'rfm' || field === 'city') return { ...newRow(field), text: ((c.values as unknown[]) ?? []).join(', '), op: field === 'city' ? str(c.op) || 'in' : '' };
  if (field === 'last_purchase') return { ...newRow('last_purchase'), from: str(c.from), to: str(c.to) };
  if (field === 'uf') return { ...newRow('uf'), key: str(c.key), op: str(c.op) || 'not_empty', text: str(c.value) };
  if (field === 'saved') return { ...newRow('saved'), key: str(c.id) };
  if (field === 'contact') return { ...newRow('contact'), ids: ((c.ids as unknown[]) ?? []).map(Number) };
  return null;
}

/** Back from a saved filter's AST to rows (for "load"): its search text apart; unknown conditions are dropped. */
export function fromFilter(f: Filter): { rows: Row[]; excludeSavedId: string; search: string } {
  const rows: Row[] = [];
  let search = '';
  for (const c of f.all ?? []) {
    if (c.field === 'search') search = str(c.text);
    else {
      const r = conditionToRow(c);
      if (r) rows.push(r);
    }
  }
  const ex = f.exclude?.all?.[0];
  return { rows, excludeSavedId: ex && ex.field === 'saved' ? String(ex.id) : '', search };
}

/** The list's state as it lives in the URL (and the user's last state): filter, order, columns, page. */
export interface ListState {
  filter: Filter;
  sort: string;
  dir: 'asc' | 'desc';
  columns: string[];
  page: number;
  /** the view this state was loaded from (its name names the CSV) */
  view?: string;
}

const b64url = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const unb64url = (s: string) => new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0)));

/** The state as one URL query value. */
export function encodeState(s: ListState): string {
  return b64url(JSON.stringify({ f: s.filter, s: s.sort, d: s.dir, c: s.columns, p: s.page, v: s.view }));
}

/** A URL query value back to the state; null when it is not one (a broken link starts fresh). */
export function decodeState(v: unknown): ListState | null {
  if (typeof v !== 'string' || !v || v.length > 20_000) return null;
  try {
    const o = JSON.parse(unb64url(v)) as { f?: Filter; s?: unknown; d?: unknown; c?: unknown; p?: unknown; v?: unknown };
    if (!o.f || !Array.isArray(o.f.all)) return null;
    return {
      filter: o.f,
      sort: typeof o.s === 'string' ? o.s : 'monetary',
      dir: o.d === 'asc' ? 'asc' : 'desc',
      columns: Array.isArray(o.c) ? o.c.filter((x): x is string => typeof x === 'string') : [],
      page: typeof o.p === 'number' && o.p >= 1 ? Math.floor(o.p) : 1,
      view: typeof o.v === 'string' ? o.v : undefined,
    };
  } catch {
    return null;
  }
}
