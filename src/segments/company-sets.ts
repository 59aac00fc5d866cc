/**
 * Company conditions in the live count (industry, size, revenue: customer.ts companyTest) as
 * bitmaps. Compiled alone, "the contact's company is one of the companies that satisfy p" is a
 * hashed subquery over the portal's companies, probed for every row that has a company. The live
 * count resolves the set first, in one small query per condition, into a bitmap of company ids
 * (bit i = company lo + i) and tests the row's bit in a constant: measured at 1M contacts on
 * 2026-12-03, the probe of the hashed subquery cost about 60 ms per count, the bit test about 15.
 * A set whose ids span more than MAX_BITS keeps the subquery. Both read the same companies with
 * the same predicate. A set is read with the portal's fingerprint of company writes (COMPANIES_FP,
 * migration 029), so it can be kept between counts (src/server/ui-api/company-set-cache.ts) while
 * the count statement finds the same fingerprint.
 */
import { companyTest, FACTS_COLS, ofCompany, type CompanyCondition, type CompanyTest, type CustomerCols } from './customer.js';
import { Prefetch } from './prefetch.js';
import { Params, type SqlQuery } from './sql.js';

/** The widest span of company ids a bitmap covers: 8M ids, a 1 MB parameter. */
export const MAX_BITS = 8 * 1024 * 1024;

/** The companies of a set: bit i of `bits` (get_bit's order) is company lo + i; none when bits is empty. */
export interface CompanySet {
  lo: string;
  bits: Uint8Array;
}

/**
 * The company tests of one compile: each is noted (`wanted`), and compiled as a test of its bitmap
 * in `found` when there is one (null: too wide, the subquery), else as the subquery.
 */
export class CompanySets extends Prefetch<CompanyTest, CompanySet | null> {
  /**
   * k.companyId's company satisfies t.pred (false without a company); t.negated is the caller's.
   * Where k has the stored column (label_facts: NOT NULL, 0 for none, below every set's lowest id),
   * the bit test reads it as it is: no NULLIF, never NULL, so no COALESCE. Measured at 1M contacts
   * (2026-12-03), the count took 83–98 ms instead of 102–124.
   */
  has(t: CompanyTest, ps: Params, k: CustomerCols): string {
    const { companyId } = k;
    const f = this.note(t.id, t);
    if (!f) return ofCompany(companyId, t, ps);
    if (!f.bits.length) return 'FALSE';
    const lo = `${ps.p(f.lo)}::bigint`;
    const stored = k.stored?.companyId;
    if (stored !== undefined && BigInt(f.lo) > 0n) {
      const hi = `${ps.p(String(BigInt(f.lo) + BigInt(f.bits.length * 8 - 1)))}::bigint`;
      return `(${stored} BETWEEN ${lo} AND ${hi} AND get_bit(${ps.p(f.bits)}::bytea, (${stored} - ${lo})::int) = 1)`;
    }
    return `COALESCE(${companyId} >= ${lo} AND ${companyId} - ${lo} < ${f.bits.length * 8} AND get_bit(${ps.p(f.bits)}::bytea, (${companyId} - ${lo})::int) = 1, false)`;
  }
}

/**
 * A company condition over rows with label_facts' company column (l.company_id, 0 for none):
 * label_facts itself and label_company_cube (migration 030), in the set's bitmap or subquery.
 */
export function companyCondition(c: CompanyCondition, ps: Params, companies: CompanySets): string {
  const t = companyTest(c);
  const has = companies.has(t, ps, FACTS_COLS);
  return t.negated ? `NOT ${has}` : has;
}

/**
 * The portal's ($1) fingerprint of company writes (migration 029: how many logged statements, the
 * highest v): the same in two statements only if no company of the portal changed in between.
 */
export const COMPANIES_FP = `(SELECT count(*)::text || '/' || COALESCE(max(cc.v), 0)::text FROM company_changes cc WHERE cc.portal_id = $1)`;

/** A company set as read, with the portal's fingerprint (COMPANIES_FP) in the same statement. */
export interface ReadCompanySet {
  fp: string;
  set: CompanySet | null;
}

/** The bitmap of the portal's companies that satisfy t (null when their ids span more than MAX_BITS). */
async function companySet(db: SqlQuery, portalId: number, t: CompanyTest): Promise<ReadCompanySet> {
  const ps = new Params([portalId]);
  // one text of ids (an array of them costs the driver more to parse than the query takes)
  const { rows } = await db.query<{ fp: string; ids: string | null }>(
    `SELECT ${COMPANIES_FP} AS fp, string_agg(co.id::text, ',') AS ids FROM companies co WHERE co.portal_id = $1 AND ${t.pred(ps)}`, ps.values);
  const fp = rows[0]!.fp;
  const ids = rows[0]?.ids ? rows[0].ids.split(',').map(Number) : [];
  return { fp, set: ids.length ? bitmapOf(ids) : { lo: '0', bits: new Uint8Array(0) } };
}

/** The bitmap of company ids (null when they span more than MAX_BITS, or an id is beyond 2^53). */
function bitmapOf(ids: number[]): CompanySet | null {
  let lo = ids[0]!;
  let hi = lo;
  for (const id of ids) {
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  const span = hi - lo + 1;
  // an id beyond 2^53 would not be read exactly: keep the subquery
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || span > MAX_BITS) return null;
  const bits = new Uint8Array(Math.ceil(span / 8));
  // get_bit(bytea, n) reads bit n % 8 (the least significant first) of byte n / 8
  for (const id of ids) {
    const n = id - lo;
    bits[n >> 3] = (bits[n >> 3] ?? 0) | (1 << (n & 7));
  }
  return { lo: String(lo), bits };
}

/** Resolves the company tests `wanted` of a compile: test id → its bitmap (null: keep the subquery) and fingerprint. */
export async function readCompanySets(db: SqlQuery, portalId: number, wanted: ReadonlyMap<string, CompanyTest>): Promise<Map<string, ReadCompanySet>> {
  const found = new Map<string, ReadCompanySet>();
  for (const [id, t] of wanted) found.set(id, await companySet(db, portalId, t));
  return found;
}

/** Resolves the company tests `wanted` of a compile: test id → its bitmap (null: keep the subquery). */
export async function runCompanySets(db: SqlQuery, portalId: number, wanted: ReadonlyMap<string, CompanyTest>): Promise<Map<string, CompanySet | null>> {
  return new Map([...(await readCompanySets(db, portalId, wanted))].map(([id, r]) => [id, r.set]));
}
