/**
 * The filter conditions over label_facts (migration 005: the run's label columns plus the
 * contact's own filter columns, coded with the portal's dictionaries), where they differ from
 * the same conditions over contact_labels / contacts (predicate.ts).
 */
import type { Condition } from '../settings/segment-filter.js';
import { crmFieldCondition, customerCondition, FACTS_COLS, readsFieldValues } from './customer.js';
import { FilterError } from './errors.js';
import { bitsOf, codedFieldCondition, searchedBits } from './field-bits.js';
import { interestsEver, LABEL_ONLY_RANGES, nameSearch, prevSegment, refusalReason, relativeDays, searchKey } from './label-extras.js';
import { escapeLike, Params, rangeSql, reachPredicate, ufPredicate } from './sql.js';

/**
 * A portal's count-table dictionaries (label_facts_run, migration 005; read by src/store/scores.ts
 * readFactsDicts): the run label_facts holds, its partition, and the values behind its codes (segs,
 * lcs, srcs, cities: code = position) and bits (itags, ukeys, uvals: bit = position - 1). Fixed
 * until the next rebuild, which renames the partition: a query compiled with them checks `tbl` in
 * the same statement.
 */
export interface FactsDicts {
  runId: number;
  tbl: string;
  itags: string[];
  ukeys: string[];
  uvals: string[];
  /** per key bit, the contacts whose value of the key had no value bit at the rebuild (migration 023); absent: unknown */
  urestN?: number[];
  segs: string[];
  lcs: string[];
  srcs: string[];
  cities: string[];
}

/**
 * label_facts keeps a contact's UF_CRM_* values without null, "" and [] (migration 005), as bits
 * (ukeys, uvals) and uf_rest. The filters answer the same on those as on contacts.uf, except where
 * an empty value could match: eq "" or "[]", and contains a part of "[]" (the text of an empty
 * array). Those read contacts.uf.
 */
const ufNeedsContacts = (c: Extract<Condition, { field: 'uf' }>) =>
  (c.op === 'eq' && (c.value === '' || c.value === '[]')) || (c.op === 'contains' && c.value !== undefined && '[]'.includes(c.value));


/**
 * A coded column: label_facts.<col> holds the value's position in the dictionary (at most 63), or
 * 0 and the value in <col>_rest when it had none (met after the rebuild). Values in the dictionary
 * are matched on the code (constants: the planner sees them; seg has an index), the others on
 * <col>_rest.
 */
function codedIn(ps: Params, col: string, dict: readonly string[], values: readonly string[]): string {
  const codes = [...new Set(values.map((v) => dict.indexOf(v) + 1).filter((n) => n > 0))];
  const rest = values.filter((v) => !dict.includes(v));
  const arms: string[] = [];
  if (codes.length) arms.push(`l.${col} = ANY(${ps.p(codes)}::smallint[])`);
  if (rest.length) arms.push(`(l.${col} = 0 AND COALESCE(l.${col}_rest = ANY(${ps.p(rest)}::text[]), false))`);
  return arms.length ? `(${arms.join(' OR ')})` : 'FALSE';
}

/** The bits (bit = code) of the dictionary entries that satisfy cond, found in SQL once per query. */
const codeBitsWhere = (dict: string, cond: (v: string) => string) =>
  `(SELECT COALESCE(bit_or(1::bigint << d.o::int), 0) FROM label_facts_run t, unnest(t.${dict}) WITH ORDINALITY d(v, o) WHERE t.portal_id = $1 AND ${cond('d.v')})`;

function cityCondition(c: Extract<Condition, { field: 'city' }>, ps: Params, d: FactsDicts): string {
  // the dictionary holds lower(city); 'in' values are lower-cased here, as over contacts
  if (c.op === 'in') return codedIn(ps, 'city', d.cities, c.values.map((v) => v.toLowerCase()));
  // city ILIKE p is lower(city) LIKE lower(p) (PostgreSQL's own definition)
  const patterns = c.values.map((v) => ps.p(`%${escapeLike(v)}%`));
  const like = (v: string) => `(${patterns.map((p) => `${v} LIKE lower(${p}::text)`).join(' OR ')})`;
  return `(((1::bigint << l.city) & ${codeBitsWhere('cities', like)}) <> 0 OR (l.city = 0 AND COALESCE(${like('l.city_rest')}, false)))`;
}

function interestsCondition(c: Extract<Condition, { field: 'interests' }>, ps: Params, d: FactsDicts): string {
  // tags with a bit in the portal's dictionary are tested on imask, the others on interests_rest
  const bits = [...new Set(c.values.map((v) => d.itags.indexOf(v)).filter((n) => n >= 0))];
  const rest = [...new Set(c.values.filter((v) => !d.itags.includes(v)))];
  const mask = bits.length ? ps.p(bitsOf(bits)) : null;
  const r = rest.length ? ps.p(rest) : null;
  if (c.mode === 'all') {
    const parts = [mask ? `(l.imask & ${mask}::bigint) = ${mask}::bigint` : null, r ? `COALESCE(l.interests_rest @> ${r}::text[], false)` : null];
    return `(${parts.filter(Boolean).join(' AND ')})`;
  }
  const parts = [mask ? `(l.imask & ${mask}::bigint) <> 0` : null, r ? `COALESCE(l.interests_rest && ${r}::text[], false)` : null];
  return `(${parts.filter(Boolean).join(' OR ')})`;
}

function ufCondition(c: Extract<Condition, { field: 'uf' }>, ps: Params, d: FactsDicts): string {
  if (ufNeedsContacts(c)) {
    return `EXISTS (SELECT 1 FROM contacts c WHERE c.portal_id = l.portal_id AND c.id = l.contact_id AND ${ufPredicate(c, ps, 'c.uf')})`;
  }
  // label_facts keeps non-empty values only: having the key is not_empty. A key with a bit is
  // tested on ukeys; the values of a key without one are all in uf_rest.
  if (c.op === 'not_empty' || c.op === 'empty') {
    const kbit = d.ukeys.indexOf(c.key);
    const has = kbit >= 0 ? `((l.ukeys & ${ps.p(bitsOf([kbit]))}::bigint) <> 0)` : `COALESCE(l.uf_rest ? ${ps.p(c.key)}::text, false)`;
    return c.op === 'not_empty' ? has : `NOT ${has}`;
  }
  if (c.value === undefined) throw new FilterError(`uf ${c.key}: value required for ${c.op}`);
  // the dictionary's values that match (eq: looked up here; contains: searched in SQL once), or a value kept in uf_rest
  let vbits: string;
  if (c.op === 'eq') {
    const vbit = d.uvals.indexOf(`${c.key}\u001f${c.value}`);
    vbits = `${ps.p(vbit >= 0 ? bitsOf([vbit]) : '0')}::bigint`;
  } else {
    const pattern = `%${escapeLike(c.value)}%`;
    vbits = searchedBits(c.key, ps, (v) => `${v} ILIKE ${ps.p(pattern)}::text`);
  }
  // uf_rest is read only where it holds this key's value (urest), or for a key without a bit
  const kbit = d.ukeys.indexOf(c.key);
  const inRest = kbit >= 0 ? `(l.urest & ${ps.p(bitsOf([kbit]))}::bigint) <> 0` : 'l.uf_rest IS NOT NULL';
  return `((l.uvals & ${vbits}) <> 0 OR (${inRest} AND COALESCE(${ufPredicate(c, ps, 'l.uf_rest')}, false)))`;
}

/** A predicate over the same run's contact_labels row x of a label_facts row l. */
const onLabels = (pred: string) =>
  `EXISTS (SELECT 1 FROM contact_labels x WHERE x.portal_id = l.portal_id AND x.run_id = $2 AND x.contact_id = l.contact_id AND ${pred})`;

/** Conditions over label_facts l that differ from contact_labels / contacts (null: same SQL). */
export function compileFactsCondition(
  c: Condition, ps: Params, d: FactsDicts, searchIds?: ReadonlyMap<string, readonly number[]>,
): string | null {
  switch (c.field) {
    case 'range':
      return LABEL_ONLY_RANGES.has(c.key) ? onLabels(rangeSql(relativeDays(c.key, 'x')!, c.min, c.max, ps, 'float8')) : null;
    case 'prev_segment':
      return onLabels(prevSegment(c, ps, 'x'));
    case 'refusal_reason':
      return onLabels(refusalReason(c, ps, 'x'));
    case 'search':
      return `EXISTS (SELECT 1 FROM contacts c WHERE c.portal_id = l.portal_id AND c.id = l.contact_id AND ${nameSearch(c.text, ps, 'c', 'c.id', searchIds?.get(searchKey(c.text)))})`;
    case 'segment':
      return codedIn(ps, 'seg', d.segs, c.values);
    case 'lifecycle':
      return codedIn(ps, 'lc', d.lcs, c.values);
    case 'source':
      return codedIn(ps, 'src', d.srcs, c.values);
    case 'responsible': {
      const has = `l.assigned_by_id = ANY(${ps.p(c.values)}::bigint[])`;
      return c.op === 'not_in' ? `NOT COALESCE(${has}, false)` : has;
    }
    case 'city':
      return cityCondition(c, ps, d);
    case 'interests':
      return c.when === 'ever' ? onLabels(interestsEver(c, ps, 'x')) : interestsCondition(c, ps, d);
    case 'uf':
      return ufCondition(c, ps, d);
    case 'has_email':
    case 'has_phone':
    case 'reachable':
      return reachPredicate(c.field, c.value, 'l');
    case 'crm':
      // any field: the label's contact's values (contact_field_values, migration 021), or the
      // label's contact row for a standard field with a column of its own (label_facts copies neither)
      // (l.contact_id + 0: the semi-join hashes the field's contact ids and reads label_facts in one
      // scan; the planner cannot estimate how many a `contains` finds, and at 1M contacts it chose
      // 111k primary-key lookups (1.8 s) over the scan for too low a guess)
      // a field label_facts codes (migration 023) is a bit test first (field-bits.ts)
      if (readsFieldValues(c.key)) return codedFieldCondition(c, ps, d) ?? crmFieldCondition(c, ps, 'c', 'contact', '(l.contact_id + 0)');
      return `EXISTS (SELECT 1 FROM contacts c WHERE c.portal_id = l.portal_id AND c.id = l.contact_id AND ${crmFieldCondition(c, ps, 'c')})`;
    default:
      // age, job title, created, company: label_facts' copies (migration 012)
      return customerCondition(c, ps, FACTS_COLS);
  }
}
