/**
 * Company conditions in the live count (src/segments/company-sets.ts): resolved to a bitmap of
 * company ids, kept as the subquery when the ids span more than MAX_BITS, or FALSE for an empty
 * set; every way counts what the join over contact_labels and contacts counts, and what the
 * companies' own values say (counted in JS).
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
});
