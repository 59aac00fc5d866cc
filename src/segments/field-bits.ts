/**
 * *Any field* (`crm`) in the live count, on a field label_facts codes (migration 023): a contact's
 * standard fields (contacts.std) and UF_CRM_* fields are coded as its UF values were (migration
 * 005): the portal's (up to) 63 most common keys have a key bit (ukeys), the 63 most common
 * scalar values of those keys a value bit (uvals, key U+001F text), and a contact whose value of a
 * key has no value bit (a rarer value, an array, an object) has the key's bit in urest.
 *
 * So for a key with a bit, "some value of the contact satisfies the condition" is exactly:
 *   (uvals & bits of the dictionary values that satisfy it) <> 0
 *   OR (urest has the key's bit AND EXISTS one of the contact's contact_field_values rows that does)
 * The first part is an integer test in the count's one scan of label_facts; the second is an
 * index probe of that contact's own rows (contact_field_values_contact), made only for a contact
 * whose value has no bit. That is cheap while such contacts are few: a key with more than
 * MAX_PROBES of them at the last rebuild (label_facts_run.urest_n; a multiple field, a free text,
 * a date), or a portal whose count needs are unknown, keeps customer.ts's semi-join, which reads the
 * field's matching values once. A value a quarter of the contacts hold is what this is for: its bit
 * answers, where the semi-join hashed a quarter of a million ids. Range and dates (the number and
 * day conversions) keep the semi-join too.
 *
 * The dictionary's values are tested as contact_field_values' rows are (customer.ts
 * fieldValueTest): a coded value is a scalar's text (`#>> '{}'`), as that table keeps it; `in`,
 * `is` and `eq` skip a value longer than an index entry (that table keeps it as parts, which they
 * skip) and `contains` reads it whole (its parts overlap by more than a filter's text).
 */
import type { Condition } from '../settings/segment-filter.js';
import { fieldValueTest, positiveOf, YES_SPELLINGS } from './customer.js';
import { uvalsContaining, type DictSearches } from './dict-search.js';
import type { Params } from './sql.js';

type Crm = Extract<Condition, { field: 'crm' }>;
/** What contact_field_values keeps whole (migration 021's LONG_BYTES): longer values are parts. */
const WHOLE_BYTES = 2000;

/** int8 (as text, for a bind parameter) with the given bits set; bit 63 is the sign bit. */
export const bitsOf = (bits: number[]) => BigInt.asIntN(64, bits.reduce((m, b) => m | (1n << BigInt(b)), 0n)).toString();

/**
 * The value bits of a positive condition (in, is 'Y', not_empty: looked up here, so the planner
 * sees a constant; eq, contains: searched in SQL), or null for one this file leaves to customer.ts.
 */
function valueBits(x: Crm, ps: Params, uvals: readonly string[], searches: DictSearches): string | null {
  const prefix = `${x.key}\u001f`;
  const whole = (b: number) => Buffer.byteLength(uvals[b]!) - Buffer.byteLength(prefix) <= WHOLE_BYTES;
  const listed = (values: readonly string[]) => `${ps.p(bitsOf(values.map((v) => uvals.indexOf(prefix + v)).filter((b) => b >= 0 && whole(b))))}::bigint`;
  switch (x.op) {
    case 'not_empty':
      return `${ps.p(bitsOf(uvals.flatMap((p, b) => (p.startsWith(prefix) ? [b] : []))))}::bigint`;
    case 'in':
      return x.values?.length ? listed(x.values) : null;
    case 'is':
      return listed(YES_SPELLINGS);
    case 'eq':
      if (x.value === undefined) return null;
      return searches.bits({
        dict: 'uvals', key: x.key, id: JSON.stringify(['crm eq', x.key, x.value.toLowerCase()]),
        cond: (v, p) => `octet_length(${v}) <= ${WHOLE_BYTES} AND lower(${v}) = ${p.p(x.value!.toLowerCase())}::text`,
      }, ps);
    case 'contains':
      if (x.value === undefined) return null;
      return searches.bits(uvalsContaining(x.key, x.value), ps);
    default:
      return null;
  }
}

/**
 * Contacts without a value bit that a count probes one by one at most (about 10k index probes: tens
 * of milliseconds); a key with more at the last rebuild keeps the semi-join.
 */
export const MAX_PROBES = 10_000;

/**
 * A `crm` condition on a contact over label_facts l through the key's bits, or null when the key
 * has no bit in the portal's dictionary (`ukeys`), too many contacts without a value bit
 * (`urestN`), or the condition is not coded (range, dates, a missing or wrong value: customer.ts
 * answers, and its errors are the user's).
 */
export function codedFieldCondition(
  x: Crm, ps: Params, d: { ukeys: readonly string[]; uvals: readonly string[]; urestN?: readonly number[] }, searches: DictSearches,
): string | null {
  const kbit = d.ukeys.indexOf(x.key);
  if (kbit < 0 || (d.urestN?.[kbit] ?? Infinity) > MAX_PROBES) return null;
  if (x.op === 'is' && x.value !== 'Y' && x.value !== 'N') return null;
  const { pos, negated } = positiveOf(x);
  const bits = valueBits(pos, ps, d.uvals, searches);
  if (bits === null) return null;
  const probe = `EXISTS (SELECT 1 FROM contact_field_values v WHERE v.portal_id = $1 AND v.contact_id = l.contact_id AND v.field = ${ps.p(x.key)}::text
           AND ${fieldValueTest(pos, ps, `${x.key} ${x.op}`)})`;
  const has = `((l.uvals & ${bits}) <> 0 OR ((l.urest & ${ps.p(bitsOf([kbit]))}::bigint) <> 0 AND ${probe}))`;
  return negated ? `NOT ${has}` : has;
}
