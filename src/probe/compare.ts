/**
 * Comparisons of a portal's answers with the reference emulator's answers to the same calls:
 * response keys and value types (with the schema's allowed types for CRM fields), error status and
 * code, the `time` block.
 */
import { jsonType, type JsonType } from '../emulator/shape-rules.js';
import type { Answer } from './http.js';

export type Row = Record<string, unknown>;

export interface Difference {
  check: string;
  /** The key or aspect that differs (empty for the whole answer). */
  path: string;
  expected: string;
  seen: string;
}

/** Keys that differ from portal to portal by design: user fields and SPA parent links. */
const PORTAL_SPECIFIC = /^(UF_|uf[A-Z_]|PARENT_ID_|parentId\d)/;

interface KeyStat { count: number; types: Set<JsonType> }

function keyStats(rows: Row[]): Map<string, KeyStat> {
  const m = new Map<string, KeyStat>();
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) {
      let s = m.get(k);
      if (!s) m.set(k, (s = { count: 0, types: new Set() }));
      s.count++;
      s.types.add(jsonType(v));
    }
  }
  return m;
}

const join = (types: Iterable<string>): string => [...new Set(types)].sort().join('|');

/**
 * Rows of the portal against rows of the reference. A key every reference row has must appear on the
 * portal; a key the reference never shows (and the schema does not know) is extra; a value type the
 * reference and the schema do not allow differs. `null` is only judged for schema-known keys (the
 * schema knows when a value is never null, e.g. legacy empty dates are `""`).
 */
export function compareRows(check: string, ref: Row[], seen: Row[], schema: Record<string, JsonType[]> = {}): Difference[] {
  const out: Difference[] = [];
  const refKeys = keyStats(ref);
  const seenKeys = keyStats(seen);
  for (const [k, st] of refKeys) {
    if (!PORTAL_SPECIFIC.test(k) && st.count === ref.length && !seenKeys.has(k)) out.push({ check, path: k, expected: `present (${join(st.types)})`, seen: 'missing' });
  }
  for (const [k, st] of seenKeys) {
    if (PORTAL_SPECIFIC.test(k)) continue;
    const r = refKeys.get(k);
    const known = schema[k];
    if (!r && !known) {
      out.push({ check, path: k, expected: 'absent', seen: `present (${join(st.types)})` });
      continue;
    }
    const allowed = new Set<JsonType>([...(r?.types ?? []), ...(known ?? [])]);
    const bad = [...st.types].filter((t) => !allowed.has(t) && !(t === 'null' && !known));
    if (bad.length) out.push({ check, path: k, expected: join(allowed), seen: join(bad) });
  }
  return out;
}

/** The exact key list a call must return (a crm.item select). */
export function compareKeys(check: string, want: string[], seen: Row[]): Difference[] {
  const out: Difference[] = [];
  for (const r of seen) {
    const keys = Object.keys(r).filter((k) => !PORTAL_SPECIFIC.test(k));
    if (keys.join(',') !== want.join(',')) {
      out.push({ check, path: 'keys', expected: want.join(','), seen: keys.join(',') });
      break;
    }
  }
  return out;
}

/** `400 NOT_FOUND`, `200`, `414 (not JSON)`. */
export function outcome(a: Answer): string {
  if (!a.body) return `${a.status} (not JSON)`;
  if (a.status === 200 && !('error' in a.body)) return '200';
  return `${a.status} ${JSON.stringify(a.body['error'] ?? '')}`;
}

/** An expected error: same HTTP status and error code as the reference. */
export function compareError(check: string, ref: Answer, seen: Answer): Difference[] {
  const e = outcome(ref);
  const s = outcome(seen);
  return e === s ? [] : [{ check, path: 'status/error', expected: e, seen: s }];
}

export function timeOf(a: Answer): Row | null {
  const t = a.body?.['time'];
  return t && typeof t === 'object' && !Array.isArray(t) ? (t as Row) : null;
}

/** The `time` blocks of all successful answers against the reference's: keys present everywhere, same types. */
export function compareTimeBlocks(check: string, ref: Row[], seen: Row[]): Difference[] {
  const out: Difference[] = [];
  const refKeys = keyStats(ref);
  const seenKeys = keyStats(seen);
  for (const [k, st] of refKeys) {
    const s = seenKeys.get(k);
    const missing = seen.length - (s?.count ?? 0);
    if (missing > 0) out.push({ check, path: `time.${k}`, expected: `in every answer (${join(st.types)})`, seen: `missing in ${missing} of ${seen.length}` });
    const bad = s ? [...s.types].filter((t) => !st.types.has(t)) : [];
    if (bad.length) out.push({ check, path: `time.${k}`, expected: join(st.types), seen: join(bad) });
  }
  for (const k of seenKeys.keys()) if (!refKeys.has(k)) out.push({ check, path: `time.${k}`, expected: 'absent', seen: 'present' });
  return out;
}
