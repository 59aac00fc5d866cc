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
  | 'reachable' | 'saved' | 'contact'
  | 'age' | 'post' | 'created' | 'company_industry' | 'company_size' | 'company_revenue' | 'crm';

/** What "Add condition" offers, in this order (a fixed list of contacts comes from "add to a list" only). */
export const KINDS: Kind[] = [
  'segment', 'sleeping', 'interests', 'city', 'responsible', 'monetary', 'clv', 'p_alive', 'recency_days', 'frequency',
  'last_purchase', 'first_purchase_days', 'next_purchase_days', 'prev_segment', 'lifecycle', 'refusal_reason', 'rfm', 'r', 'f', 'm', 'source',
  'has_email', 'has_phone', 'reachable', 'age', 'post', 'created', 'company_industry', 'company_size', 'company_revenue', 'crm', 'uf', 'saved',
];
/**
 * Conditions about a person: not offered over companies (the API answers 400 CONDITION_NOT_FOR_COMPANIES; src/segments/customer.ts).
 * "Any field" (crm) is offered over companies too, with the company's own fields (GET /meta companyFields).
 */
export const CONTACT_ONLY_KINDS: readonly Kind[] = ['age', 'post', 'contact'];

/** How a field of "any field" (crm) is filtered (GET /meta fields[].kind) and its operators, in menu order. */
export type FieldKind = 'text' | 'number' | 'date' | 'list' | 'bool';
export const CRM_OPS: Record<FieldKind, string[]> = {
  text: ['contains', 'eq', 'not_contains', 'neq', 'not_empty', 'empty'],
  number: ['range', 'not_empty', 'empty'],
  date: ['dates', 'not_empty', 'empty'],
  list: ['in', 'not_in', 'not_empty', 'empty'],
  bool: ['is'],
};
/** Operators of the job title and of the company's lists. */
export const POST_OPS = ['contains', 'in', 'not_contains', 'not_in', 'not_empty', 'empty'];
export const COMPANY_LIST_OPS = ['in', 'not_in', 'not_empty', 'empty'];
const NO_VALUE_OPS = new Set(['empty', 'not_empty']);

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
  /** crm: the chosen field's kind (from GET /meta fields) */
  fieldKind: FieldKind;
}

let uid = 1;
export function newRow(kind: Kind): Row {
  return {
    uid: uid++, kind, values: [], min: '', max: '', from: '', to: '', mode: 'any', when: 'active',
    op: DEFAULT_OP[kind] ?? '', key: '', text: '', bool: true, ids: [], fieldKind: 'text',
  };
}
const DEFAULT_OP: Partial<Record<Kind, string>> = {
  city: 'in', uf: 'not_empty', responsible: 'in', post: 'contains', company_industry: 'in', company_size: 'in', crm: 'not_empty',
};

/** A "any field" row set to field `key` of kind `kind`, with that kind's first operator. */
export function withCrmField(r: Row, key: string, kind: FieldKind): Row {
  return { ...r, key, fieldKind: kind, op: CRM_OPS[kind][0]!, values: [], text: '', min: '', max: '', from: '', to: '', bool: true };
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
export interface RowIssue { key: 'errNumber' | 'errMinMax' | 'errLevel' | 'errPercent' | 'errRfmCell' | 'errDateOrder' | 'errAge'; vars?: Record<string, string | number> }

/** min / max as typed: not a number, or min above max. */
function minMaxIssue(r: Row): RowIssue | null {
  const min = parseNum(r.min);
  const max = parseNum(r.max);
  if (Number.isNaN(min) || Number.isNaN(max)) return { key: 'errNumber', vars: { v: String(Number.isNaN(min) ? r.min : r.max) } };
  if (min !== null && max !== null && min > max) return { key: 'errMinMax', vars: { min, max } };
  return null;
}

/** The rows of what a customer is (age, created, company revenue, any field). */
function customerIssue(r: Row): RowIssue | null {
  if (r.kind === 'age') {
    const mm = minMaxIssue(r);
    if (mm) return mm;
    for (const x of [parseNum(r.min), parseNum(r.max)]) if (x !== null && (x < 0 || x > 150 || !Number.isInteger(x))) return { key: 'errAge' };
    return null;
  }
  if (r.kind === 'created') {
    if (r.from && r.to && r.from > r.to) return { key: 'errDateOrder' };
    const d = parseNum(r.min);
    return Number.isNaN(d) || (d !== null && (d < 0 || !Number.isInteger(d))) ? { key: 'errNumber', vars: { v: String(r.min) } } : null;
  }
  if (r.kind === 'company_revenue' || (r.kind === 'crm' && r.op === 'range')) return minMaxIssue(r);
  if (r.kind === 'crm' && r.op === 'dates' && r.from && r.to && r.from > r.to) return { key: 'errDateOrder' };
  return null;
}

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
  return customerIssue(r);
}

const numOrNull = (v: string | number) => parseNum(v);

/** Rows of what a customer is → conditions (null while incomplete). */
function customerCondition(r: Row): Condition | null {
  switch (r.kind) {
    case 'age':
    case 'company_revenue': {
      const min = numOrNull(r.min);
      const max = numOrNull(r.max);
      return min === null && max === null ? null : { field: r.kind, min, max };
    }
    case 'created': {
      const days = numOrNull(r.min);
      return r.from || r.to || days !== null ? { field: 'created', from: r.from || null, to: r.to || null, days } : null;
    }
    case 'post': {
      if (NO_VALUE_OPS.has(r.op)) return { field: 'post', op: r.op };
      const v = list(r.text);
      return v.length ? { field: 'post', op: r.op || 'contains', values: v } : null;
    }
    case 'company_industry':
    case 'company_size': {
      if (NO_VALUE_OPS.has(r.op)) return { field: r.kind, op: r.op };
      const v = r.values.length ? [...r.values] : list(r.text);
      return v.length ? { field: r.kind, op: r.op || 'in', values: v } : null;
    }
    case 'crm':
      return crmCondition(r);
    default:
      return null;
  }
}

/** An "any field" row → its condition, by the operator (which follows the field's kind). */
function crmCondition(r: Row): Condition | null {
  if (!r.key) return null;
  const base = { field: 'crm', key: r.key, op: r.op };
  if (NO_VALUE_OPS.has(r.op)) return base;
  switch (r.op) {
    case 'in':
    case 'not_in': {
      const v = r.values.length ? [...r.values] : list(r.text);
      return v.length ? { ...base, values: v } : null;
    }
    case 'range': {
      const min = numOrNull(r.min);
      const max = numOrNull(r.max);
      return min === null && max === null ? null : { ...base, min, max };
    }
    case 'dates':
      return r.from || r.to ? { ...base, from: r.from || null, to: r.to || null } : null;
    case 'is':
      return { ...base, value: r.bool ? 'Y' : 'N' };
    default:
      return r.text.trim() ? { ...base, value: r.text.trim() } : null;
  }
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
      if (!r.values.length) return null;
      return r.op === 'not_in' ? { field: 'responsible', op: 'not_in', values: r.values.map(Number) } : { field: 'responsible', values: r.values.map(Number) };
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
      return customerCondition(r);
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
    if (field === 'responsible') r.op = c.op === 'not_in' ? 'not_in' : 'in';
    return r;
  }
  const customer = customerRow(c);
  if (customer) return customer;
  if (field === 'rfm' || field === 'city') return { ...newRow(field), text: ((c.values as unknown[]) ?? []).join(', '), op: field === 'city' ? str(c.op) || 'in' : '' };
  if (field === 'last_purchase') return { ...newRow('last_purchase'), from: str(c.from), to: str(c.to) };
  if (field === 'uf') return { ...newRow('uf'), key: str(c.key), op: str(c.op) || 'not_empty', text: str(c.value) };
  if (field === 'saved') return { ...newRow('saved'), key: str(c.id) };
  if (field === 'contact') return { ...newRow('contact'), ids: ((c.ids as unknown[]) ?? []).map(Number) };
  return null;
}

/** A condition on what a customer is → its row (null: not one of those). */
function customerRow(c: Condition): Row | null {
  const field = String(c.field);
  const vals = ((c.values as unknown[]) ?? []).map(String);
  switch (field) {
    case 'age':
    case 'company_revenue':
      return { ...newRow(field), min: str(c.min), max: str(c.max) };
    case 'created':
      return { ...newRow('created'), from: str(c.from), to: str(c.to), min: str(c.days) };
    case 'post':
      return { ...newRow('post'), op: str(c.op) || 'contains', text: vals.join(', ') };
    case 'company_industry':
    case 'company_size':
      return { ...newRow(field), op: str(c.op) || 'in', values: vals };
    case 'crm': {
      const op = str(c.op);
      const kind = (Object.keys(CRM_OPS) as FieldKind[]).find((k) => CRM_OPS[k].includes(op) && !NO_VALUE_OPS.has(op)) ?? 'text';
      return {
        ...newRow('crm'), key: str(c.key), op, fieldKind: kind, values: vals, text: str(c.value),
        min: str(c.min), max: str(c.max), from: str(c.from), to: str(c.to), bool: c.value !== 'N',
      };
    }
    default:
      return null;
  }
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
