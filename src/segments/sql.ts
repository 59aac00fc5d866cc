/**
 * SQL building blocks shared by the filter compiler's two targets (predicate.ts over
 * contact_labels / contacts, facts.ts over label_facts): bind parameters and the predicates both
 * emit. User input only ever travels as bind parameters; identifiers come from fixed whitelists
 * (UF keys are validated and passed as a parameter to the jsonb operator, never spliced).
 */
import type { Condition } from '../settings/segment-filter.js';
import { FilterError } from './errors.js';

/** Collects bind parameters; `p(v)` returns the placeholder. */
export class Params {
  readonly values: unknown[] = [];
  constructor(initial: unknown[] = []) {
    this.values.push(...initial);
  }
  p(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** The part of a database handle the segment queries use (src/store's Db has it). */
export interface SqlQuery {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

/** has email / has phone / reachable (either) on a row that carries the contact's has_email and has_phone (alias c or l). */
export function reachPredicate(field: 'has_email' | 'has_phone' | 'reachable', value: boolean, alias: 'c' | 'l'): string {
  const p = field === 'reachable' ? `(${alias}.has_email OR ${alias}.has_phone)` : `${alias}.${field}`;
  return value ? p : `NOT ${p}`;
}

/** A `uf` condition over a jsonb column of UF_CRM_* values (contacts.uf, label_facts.uf_rest). */
export function ufPredicate(c: Extract<Condition, { field: 'uf' }>, ps: Params, uf: string): string {
  const key = ps.p(c.key);
  if (c.op === 'empty') return `(${uf}->>${key} IS NULL OR ${uf}->>${key} = '' OR ${uf}->${key} = '[]'::jsonb)`;
  if (c.op === 'not_empty') return `(${uf}->>${key} IS NOT NULL AND ${uf}->>${key} <> '' AND ${uf}->${key} <> '[]'::jsonb)`;
  if (c.value === undefined) throw new FilterError(`uf ${c.key}: value required for ${c.op}`);
  if (c.op === 'eq') return `(${uf}->>${key} = ${ps.p(c.value)} OR ${uf}->${key} @> ${ps.p(JSON.stringify([c.value]))}::jsonb)`;
  return `${uf}->>${key} ILIKE ${ps.p(`%${escapeLike(c.value)}%`)}`;
}

/** lo ≤ col ≤ hi (either bound may be absent), cast to `cast`. */
export function rangeSql(col: string, lo: unknown, hi: unknown, ps: Params, cast: string): string {
  const parts: string[] = [];
  if (lo !== undefined && lo !== null && lo !== '') parts.push(`${col} >= ${ps.p(lo)}::${cast}`);
  if (hi !== undefined && hi !== null && hi !== '') parts.push(`${col} <= ${ps.p(hi)}::${cast}`);
  return parts.length ? parts.join(' AND ') : 'TRUE';
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}
