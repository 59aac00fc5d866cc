/**
 * Searches of a portal's count-table dictionaries (label_facts_run, migration 005): "the bits of
 * the cities that contain 'ber'", "the bits of the UF_CRM_TIER values that contain 'ilv'". A
 * filter's text conditions over label_facts test a row's code or value bits against such a mask.
 *
 * Compiled alone, a search is a subquery over label_facts_run that runs once per statement (an
 * InitPlan). The live count resolves the searches first, in one small statement over the
 * dictionaries it read (runDictSearches; the count statement checks that label_facts is still the
 * partition those dictionaries describe), and compiles the masks in as constants. Measured at 1M
 * contacts on 2026-12-03: a mask read from an InitPlan costs every row a parameter fetch, and each
 * InitPlan adds functions to the statement's JIT; *city contains* took 88 ms that way and 74 ms
 * with a constant. Both ways run the same SQL condition, so they find the same entries.
 */
import type { FactsDicts } from './facts.js';
import { Prefetch } from './prefetch.js';
import { escapeLike, Params, type SqlQuery } from './sql.js';

/** One search: the bits of the dictionary entries whose text satisfies `cond`. */
export interface DictSearch {
  /**
   * cities, posts: every entry, code o is bit o (label_facts.city, label_facts.pst); uvals: the entries of `key`
   * (key U+001F text, the condition sees the text), bit o − 1 (label_facts.uvals)
   */
  dict: 'cities' | 'posts' | 'uvals';
  key?: string;
  /** the condition on an entry's text v, its values bound through ps */
  cond: (v: string, ps: Params) => string;
  /** what the search is, as data (dictionary, key, operator, values): the same id finds the same bits */
  id: string;
}

const shift = (s: DictSearch) => (s.dict === 'uvals' ? '(d.o - 1)::int' : 'd.o::int');

function where(s: DictSearch, ps: Params): string {
  if (s.key === undefined) return s.cond('d.v', ps);
  const k = ps.p(s.key);
  return `left(d.v, length(${k}::text) + 1) = ${k}::text || chr(31) AND ${s.cond(`substr(d.v, length(${k}::text) + 2)`, ps)}`;
}

/** The mask of one search over the entries d(v, o) of `from` (and `also`, when given), as a scalar subquery. */
const maskOver = (s: DictSearch, from: string, also: string | null, ps: Params) =>
  `(SELECT COALESCE(bit_or(1::bigint << ${shift(s)}), 0) FROM ${from} WHERE ${also ? `${also} AND ` : ''}${where(s, ps)})`;

/** The UF (or standard field) values of `key` whose text contains `text`, without case (a `uf` or `crm` contains). */
export const uvalsContaining = (key: string, text: string): DictSearch => ({
  dict: 'uvals', key, id: JSON.stringify(['contains', key, text]), cond: (v, p) => `${v} ILIKE ${p.p(`%${escapeLike(text)}%`)}::text`,
});

/**
 * The searches of one compile: each is noted (`wanted`), and compiled as the constant mask in
 * `found` when there is one, else as a subquery over the portal's label_facts_run row ($1: the
 * portal id of every compiled query).
 */
export class DictSearches extends Prefetch<DictSearch, string> {
  bits(s: DictSearch, ps: Params): string {
    const m = this.note(s.id, s);
    if (m !== undefined) return `${ps.p(m)}::bigint`;
    return maskOver(s, `label_facts_run t, unnest(t.${s.dict}) WITH ORDINALITY d(v, o)`, 't.portal_id = $1', ps);
  }
}

/**
 * Runs the searches `wanted` over the dictionaries `d` (as readFactsDicts read them) in one
 * statement: search id → mask (int8 as text), for a second compile with DictSearches(found).
 */
export async function runDictSearches(db: SqlQuery, d: FactsDicts, wanted: ReadonlyMap<string, DictSearch>): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (!wanted.size) return found;
  const ps = new Params();
  const list = [...wanted.values()];
  const masks = list.map((s) => `${maskOver(s, `unnest(${ps.p(d[s.dict])}::text[]) WITH ORDINALITY d(v, o)`, null, ps)}::text`);
  const { rows } = await db.query<{ m: string[] }>(`SELECT ARRAY[${masks.join(', ')}] AS m`, ps.values);
  const m = rows[0]!.m;
  list.forEach((s, i) => found.set(s.id, m[i]!));
  return found;
}
