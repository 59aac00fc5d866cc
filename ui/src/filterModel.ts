/** Filter builder rows (what the UI edits) ↔ the server's filter AST. Pure; unit-tested. */
/** Self-contained (no imports): the server's unit tests import it directly. */
export type Condition = Record<string, unknown> & { field: string };
export interface Filter { all: Condition[]; any?: Condition[]; exclude?: Filter }

export type Kind =
  | 'segment' | 'lifecycle' | 'rfm' | 'r' | 'f' | 'm' | 'monetary' | 'clv' | 'p_alive' | 'recency_days' | 'frequency'
  | 'sleeping' | 'interests' | 'last_purchase' | 'source' | 'responsible' | 'city' | 'uf' | 'has_email' | 'has_phone'
  | 'reachable' | 'saved';

export const KINDS: Kind[] = [
  'segment', 'lifecycle', 'rfm', 'r', 'f', 'm', 'monetary', 'clv', 'p_alive', 'recency_days', 'frequency', 'sleeping',
  'interests', 'last_purchase', 'source', 'responsible', 'city', 'uf', 'has_email', 'has_phone', 'reachable', 'saved',
];

export const RANGE_KINDS: Kind[] = ['r', 'f', 'm', 'monetary', 'clv', 'p_alive', 'recency_days', 'frequency'];
export const BOOL_KINDS: Kind[] = ['sleeping', 'has_email', 'has_phone', 'reachable'];
export const LIST_KINDS: Kind[] = ['segment', 'lifecycle', 'interests', 'source', 'responsible'];

export interface Row {
  uid: number;
  kind: Kind;
  values: string[];
  min: string | number;
  max: string | number;
  from: string;
  to: string;
  mode: 'all' | 'any';
  op: string;
  key: string;
  text: string;
  bool: boolean;
}

let uid = 1;
export function newRow(kind: Kind): Row {
  return {
    uid: uid++, kind, values: [], min: '', max: '', from: '', to: '', mode: 'any',
    op: kind === 'city' ? 'in' : kind === 'uf' ? 'not_empty' : '', key: '', text: '', bool: true,
  };
}

/** v-model on <input type="number"> hands back numbers, other inputs strings. */
const numOrNull = (v: string | number | null | undefined): number | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v.trim() === '') return null;
  const n = Number(v.replace(',', '.'));
  return Number.isFinite(n) ? n : null;
};
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** One row → a condition, or null while the row is incomplete (it is then ignored). */
export function rowToCondition(r: Row): Condition | null {
  if (RANGE_KINDS.includes(r.kind)) {
    const min = numOrNull(r.min);
    const max = numOrNull(r.max);
    if (min === null && max === null) return null;
    return { field: 'range', key: r.kind, min, max };
  }
  if (BOOL_KINDS.includes(r.kind)) return { field: r.kind, value: r.bool };
  switch (r.kind) {
    case 'segment':
    case 'lifecycle':
    case 'source':
      return r.values.length ? { field: r.kind, values: [...r.values] } : null;
    case 'responsible':
      return r.values.length ? { field: 'responsible', values: r.values.map(Number) } : null;
    case 'interests':
      return r.values.length ? { field: 'interests', mode: r.mode, values: [...r.values] } : null;
    case 'rfm': {
      const v = list(r.text).map((x) => x.toUpperCase()).filter((x) => /^[1-5A-E]{3}$/.test(x));
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
    default:
      return null;
  }
}

export function toFilter(rows: Row[], excludeSavedId: string): Filter {
  const all = rows.map(rowToCondition).filter((c): c is Condition => c !== null);
  const f: Filter = { all };
  if (excludeSavedId) f.exclude = { all: [{ field: 'saved', id: excludeSavedId }] };
  return f;
}

/** Back from a saved filter's AST to rows (for "load"). Unknown conditions are dropped. */
export function fromFilter(f: Filter): { rows: Row[]; excludeSavedId: string } {
  const rows: Row[] = [];
  for (const c of f.all ?? []) {
    const field = String(c.field);
    if (field === 'range') {
      const r = newRow(c.key as Kind);
      r.min = c.min === null || c.min === undefined ? '' : String(c.min);
      r.max = c.max === null || c.max === undefined ? '' : String(c.max);
      rows.push(r);
    } else if (BOOL_KINDS.includes(field as Kind)) {
      const r = newRow(field as Kind);
      r.bool = Boolean(c.value);
      rows.push(r);
    } else if (LIST_KINDS.includes(field as Kind)) {
      const r = newRow(field as Kind);
      r.values = ((c.values as unknown[]) ?? []).map(String);
      if (field === 'interests') r.mode = c.mode === 'all' ? 'all' : 'any';
      rows.push(r);
    } else if (field === 'rfm' || field === 'city') {
      const r = newRow(field);
      r.text = ((c.values as unknown[]) ?? []).join(', ');
      if (field === 'city') r.op = String(c.op ?? 'in');
      rows.push(r);
    } else if (field === 'last_purchase') {
      const r = newRow('last_purchase');
      r.from = (c.from as string) ?? '';
      r.to = (c.to as string) ?? '';
      rows.push(r);
    } else if (field === 'uf') {
      const r = newRow('uf');
      r.key = String(c.key ?? '');
      r.op = String(c.op ?? 'not_empty');
      r.text = String(c.value ?? '');
      rows.push(r);
    } else if (field === 'saved') {
      const r = newRow('saved');
      r.key = String(c.id ?? '');
      rows.push(r);
    }
  }
  const ex = f.exclude?.all?.[0];
  return { rows, excludeSavedId: ex && ex.field === 'saved' ? String(ex.id) : '' };
}
