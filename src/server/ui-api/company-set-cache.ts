/**
 * The company sets of the live count (src/segments/company-sets.ts), kept between counts: a manager
 * who builds a filter around "company size 50–250" counts it again at every change of the other
 * conditions, and reading the set cost 13–15 ms of a 95–105 ms count at 1M contacts and 50,000
 * companies (measured 2026-12-03).
 *
 * A set is kept with the fingerprint of the portal's company writes read in the same statement
 * (migration 029). The count statement reads the fingerprint again (`fingerprinted`); when it
 * differs from a set's, a company changed in between: the caller drops the portal's sets and
 * counts again with sets read anew. So a count never uses a set older than the companies it
 * counts against. Sets are also keyed by the portal's label_facts partition (a rebuild starts
 * afresh), and the cache holds at most `maxBytes` of bitmaps (the least recently used go first).
 */
import { COMPANIES_FP, readCompanySets, type CompanySet, type CompanyTest, type ReadCompanySet, type SqlQuery } from '../../segments/index.js';

/** Bitmaps kept per process and database: 16 MB (a set is at most 1 MB, company-sets.ts MAX_BITS). */
export const COMPANY_CACHE_BYTES = 16 * 1024 * 1024;

const sizeOf = (r: ReadCompanySet) => (r.set?.bits.length ?? 0) + 64;

export class CompanySetCache {
  private readonly entries = new Map<string, ReadCompanySet>();
  private bytes = 0;
  constructor(readonly maxBytes = COMPANY_CACHE_BYTES) {}

  /** The sets of `wanted` (test id → test) for the portal's partition `tbl`: kept ones, the others read now. */
  async get(db: SqlQuery, portalId: number, tbl: string, wanted: ReadonlyMap<string, CompanyTest>): Promise<Map<string, ReadCompanySet>> {
    const out = new Map<string, ReadCompanySet>();
    const missing = new Map<string, CompanyTest>();
    for (const [id, t] of wanted) {
      const k = key(portalId, tbl, id);
      const hit = this.entries.get(k);
      if (hit) {
        // most recently used last
        this.entries.delete(k);
        this.entries.set(k, hit);
        out.set(id, hit);
      } else missing.set(id, t);
    }
    if (missing.size) {
      for (const [id, r] of await readCompanySets(db, portalId, missing)) {
        out.set(id, r);
        this.put(key(portalId, tbl, id), r);
      }
    }
    return out;
  }

  /** Forgets the portal's sets (a count found another fingerprint). */
  drop(portalId: number): void {
    const prefix = `${portalId}\u0000`;
    for (const [k, r] of this.entries) {
      if (k.startsWith(prefix)) {
        this.entries.delete(k);
        this.bytes -= sizeOf(r);
      }
    }
  }

  private put(k: string, r: ReadCompanySet): void {
    const old = this.entries.get(k);
    if (old) this.bytes -= sizeOf(old);
    this.entries.set(k, r);
    this.bytes += sizeOf(r);
    for (const [first, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(first);
      this.bytes -= sizeOf(e);
    }
  }
}

const key = (portalId: number, tbl: string, id: string) => `${portalId}\u0000${tbl}\u0000${id}`;

/** The bitmaps of sets as read, for a compile (CompanySets' `found`). */
export const setsOf = (r: ReadonlyMap<string, ReadCompanySet>): Map<string, CompanySet | null> => new Map([...r].map(([id, x]) => [id, x.set]));

/** Did every set of `r` come from the fingerprint `fp` the count statement read? */
export const sameFingerprint = (r: ReadonlyMap<string, ReadCompanySet>, fp: string): boolean => [...r.values()].every((x) => x.fp === fp);

/** A count statement (columns tracked, count, revenue; $1 the portal) that also reads the portal's company fingerprint as `fp`. */
export const fingerprinted = (sql: string): string => `SELECT q.tracked, q.count, q.revenue, ${COMPANIES_FP} AS fp FROM (${sql}) q`;
