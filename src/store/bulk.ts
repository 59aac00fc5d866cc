/**
 * Fast multi-row upserts: one statement per chunk, every column passed as one array
 * parameter and expanded with unnest(), so a 5000-row chunk is a single parse/plan:
 *   INSERT INTO t (portal_id, a, b) SELECT $1, u.a, u.b FROM unnest($2::bigint[], $3::text[]) AS u(a, b)
 *   ON CONFLICT (portal_id, id) DO UPDATE SET a = EXCLUDED.a, ...
 * jsonb columns travel as text[] and are cast per row (portable across pg and PGlite).
 */
import type { Db } from './db.js';

export type Timestamp = Date | string | number;

export interface Col<R> {
  name: string;
  /** PostgreSQL element type of the array parameter, e.g. 'bigint', 'text', 'numeric'. */
  type: string;
  get: (row: R) => unknown;
  /** SQL expression over the unnested value `u.<name>`, e.g. to convert jsonb to text[]. */
  expr?: (ref: string) => string;
}

export const CHUNK_ROWS = 5000;

/** Date -> ISO; epoch ms -> ISO; string as-is (PostgreSQL parses ISO 8601 with offset). */
export function ts(v: Timestamp | null | undefined): string | null {
  if (v == null || v === '') return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'number') return new Date(v).toISOString();
  return v;
}

/** 'YYYY-MM-DD' from a date-ish value (Bitrix sends '2024-05-01T00:00:00+03:00'). */
export function dateOnly(v: Timestamp | null | undefined): string | null {
  if (v == null || v === '') return null;
  if (typeof v === 'string') return /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : v;
  const d = v instanceof Date ? v : new Date(v);
  return d.toISOString().slice(0, 10);
}

export const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));

/** Keeps the last row per key (ON CONFLICT cannot touch one row twice in one statement). */
function dedupe<R>(rows: readonly R[], key: (r: R) => string | number): R[] {
  const m = new Map<string | number, R>();
  for (const r of rows) m.set(key(r), r);
  return m.size === rows.length ? [...rows] : [...m.values()];
}

/** Returns the number of rows inserted or changed (unchanged rows are not rewritten). */
export async function bulkUpsert<R>(
  db: Db,
  table: string,
  portalId: number,
  rows: readonly R[],
  cols: readonly Col<R>[],
  conflict: readonly string[],
  key: (r: R) => string | number,
  syncRunId?: number | null,
): Promise<number> {
  if (rows.length === 0) return 0;
  const unique = dedupe(rows, key);
  const withRun = syncRunId != null;
  const names = cols.map((c) => c.name);
  const selects = cols.map((c) =>
    c.expr ? c.expr(`u.${c.name}`) : c.type === 'jsonb' ? `u.${c.name}::jsonb` : `u.${c.name}`,
  );
  const arrays = cols.map((c, i) => `$${i + 2}::${c.type === 'jsonb' ? 'text' : c.type}[]`);
  const updCols = names.filter((n) => !conflict.includes(n));
  if (withRun) updCols.push('sync_run_id');
  const updates = updCols.map((n) => `${n} = EXCLUDED.${n}`);
  // Skip rows whose values did not change: a re-sync of unchanged data writes nothing
  // (no dead tuples, no index churn) and rowCount counts only inserted + changed rows.
  const changed = updCols.length
    ? ` WHERE (${updCols.map((n) => `${table}.${n}`).join(', ')}) IS DISTINCT FROM (${updCols.map((n) => `EXCLUDED.${n}`).join(', ')})`
    : '';
  const runParam = `$${cols.length + 2}`;
  const sql =
    `INSERT INTO ${table} (portal_id, ${names.join(', ')}${withRun ? ', sync_run_id' : ''}) ` +
    `SELECT $1, ${selects.join(', ')}${withRun ? `, ${runParam}::bigint` : ''} ` +
    `FROM unnest(${arrays.join(', ')}) AS u(${names.join(', ')}) ` +
    `ON CONFLICT (portal_id, ${conflict.join(', ')}) ` +
    (updates.length ? `DO UPDATE SET ${updates.join(', ')}${changed}` : 'DO NOTHING');
  let n = 0;
  for (let off = 0; off < unique.length; off += CHUNK_ROWS) {
    const chunk = unique.slice(off, off + CHUNK_ROWS);
    const params: unknown[] = [portalId];
    for (const c of cols) params.push(chunk.map((r) => nullish(c.get(r))));
    if (withRun) params.push(syncRunId);
    const r = await db.query(sql, params);
    n += r.rowCount;
  }
  return n;
}

const nullish = (v: unknown) => (v === undefined ? null : v);
