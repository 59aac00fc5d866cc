/**
 * Company conditions in the live count (src/segments/company-sets.ts): resolved to a bitmap of
 * company ids, kept as the subquery when the ids span more than MAX_BITS, or FALSE for an empty
 * set; every way counts what the join over contact_labels and contacts counts, and what the
 * companies' own values say (counted in JS). The live count keeps a set between counts until a
 * company of the portal is written (migration 029, src/server/ui-api/company-set-cache.ts).
 */
import { beforeAll, expect, it } from 'vitest';
import { countSegment } from '../../src/server/ui-api/queries.js';
import {
  CompanySets, compileCount, compileFilter, MAX_BITS, REVENUE_SQL, runCompanySets, segmentFilterSchema, type SegmentFilter,
} from '../../src/segments/index.js';
import { createScoreRun, insertContactLabels, readFactsDicts, upsertContacts, type Db } from '../../src/store/index.js';
import { eachDb } from '../helpers/db.js';

const f = (x: unknown): SegmentFilter => segmentFilterSchema.parse(x);
/** companies: ids not aligned to bytes, one far away (beyond a bitmap's span) */
const COMPANIES = [
  { id: 3, industry: 'IT', employees: 'EMPLOYEES_1', revenue: 500 },
  { id: 4, industry: 'RETAIL', employees: 'EMPLOYEES_2', revenue: 2_000_000 },
  { id: 11, industry: '', employees: 'EMPLOYEES_3', revenue: null },
  { id: 12, industry: null, employees: null, revenue: 1_000_000 },
  { id: 17, industry: 'IT', employees: 'EMPLOYEES_2', revenue: 999_999.5 },
  { id: 3 + MAX_BITS + 5, industry: 'BANKING', employees: 'EMPLOYEES_4', revenue: 7_000_000 },
];
const N = 60;
/** contact i's company: none for every fifth, one that does not exist for every seventh */
const companyOf = (i: number): number | null => (i % 5 === 0 ? null : i % 7 === 0 ? 999 : COMPANIES[i % COMPANIES.length]!.id);

const CASES: [SegmentFilter, (c: (typeof COMPANIES)[number] | undefined) => boolean][] = [
  [f({ all: [{ field: 'company_industry', values: ['IT'] }] }), (c) => c?.industry === 'IT'],
  [f({ all: [{ field: 'company_industry', op: 'not_in', values: ['IT'] }] }), (c) => c?.industry !== 'IT'],
  [f({ all: [{ field: 'company_industry', op: 'empty' }] }), (c) => !c?.industry],
  [f({ all: [{ field: 'company_industry', op: 'not_empty' }] }), (c) => !!c?.industry],
  [f({ all: [{ field: 'company_industry', values: ['BANKING'] }] }), (c) => c?.industry === 'BANKING'],
  [f({ all: [{ field: 'company_industry', values: ['NOBODY'] }] }), () => false],
  [f({ all: [{ field: 'company_size', values: ['EMPLOYEES_2', 'EMPLOYEES_4'] }] }), (c) => ['EMPLOYEES_2', 'EMPLOYEES_4'].includes(c?.employees ?? '')],
  [f({ all: [{ field: 'company_revenue', min: 1_000_000 }] }), (c) => c?.revenue != null && c.revenue >= 1_000_000],
  [f({ all: [{ field: 'company_revenue', max: 999_999.5 }] }), (c) => c?.revenue != null && c.revenue <= 999_999.5],
];

eachDb('company sets in the live count', (getDb) => {
  let portal = 0;
  let run = 0;
  beforeAll(async () => {
    const db = getDb();
    portal = (await db.query<{ id: number }>(`INSERT INTO portals (member_id, domain, status) VALUES ('co-sets', 'co.test', 'active') RETURNING id`)).rows[0]!.id;
    for (const c of COMPANIES) {
      await db.query(`INSERT INTO companies (portal_id, id, title, industry, employees, revenue) VALUES ($1, $2, $3, $4, $5, $6)`,
        [portal, c.id, `Co ${c.id}`, c.industry, c.employees, c.revenue]);
    }
    await upsertContacts(db, portal, Array.from({ length: N }, (_, k) => ({ id: k + 1, name: `N${k + 1}`, companyId: companyOf(k + 1) })));
    run = (await createScoreRun(db, portal, { asOf: new Date('2026-09-01T00:00:00Z') })).id;
    await insertContactLabels(db, portal, run, Array.from({ length: N }, (_, k) => ({ contactId: k + 1, segment: 'loyal', monetary: (k + 1) * 10 })));
  });

  const reference = async (db: Db, filter: SegmentFilter) => {
    const q = compileFilter(portal, run, filter);
    return (await db.query<{ count: number; revenue: number }>(`SELECT count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue ${q.fromWhere}`, q.params)).rows[0]!;
  };

  it('each condition counts its companies\' contacts: as a bitmap, as the subquery, and as the join', async () => {
    const db = getDb();
    const dicts = (await readFactsDicts(db, portal))!;
    expect(dicts.runId).toBe(run);
    for (const [filter, holds] of CASES) {
      const what = JSON.stringify(filter);
      const ids = Array.from({ length: N }, (_, k) => k + 1).filter((i) => holds(COMPANIES.find((c) => c.id === companyOf(i))));
      const want = { count: ids.length, revenue: ids.reduce((s, i) => s + i * 10, 0) };
      expect(await reference(db, filter), what).toEqual(want);
      expect(await countSegment(db, portal, run, filter, {}), what).toEqual(want);
      // unresolved: the subquery; resolved: the bitmap (or the subquery when the set spans too far)
      const plain = compileCount(portal, run, filter, {}, dicts);
      expect(plain.unresolvedCompanies?.size, what).toBe(1);
      const found = await runCompanySets(db, portal, plain.unresolvedCompanies!);
      const resolved = compileCount(portal, run, filter, { companies: new CompanySets(found) }, dicts);
      expect(resolved.unresolvedCompanies, what).toBeUndefined();
      for (const q of [plain, resolved]) {
        const { rows } = await db.query<{ count: number; revenue: number }>(q.sql, q.params);
        expect({ count: rows[0]!.count, revenue: rows[0]!.revenue }, what).toEqual(want);
      }
    }
  });

  it('a set of no company is FALSE, a set spanning more than MAX_BITS ids keeps the subquery, a near one is a bitmap', async () => {
    const db = getDb();
    const dicts = (await readFactsDicts(db, portal))!;
    const setOf = async (x: unknown) => {
      const c = compileCount(portal, run, f(x), {}, dicts);
      const found = await runCompanySets(db, portal, c.unresolvedCompanies!);
      return { set: [...found.values()][0], sql: compileCount(portal, run, f(x), { companies: new CompanySets(found) }, dicts).sql };
    };
    const none = await setOf({ all: [{ field: 'company_industry', values: ['NOBODY'] }] });
    expect(none.set).toEqual({ lo: '0', bits: new Uint8Array(0) });
    expect(none.sql).toContain('(FALSE)');
    const wide = await setOf({ all: [{ field: 'company_revenue', min: 2_000_000 }] }); // companies 4 and 3 + MAX_BITS + 5
    expect(wide.set).toBeNull();
    expect(wide.sql).toContain('IN (SELECT co.id FROM companies co');
    const near = await setOf({ all: [{ field: 'company_industry', values: ['IT', 'RETAIL'] }] }); // 3, 4, 17
    expect(near.set!.lo).toBe('3');
    // bit i is company 3 + i: 3 → bit 0, 4 → bit 1 (byte 0: 0b11), 17 → bit 14 (byte 1: 0b01000000)
    expect([...near.set!.bits]).toEqual([0b11, 0b01000000]);
    expect(near.sql).toContain('get_bit(');
    expect(near.sql).not.toContain('FROM companies');
    // the bit test reads label_facts' NOT NULL column (0 = none, below every set) as it is
    expect(near.sql).toContain('(l.company_id BETWEEN $');
    expect(near.sql).not.toContain('NULLIF(l.company_id');
  });

  it('a set read for one count is kept for the next while the companies are unchanged, and read again after a company write, also one between the read and the count', async () => {
    const db = getDb();
    const seen: string[] = [];
    /** a handle that records its statements and, once, runs `between` right after a set was read (another writer) */
    const handle = (between?: () => Promise<unknown>): Db => ({
      ...db,
      query: (async (sql: string, params?: unknown[]) => {
        seen.push(sql);
        const r = await db.query(sql, params);
        if (between && sql.includes('string_agg(co.id')) {
          const b = between;
          between = undefined;
          await b();
        }
        return r;
      }) as Db['query'],
    });
    const reads = () => seen.filter((s) => s.includes('string_agg(co.id')).length;
    const filter = f({ all: [{ field: 'company_industry', values: ['IT'] }] });
    const rec = handle();
    const first = await countSegment(rec, portal, run, filter, {});
    expect(first).toEqual(await reference(db, filter));
    expect(reads()).toBe(1);
    expect(await countSegment(rec, portal, run, filter, {})).toEqual(first);
    expect(reads()).toBe(1);
    // company 4 (RETAIL) becomes IT: the kept set is stale, the count sees it and reads the set again
    await db.query(`UPDATE companies SET industry = 'IT' WHERE portal_id = $1 AND id = 4`, [portal]);
    const more = await countSegment(rec, portal, run, filter, {});
    expect(more).toEqual(await reference(db, filter));
    expect(more.count).toBeGreaterThan(first.count);
    expect(reads()).toBe(2);
    // another writer turns company 4 back between the set's read and the count: read again, counted as it is now
    const racing = handle(() => db.query(`UPDATE companies SET industry = 'RETAIL' WHERE portal_id = $1 AND id = 4`, [portal]));
    expect(await countSegment(racing, portal, run, filter, {})).toEqual(first);
    expect(reads()).toBe(4);
    // a company deleted, one inserted: each is a write the next count sees
    await db.query(`DELETE FROM companies WHERE portal_id = $1 AND id = 17`, [portal]);
    const fewer = await countSegment(rec, portal, run, filter, {});
    expect(fewer).toEqual(await reference(db, filter));
    expect(fewer.count).toBeLessThan(first.count);
    await db.query(`INSERT INTO companies (portal_id, id, title, industry) VALUES ($1, 999, 'Co 999', 'IT')`, [portal]);
    const added = await countSegment(rec, portal, run, filter, {});
    expect(added).toEqual(await reference(db, filter));
    expect(added.count).toBeGreaterThan(fewer.count);
    expect(reads()).toBe(6);
  });
});
