/**
 * The count tables of migration 005 (label_facts, label_cube) on PGlite and PostgreSQL: every
 * filter kind the compiler knows counts the same from them as from contact_labels joined to
 * contacts, after every way the store changes: label upserts and deletes (event rescoring), contact
 * updates, deletes and re-inserts (sync), a new run finished as done (rebuild and swap), an older
 * run asked for (fallback), the tracked run deleted, another portal's changes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createScoreRun, deleteContacts, deletePortalData, finishScoreRun, insertContactLabels, readFactsDicts, upsertContacts, vacuumLabelFacts,
  type ContactInput, type ContactLabelInput, type Db, type FactsDicts,
} from '../../src/store/index.js';
import { countSegment, runTotals } from '../../src/server/ui-api/queries.js';
import {
  compileCount, compileFilter, cubeAnswers, DictSearches, REST_COLS, REVENUE_SQL, runDictSearches, segmentFilterSchema, type CompileOptions, type SegmentFilter,
} from '../../src/segments/index.js';
import { MAX_PROBES } from '../../src/segments/field-bits.js';
import { eachDb } from '../helpers/db.js';

const N = 240;
const SEGS = ['champions', 'loyal', 'at_risk', 'lost', 'new', null] as const;
const CITIES = ['Berlin', 'BERLIN', 'berlin', 'Kyiv', 'Lviv', 'Zürich', 'Ğstanbul', null, ''];
/** UF values around every edge the compiler has: empty ones, numbers, booleans, arrays, objects */
const UF_VALUES: unknown[] = ['gold', 'silver', '', null, [], ['gold', 'x'], [''], 5, '5', 5.0, 12.5, true, 'true', { a: 1 }, '[]', 'Gold'];

const contact = (i: number, v = 0): ContactInput => ({
  id: i,
  name: `N${i}`,
  // ~80 towns besides: more than the 63 codes of the city dictionary
  city: i % 3 === 2 ? `Town${i}` : CITIES[(i + v) % CITIES.length],
  sourceId: i % 7 === 0 ? null : ['WEB', 'CALL', 'EMAIL'][(i + v) % 3],
  assignedById: (i % 5) + 1,
  hasEmail: (i + v) % 2 === 0,
  hasPhone: i % 3 === 0,
  // what a customer is (migrations 012, 027): some without a birth date, created day or company
  birthdate: i % 4 === 0 ? null : `19${50 + ((i + v) % 50)}-0${(i % 9) + 1}-1${i % 10}`,
  dateCreate: i % 6 === 0 ? null : `2024-0${((i + v) % 9) + 1}-0${(i % 9) + 1}T10:00:00Z`,
  // 80 titles held once besides 4 common ones: more than the 63 codes of the job-title dictionary
  // (migration 028); 'Chief Buyer' only from the sync after the rebuild (v = 9)
  post: i % 3 === 0 ? null : i % 3 === 1 ? `Title ${i}` : v === 9 && i % 4 === 0 ? 'Chief Buyer' : ['Sales Manager', 'director', '', 'SALES manager'][(i + v) % 4],
  companyId: i % 5 === 0 ? null : ((i + v) % 4) + 1,
  uf: {
    UF_CRM_TIER: UF_VALUES[(i + v) % UF_VALUES.length],
    UF_CRM_N: UF_VALUES[(i * 7) % UF_VALUES.length],
    ...(i % 4 === 0 ? {} : { UF_CRM_TAGS: i % 4 === 1 ? ['a', 'b'] : [] }),
    // 80 more keys: more than the 63 bits of the key dictionary
    [`UF_CRM_K${i % 80}`]: i % 3 === 0 ? '' : `v${i % 5}`,
    ...(v === 9 ? { UF_CRM_NEW: i % 2 ? 'fresh' : '' } : {}),
    OTHER_KEY: 'ignored',
  },
});

const label = (i: number, v = 0): ContactLabelInput => {
  const buyer = (i + v) % 6 !== 0;
  const r = ((i + v) % 5) + 1;
  const f = ((i >> 1) % 5) + 1;
  const m = ((i >> 2) % 5) + 1;
  return {
    contactId: i,
    segment: SEGS[(i + v) % SEGS.length],
    rfm: buyer ? `${r}${f}${m}` : null,
    r: buyer ? r : null,
    f: buyer ? f : null,
    m: buyer ? m : null,
    recencyDays: buyer ? (i * 13 + v) % 400 : null,
    frequency: buyer ? (i % 9) + 1 : null,
    monetary: buyer ? ((i * 37 + v) % 1000) + 0.25 : null,
    clv: buyer ? (i * 11) % 700 : null,
    pAlive: buyer ? ((i + v) % 10) / 10 : null,
    lastPurchase: buyer ? `2026-0${(i % 9) + 1}-1${i % 10}` : null,
    lifecycle: i % 11 === 0 ? null : ['one_time', 'regular', 'returning', 'refused'][(i + v) % 4],
    sleeping: (i + v) % 4 === 0,
    // 120 more tags: more than the 63 bits of the tag dictionary; canoes only from rescoring (v = 5)
    interests: [...(i % 3 === 0 ? ['bikes', 'tents'] : i % 3 === 1 ? ['bikes'] : []), ...(i % 2 === 0 ? [`t${i}`] : []), ...(v === 5 && i % 2 ? ['canoes'] : [])],
    // columns only contact_labels has (the count tables read them through EXISTS)
    firstPurchase: buyer ? `2025-${String((i % 12) + 1).padStart(2, '0')}-0${(i % 9) + 1}` : null,
    nextPurchase: buyer && i % 4 ? `2026-10-${String((i % 27) + 1).padStart(2, '0')}` : null,
    extra: {
      prevSegment: i % 5 === 0 ? null : SEGS[(i + v + 2) % SEGS.length],
      ...(i % 7 === 0 ? {} : { interestsEver: [...(i % 3 === 0 ? ['bikes', 'tents'] : ['bikes']), ...(i % 5 === 0 ? ['kayaks'] : [])] }),
    },
  };
};

const f = (x: unknown) => segmentFilterSchema.parse(x);
const saved = new Map<string, SegmentFilter>([
  ['vip', f({ all: [{ field: 'segment', values: ['champions', 'loyal'] }] })],
  ['berliners', f({ all: [{ field: 'city', op: 'in', values: ['berlin'] }] })],
  ['rich', f({ all: [{ field: 'range', key: 'monetary', min: 500 }] })],
]);
// a search text's contacts found by phone / e-mail (the UI API looks them up with the user's token)
const opts: CompileOptions = { saved, searchIds: new Map([['n1', [200, 201]]]) };

const FILTERS: SegmentFilter[] = [
  { all: [] },
  { all: [{ field: 'segment', values: ['champions', 'lost'] }] },
  { all: [{ field: 'lifecycle', values: ['regular'] }, { field: 'sleeping', value: false }] },
  { all: [{ field: 'rfm', values: ['111', '234', '555'] }] },
  { all: [{ field: 'range', key: 'r', min: 3 }, { field: 'range', key: 'm', max: 2 }] },
  { all: [{ field: 'range', key: 'r', min: -5, max: 0 }] },
  { all: [{ field: 'saved', id: 'vip' }], exclude: { all: [{ field: 'sleeping', value: true }] } },
  { all: [], any: [{ field: 'segment', values: ['new'] }, { field: 'range', key: 'f', min: 5 }] },
  { all: [{ field: 'range', key: 'monetary', min: 100, max: 600 }, { field: 'range', key: 'p_alive', min: 0.5 }] },
  { all: [{ field: 'range', key: 'monetary', max: 0 }] },
  { all: [{ field: 'range', key: 'clv', min: 100 }, { field: 'range', key: 'recency_days', max: 200 }] },
  { all: [{ field: 'range', key: 'frequency', min: 3, max: 7 }] },
  { all: [{ field: 'last_purchase', from: '2026-03-01', to: '2026-06-30' }] },
  { all: [{ field: 'last_purchase', to: '2026-02-15' }] },
  { all: [{ field: 'interests', mode: 'all', values: ['bikes', 'tents'] }] },
  { all: [{ field: 'interests', mode: 'any', values: ['tents', 'kayaks'] }] },
  { all: [], exclude: { all: [{ field: 'interests', mode: 'any', values: ['bikes'] }] } },
  { all: [{ field: 'interests', mode: 'all', values: ['bikes', 'canoes'] }] },
  { all: [{ field: 'interests', mode: 'any', values: ['canoes', 'kayaks', 't236'] }] },
  { all: [{ field: 'interests', mode: 'all', values: ['t2', 't236', 'bikes'] }] },
  { all: [{ field: 'interests', mode: 'all', values: ['t236', 'tents'] }] },
  { all: [{ field: 'interests', mode: 'any', values: ['t4', 't8', 't230'] }] },
  { all: [], exclude: { all: [{ field: 'interests', mode: 'any', values: ['canoes', 't234'] }] } },
  { all: [{ field: 'city', op: 'in', values: ['Berlin', 'zürich'] }] },
  { all: [{ field: 'city', op: 'contains', values: ['ERL', 'ğst'] }] },
  { all: [{ field: 'city', op: 'contains', values: ['%'] }] },
  { all: [{ field: 'source', values: ['WEB'] }, { field: 'has_email', value: false }] },
  { all: [{ field: 'responsible', values: [2, 4] }] },
  { all: [{ field: 'has_phone', value: true }, { field: 'segment', values: ['at_risk'] }] },
  { all: [{ field: 'reachable', value: false }] },
  { all: [{ field: 'reachable', value: true }] },
  { all: [{ field: 'segment', values: ['loyal'] }], exclude: { all: [{ field: 'source', values: ['WEB'] }] } },
  { all: [{ field: 'saved', id: 'rich' }], exclude: { all: [{ field: 'saved', id: 'berliners' }] } },
  { all: [], any: [{ field: 'saved', id: 'berliners' }, { field: 'interests', mode: 'all', values: ['tents'] }] },
  ...['gold', '', '[]', '5', '5.0', '12.5', 'true', '{"a":1}', '{"a": 1}', 'x', 'Gold'].map((value) => ({ all: [{ field: 'uf', key: 'UF_CRM_TIER', op: 'eq', value }] })),
  ...['5', 'true', '[]', 'gold'].map((value) => ({ all: [{ field: 'uf', key: 'UF_CRM_N', op: 'eq', value }] })),
  ...['old', 'OLD', '', '[', ']', '[]', '"', '5', 'ru', '{'].map((value) => ({ all: [{ field: 'uf', key: 'UF_CRM_TIER', op: 'contains', value }] })),
  ...['UF_CRM_TIER', 'UF_CRM_TAGS', 'UF_CRM_MISSING', 'UF_CRM_NEW', 'UF_CRM_K1', 'UF_CRM_K79'].flatMap((key) => ['empty', 'not_empty'].map((op) => ({ all: [{ field: 'uf', key, op }] }))),
  ...['UF_CRM_NEW', 'UF_CRM_K2', 'UF_CRM_K77'].flatMap((key) => [{ all: [{ field: 'uf', key, op: 'eq', value: key === 'UF_CRM_NEW' ? 'fresh' : 'v2' }] }, { all: [{ field: 'uf', key, op: 'contains', value: 'R' }] }]),
  { all: [{ field: 'segment', values: ['champions'] }], exclude: { all: [{ field: 'uf', key: 'UF_CRM_TIER', op: 'empty' }] } },
  { all: [{ field: 'uf', key: 'UF_CRM_TAGS', op: 'eq', value: 'a' }, { field: 'range', key: 'monetary', min: 10 }] },
  // values first met after the rebuild (no code in the dictionaries)
  { all: [{ field: 'segment', values: ['hibernating', 'loyal'] }, { field: 'has_email', value: true }] },
  { all: [{ field: 'lifecycle', values: ['uninterested', 'regular'] }, { field: 'range', key: 'clv', min: 1 }] },
  { all: [{ field: 'source', values: ['PARTNER', 'CALL'] }] },
  { all: [{ field: 'city', op: 'in', values: ['paris', 'Lviv'] }] },
  { all: [{ field: 'city', op: 'contains', values: ['ARI', 'vi'] }] },
  { all: [{ field: 'city', op: 'in', values: ['town5', 'Town236', 'berlin'] }] },
  { all: [{ field: 'city', op: 'contains', values: ['wn23', 'own1'] }] },
  { all: [], exclude: { all: [{ field: 'source', values: ['PARTNER'] }] } },
  // relative purchase days, previous segment, interests ever bought, name / ID search, fixed lists
  { all: [{ field: 'range', key: 'first_purchase_days', max: 300 }] },
  { all: [{ field: 'range', key: 'next_purchase_days', min: -5, max: 7 }, { field: 'has_phone', value: true }] },
  { all: [{ field: 'prev_segment', values: ['at_risk', 'lost'] }, { field: 'segment', values: ['champions', 'loyal', 'new'] }] },
  { all: [{ field: 'interests', when: 'ever', mode: 'any', values: ['kayaks', 'canoes'] }] },
  { all: [{ field: 'interests', when: 'ever', mode: 'all', values: ['bikes', 'tents'] }] },
  { all: [], exclude: { all: [{ field: 'interests', when: 'ever', mode: 'any', values: ['kayaks'] }] } },
  { all: [{ field: 'search', text: 'N1' }] },
  { all: [{ field: 'search', text: '#17' }] },
  { all: [{ field: 'search', text: '%' }] },
  { all: [{ field: 'contact', ids: [1, 2, 3, 50, 999] }, { field: 'range', key: 'monetary', min: 1 }] },
  // what a customer is, over label_facts' copies (a missing value kept as 'infinity' / 0, migration 027)
  { all: [{ field: 'age', min: 30, max: 60 }] },
  { all: [{ field: 'age', max: 40 }] },
  { all: [], exclude: { all: [{ field: 'age', min: 50 }] } },
  { all: [{ field: 'created', from: '2024-03-01', to: '2024-06-30' }] },
  { all: [{ field: 'created', to: '2024-04-01' }] },
  { all: [], exclude: { all: [{ field: 'created', from: '2024-01-01' }] } },
  { all: [{ field: 'post', op: 'contains', values: ['MANAGER'] }] },
  { all: [{ field: 'post', op: 'empty' }] },
  { all: [{ field: 'post', op: 'not_empty' }, { field: 'segment', values: ['loyal', 'lost'] }] },
  { all: [{ field: 'post', op: 'in', values: ['sales manager', 'Title 7', 'chief buyer'] }] },
  { all: [{ field: 'post', op: 'not_in', values: ['Director', 'title 76'] }] },
  { all: [{ field: 'post', op: 'contains', values: ['itle 1', 'BUY'] }] },
  { all: [{ field: 'post', op: 'not_contains', values: ['sales', 'tle 7'] }] },
  { all: [{ field: 'post', op: 'contains', values: ['%'] }] },
  { all: [{ field: 'post', op: 'in', values: ['nobody'] }] },
  { all: [{ field: 'company_industry', values: ['IT'] }] },
  { all: [{ field: 'company_industry', op: 'empty' }] },
  { all: [{ field: 'company_size', op: 'not_in', values: ['EMPLOYEES_2'] }] },
  { all: [{ field: 'company_revenue', min: 1000 }, { field: 'segment', values: ['loyal', 'lost'] }] },
].map((x) => f(x));

/** count + revenue from contact_labels joined to contacts: the reference */
async function reference(db: Db, portalId: number, runId: number, filter: SegmentFilter) {
  const q = compileFilter(portalId, runId, filter, opts);
  const { rows } = await db.query<{ count: number; revenue: number }>(
    `SELECT count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue ${q.fromWhere}`, q.params);
  return rows[0]!;
}

async function tracked(db: Db, portalId: number): Promise<number | null> {
  const { rows } = await db.query<{ run_id: number }>(`SELECT run_id FROM label_facts_run WHERE portal_id = $1`, [portalId]);
  return rows[0]?.run_id ?? null;
}

/** How many compiles split the count (RestTests), resolved dictionary searches (dict-search.ts) and counted the rows that do not match (compileCount). */
const stats = { split: 0, resolved: 0, complement: 0 };

/**
 * The dictionaries as read, and as a count would see them on a portal where few rows have a *_rest
 * value (every count that tests one splits: facts.ts splitsRest), and where every UF key had too
 * many values without a bit to probe them one by one.
 */
async function dictVariants(db: Db, portalId: number): Promise<[string, FactsDicts][]> {
  const d = (await readFactsDicts(db, portalId))!;
  return [
    ['as read', d],
    ['split', { ...d, restShare: Object.fromEntries(REST_COLS.map((c) => [c, 0])) }],
    ['many without a bit', { ...d, restShare: Object.fromEntries(REST_COLS.map((c) => [c, 0])), urestN: d.ukeys.map(() => MAX_PROBES + 1) }],
  ];
}

/** Every filter: countSegment = the join; and (for the tracked run) the fast tables answered, in every way they can be compiled. */
async function expectSame(db: Db, portalId: number, runId: number, where: string) {
  const fast = (await tracked(db, portalId)) === runId;
  const variants = fast ? await dictVariants(db, portalId) : [];
  for (const filter of FILTERS) {
    const got = await countSegment(db, portalId, runId, filter, opts);
    const want = await reference(db, portalId, runId, filter);
    const what = `${where}: ${JSON.stringify(filter)}`;
    expect(got.count, what).toBe(want.count);
    expect(got.revenue, what).toBeCloseTo(want.revenue, 6);
    if (fast) {
      const ran = new Set<string>();
      for (const [how, d] of variants) {
        const c = compileCount(portalId, runId, filter, opts, d);
        // the searches as subqueries once per filter (as the dictionaries were read); the variants as the count runs them
        const compiled = how === 'as read' || !c.unresolved ? [c] : [];
        if (c.unresolved) {
          expect(c.unresolved.size, what).toBeGreaterThan(0);
          const found = await runDictSearches(db, d, c.unresolved);
          const r = compileCount(portalId, runId, filter, { ...opts, searches: new DictSearches(found) }, d);
          expect(r.unresolved, what).toBeUndefined();
          expect(r.params, what).toEqual(expect.arrayContaining([...found.values()]));
          compiled.push(r);
          stats.resolved++;
        }
        for (const q of compiled) {
          // a variant that compiles to the same statement as an earlier one is not run twice
          const key = `${q.sql}\u0000${JSON.stringify(q.params, (_, v) => (v instanceof Uint8Array ? [...v] : v))}`;
          if (ran.has(key)) continue;
          ran.add(key);
          const { rows } = await db.query<{ tracked: boolean; count: number; revenue: number }>(q.sql, q.params);
          expect(rows[0]!.tracked, `${how} ${what}`).toBe(true);
          expect(rows[0]!.count, `${how} ${what}`).toBe(want.count);
          expect(rows[0]!.revenue, `${how} ${what}`).toBeCloseTo(want.revenue, 6);
          if (q.split) stats.split++;
          if (q.complement) stats.complement++;
        }
      }
    }
  }
  expect(await runTotals(db, portalId, runId)).toEqual(await countSegment(db, portalId, runId, { all: [] }, {}));
  if (fast) {
    // the cube sums to the labels
    const { rows } = await db.query<{ n: number; rev: number; labels: number; lrev: number }>(
      `SELECT (SELECT COALESCE(sum(n), 0)::int FROM label_cube WHERE portal_id = $1 AND run_id = $2) AS n,
              (SELECT COALESCE(sum(revenue), 0)::float8 FROM label_cube WHERE portal_id = $1 AND run_id = $2) AS rev,
              (SELECT count(*)::int FROM contact_labels WHERE portal_id = $1 AND run_id = $2) AS labels,
              (SELECT COALESCE(sum(monetary), 0)::float8 FROM contact_labels WHERE portal_id = $1 AND run_id = $2) AS lrev`,
      [portalId, runId],
    );
    expect(rows[0]!.n, where).toBe(rows[0]!.labels);
    expect(rows[0]!.rev, where).toBeCloseTo(rows[0]!.lrev, 6);
    const { rows: facts } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM label_facts WHERE portal_id = $1`, [portalId]);
    expect(facts[0]!.n, where).toBe(rows[0]!.labels);
  }
}

describe('count compiler', () => {
  it('routes filters on cube columns only to label_cube, the rest to label_facts; values only as parameters', () => {
    expect(cubeAnswers(f({ all: [{ field: 'segment', values: ['lost'] }, { field: 'range', key: 'r', min: 2 }] }))).toBe(true);
    expect(cubeAnswers(f({ all: [{ field: 'saved', id: 'vip' }], exclude: { all: [{ field: 'sleeping', value: true }] } }), saved)).toBe(true);
    expect(cubeAnswers(f({ all: [{ field: 'saved', id: 'rich' }] }), saved)).toBe(false);
    expect(cubeAnswers(f({ all: [{ field: 'range', key: 'monetary', min: 1 }] }))).toBe(false);
    expect(cubeAnswers(f({ all: [], exclude: { all: [{ field: 'has_email', value: true }] } }))).toBe(false);
    const dicts: FactsDicts = { runId: 2, tbl: 'label_facts_1_9', itags: [], ukeys: [], uvals: [], segs: [], lcs: [], srcs: [], cities: [], posts: [] };
    const c = compileCount(1, 2, f({ all: [{ field: 'uf', key: 'UF_CRM_X', op: 'eq', value: "x'; drop table contacts; --" }, { field: 'city', op: 'contains', values: ["o'hara"] }] }), {}, dicts);
    expect(c.source).toBe('facts');
    expect(c.sql).not.toMatch(/drop table|o'hara|UF_CRM_X/i);
    expect(c.sql).toContain('l.has_contact AND');
    expect(c.params).toContain('UF_CRM_X');
  });

  it('counts a filter likely to match most contacts (only negated conditions, or everyone but) as the totals minus the rest', () => {
    const dicts: FactsDicts = { runId: 2, tbl: 'label_facts_1_9', itags: [], ukeys: [], uvals: [], segs: [], lcs: [], srcs: [], cities: [], posts: [] };
    const complement = (x: unknown) => compileCount(1, 2, f(x), {}, dicts).complement === true;
    expect(complement({ all: [{ field: 'responsible', op: 'not_in', values: [3, 7] }] })).toBe(true);
    expect(complement({ all: [{ field: 'post', op: 'not_contains', values: ['sales'] }, { field: 'company_size', op: 'not_in', values: ['EMPLOYEES_1'] }] })).toBe(true);
    expect(complement({ all: [], exclude: { all: [{ field: 'has_email', value: true }] } })).toBe(true);
    expect(complement({ all: [{ field: 'responsible', values: [3, 7] }] })).toBe(false);
    expect(complement({ all: [{ field: 'responsible', op: 'not_in', values: [3] }, { field: 'has_email', value: true }] })).toBe(false);
    expect(complement({ all: [{ field: 'responsible', op: 'not_in', values: [3] }], any: [{ field: 'has_email', value: true }] })).toBe(false);
  });
});

eachDb('label_facts / label_cube', (getDb) => {
  let a = 0;
  let b = 0;
  let run1 = 0;
  let run2 = 0;
  const ids = Array.from({ length: N }, (_, i) => i + 1);

  beforeAll(async () => {
    const db = getDb();
    const p = async (m: string) => (await db.query<{ id: number }>(`INSERT INTO portals (member_id, domain, status) VALUES ($1, $1, 'active') RETURNING id`, [m])).rows[0]!.id;
    a = await p('facts-a');
    b = await p('facts-b');
    for (const portal of [a, b]) {
      await db.query(`INSERT INTO companies (portal_id, id, title, industry, employees, revenue)
        VALUES ($1, 1, 'A', 'IT', 'EMPLOYEES_1', 500), ($1, 2, 'B', 'RETAIL', 'EMPLOYEES_2', 5000), ($1, 3, 'C', NULL, NULL, NULL), ($1, 4, 'D', 'IT', 'EMPLOYEES_3', 1000)`, [portal]);
    }
    // contacts 1..N-10 exist; labels for 1..N (ten labels without a contact)
    await upsertContacts(db, a, ids.filter((i) => i <= N - 10).map((i) => contact(i)));
    await upsertContacts(db, b, ids.map((i) => contact(i, 3)));
  });

  it('a run created as done is tracked at once and its labels flow in', async () => {
    const db = getDb();
    run1 = (await createScoreRun(db, a, { asOf: new Date('2026-09-01T00:00:00Z') })).id;
    expect(await tracked(db, a)).toBe(run1);
    await insertContactLabels(db, a, run1, ids.map((i) => label(i)));
    const rb = (await createScoreRun(db, b, { asOf: new Date('2026-09-01T00:00:00Z') })).id;
    await insertContactLabels(db, b, rb, ids.map((i) => label(i, 2)));
    await expectSame(db, a, run1, 'run 1');
    await expectSame(db, b, rb, 'portal b');
  });

  it('the conditions over columns the count tables lack mean what they say (counted in JS from the same labels)', async () => {
    const db = getDb();
    const asOf = Date.parse('2026-09-01T00:00:00Z');
    const day = (d: unknown) => (typeof d === 'string' ? Math.round((Date.parse(`${d}T00:00:00Z`) - asOf) / 86_400_000) : null);
    const labels = ids.map((i) => label(i));
    const hasContact = (i: number) => i <= N - 10;
    const count = async (x: unknown) => (await countSegment(db, a, run1, f(x), opts)).count;
    const ever = (l: ContactLabelInput) => ((l.extra?.interestsEver as string[] | undefined) ?? l.interests ?? []);
    expect(await count({ all: [{ field: 'range', key: 'first_purchase_days', max: 300 }] }))
      .toBe(labels.filter((l) => l.firstPurchase && -day(l.firstPurchase)! <= 300).length);
    expect(await count({ all: [{ field: 'range', key: 'next_purchase_days', min: -5, max: 7 }, { field: 'has_phone', value: true }] }))
      .toBe(labels.filter((l) => l.nextPurchase && day(l.nextPurchase)! >= -5 && day(l.nextPurchase)! <= 7 && hasContact(l.contactId) && l.contactId % 3 === 0).length);
    expect(await count({ all: [{ field: 'prev_segment', values: ['at_risk', 'lost'] }] }))
      .toBe(labels.filter((l) => ['at_risk', 'lost'].includes(l.extra?.prevSegment as string)).length);
    expect(await count({ all: [{ field: 'interests', when: 'ever', mode: 'any', values: ['kayaks'] }] }))
      .toBe(labels.filter((l) => ever(l).includes('kayaks')).length);
    expect(await count({ all: [{ field: 'interests', mode: 'any', values: ['kayaks'] }] })).toBe(0);
    expect(await count({ all: [{ field: 'search', text: 'n1' }] }))
      .toBe(ids.filter((i) => hasContact(i) && (String(i).startsWith('1') || i === 200 || i === 201)).length);
    expect(await count({ all: [{ field: 'search', text: '#17' }] })).toBe(1);
    expect(await count({ all: [{ field: 'contact', ids: [1, 2, 3, 999] }] })).toBe(3);
  });

  it('a run finished as done is rebuilt and swapped in; the older run is counted from the join', async () => {
    const db = getDb();
    const sr = await createScoreRun(db, a, { asOf: new Date('2026-10-01T00:00:00Z'), status: 'running' });
    run2 = sr.id;
    await insertContactLabels(db, a, run2, ids.map((i) => label(i, 1)));
    expect(await tracked(db, a)).toBe(run1); // still counting run 1 while run 2 is written
    await expectSame(db, a, run1, 'run 1 while run 2 runs');
    await finishScoreRun(db, a, run2, { status: 'done' });
    await vacuumLabelFacts(db, a);
    expect(await tracked(db, a)).toBe(run2);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'label_facts'::regclass`);
    expect(rows[0]!.n).toBe(2); // one partition per portal
    // more tags, keys, cities and job titles than codes: the dictionaries hold 63, the rest is tested on the values
    const { rows: dict } = await db.query<{ i: number; u: number; v: number; c: number; p: number; rest: number; ufrest: number; uvals: number; postrest: number; nopost: number }>(
      `SELECT cardinality(itags) AS i, cardinality(ukeys) AS u, cardinality(uvals) AS v, cardinality(cities) AS c, cardinality(posts) AS p,
              (SELECT count(*)::int FROM label_facts WHERE portal_id = $1 AND post_rest IS NOT NULL AND pst = -1) AS postrest,
              (SELECT count(*)::int FROM label_facts WHERE portal_id = $1 AND pst = 0 AND post_rest IS NULL) AS nopost,
              (SELECT count(*)::int FROM label_facts WHERE portal_id = $1 AND interests_rest IS NOT NULL) AS rest,
              (SELECT count(*)::int FROM label_facts WHERE portal_id = $1 AND uf_rest IS NOT NULL) AS ufrest,
              (SELECT count(*)::int FROM label_facts WHERE portal_id = $1 AND uvals <> 0) AS uvals
         FROM label_facts_run WHERE portal_id = $1`, [a]);
    expect(dict[0]).toMatchObject({ i: 63, u: 63, v: 63, c: 63, p: 63 });
    // two common titles (in three spellings) and titles held once: every distinct title past the 63 coded is one row in post_rest
    const { rows: titles } = await db.query<{ n: number }>(`SELECT count(DISTINCT lower(post))::int AS n FROM contacts WHERE portal_id = $1 AND post <> ''`, [a]);
    expect(titles[0]!.n).toBeGreaterThan(70);
    expect(dict[0]!.postrest).toBe(titles[0]!.n - 63);
    expect(dict[0]!.nopost).toBeGreaterThan(N / 3);
    expect(dict[0]!.rest).toBeGreaterThan(0);
    expect(dict[0]!.ufrest).toBeGreaterThan(0);
    expect(dict[0]!.uvals).toBeGreaterThan(0);
    // the new partition has migration 026's partial index over each *_rest column's rows
    const { rows: idx } = await db.query<{ def: string }>(
      `SELECT indexdef AS def FROM pg_indexes WHERE tablename = (SELECT tbl FROM label_facts_run WHERE portal_id = $1) AND indexdef LIKE '%WHERE%'`, [a]);
    expect(idx.map((r) => r.def.replace(/^.* WHERE \(?([a-z_]+) IS NOT NULL\)?$/, '$1')).sort()).toEqual([...REST_COLS].sort());
    // the share of rows with each *_rest column set, from the partition's statistics (the rebuild's ANALYZE)
    const share = (await readFactsDicts(db, a))!.restShare!;
    const { rows: real } = await db.query<Record<string, number>>(
      `SELECT ${REST_COLS.map((c) => `avg((${c} IS NOT NULL)::int)::float8 AS ${c}`).join(', ')} FROM label_facts WHERE portal_id = $1`, [a]);
    for (const c of REST_COLS) expect(share[c], c).toBeCloseTo(real[0]![c]!, 2);
    expect(share.uf_rest).toBeGreaterThan(0.1);
    await expectSame(db, a, run2, 'run 2');
    await expectSame(db, a, run1, 'run 1 (untracked: join)');
  });

  it('event rescoring (label upserts and deletes in place) keeps facts and cube in step', async () => {
    const db = getDb();
    await insertContactLabels(db, a, run2, ids.filter((i) => i % 9 === 0).map((i) => label(i, 5)));
    await db.query(`DELETE FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND contact_id = ANY($3::bigint[])`, [a, run2, [3, 4, 5, 200]]);
    await insertContactLabels(db, a, run2, [label(4, 7), { contactId: 5000 }, { ...label(7), segment: 'hibernating', lifecycle: 'uninterested' }]);
    await expectSame(db, a, run2, 'after rescoring');
  });

  it('sync (contact updates, deletes, re-inserts) keeps the contact part in step', async () => {
    const db = getDb();
    await upsertContacts(db, a, ids.filter((i) => i % 4 === 1 && i <= N - 10).map((i) => contact(i, 4)));
    await expectSame(db, a, run2, 'after contact updates');
    await deleteContacts(db, a, [1, 2, 3, 50, 51]);
    await expectSame(db, a, run2, 'after contact deletes');
    await upsertContacts(db, a, [contact(2, 1), contact(N - 5, 2), contact(5000, 1), ...[20, 21, 22, 23].map((i) => contact(i, 9)),
      { ...contact(30), city: 'Paris', sourceId: 'PARTNER' }, { ...contact(31), city: 'PARIS' }]);
    await db.query(`UPDATE contacts SET city = 'Lviv', uf = '{"UF_CRM_TIER": "gold"}' WHERE portal_id = $1 AND id < 20`, [a]);
    await expectSame(db, a, run2, 'after re-inserts and a raw UPDATE');
    await expectSame(db, b, (await tracked(db, b))!, 'portal b untouched');
  });

  it('deleting the tracked run drops its partition; counts fall back to the join', async () => {
    const db = getDb();
    await db.query(`DELETE FROM score_runs WHERE portal_id = $1 AND id = $2`, [a, run2]);
    expect(await tracked(db, a)).toBeNull();
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'label_facts'::regclass`);
    expect(rows[0]!.n).toBe(1);
    await expectSame(db, a, run1, 'run 1 after run 2 was deleted');
    // a new done run is tracked again
    const run3 = (await createScoreRun(db, a, { asOf: new Date('2026-11-01T00:00:00Z'), status: 'running' })).id;
    await insertContactLabels(db, a, run3, ids.map((i) => label(i, 3)));
    await finishScoreRun(db, a, run3, { status: 'done' });
    await expectSame(db, a, run3, 'run 3');
    // a failed finish is never tracked
    const run4 = (await createScoreRun(db, a, { asOf: new Date('2026-11-02T00:00:00Z'), status: 'running' })).id;
    await insertContactLabels(db, a, run4, ids.slice(0, 10).map((i) => label(i, 4)));
    await finishScoreRun(db, a, run4, { status: 'failed' });
    expect(await tracked(db, a)).toBe(run3);
  });

  it('a failure in the count tables never fails the write: the portal counts from the join until the next rebuild', async () => {
    const db = getDb();
    const run5 = (await createScoreRun(db, a, { asOf: new Date('2026-11-03T00:00:00Z'), status: 'running' })).id;
    await insertContactLabels(db, a, run5, ids.map((i) => label(i, 6)));
    // the rebuild's new table name is taken: the rebuild fails inside the finish, the finish does not
    const { rows: seq } = await db.query<{ next: number }>(`SELECT last_value + 1 AS next FROM label_facts_seq`);
    await db.exec(`CREATE TABLE label_facts_${a}_${seq[0]!.next} (x int)`);
    await finishScoreRun(db, a, run5, { status: 'done' });
    await db.exec(`DROP TABLE label_facts_${a}_${seq[0]!.next}`);
    expect(await tracked(db, a)).toBeNull();
    await expectSame(db, a, run5, 'run 5, rebuild failed');
    const run6 = (await createScoreRun(db, a, { asOf: new Date('2026-11-04T00:00:00Z'), status: 'running' })).id;
    await insertContactLabels(db, a, run6, ids.map((i) => label(i, 7)));
    await finishScoreRun(db, a, run6, { status: 'done' });
    expect(await tracked(db, a)).toBe(run6);
    // rescoring while the maintenance fails (a constraint the new rows break): the labels are
    // written, the portal is untracked
    const { rows: t } = await db.query<{ tbl: string }>(`SELECT tbl FROM label_facts_run WHERE portal_id = $1`, [a]);
    await db.exec(`ALTER TABLE ${t[0]!.tbl} ADD CONSTRAINT no_writes CHECK (contact_id < 0) NOT VALID`);
    await insertContactLabels(db, a, run6, ids.slice(0, 20).map((i) => label(i, 8)));
    expect(await tracked(db, a)).toBeNull();
    await expectSame(db, a, run6, 'run 6, rescoring after a failure');
  });

  it('deleting a portal\'s data leaves the other portal\'s count tables alone', async () => {
    const db = getDb();
    await deletePortalData(db, a);
    expect(await tracked(db, a)).toBeNull();
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM label_cube WHERE portal_id = $1`, [a]);
    expect(rows[0]!.n).toBe(0);
    await expectSame(db, b, (await tracked(db, b))!, 'portal b after a was deleted');
  });

  it('the counts above were also compiled split (rows with a *_rest value corrected apart), with resolved dictionary searches, and as totals minus the rest', () => {
    // the filters with a *_rest test, per tracked comparison (city contains, values met after the
    // rebuild, interests and UF keys beyond the dictionaries, ...): a number the compiler's
    // routing decides, so a change that stops splitting or resolving fails here
    expect(stats.split).toBeGreaterThan(100);
    expect(stats.resolved).toBeGreaterThan(100);
    expect(stats.complement).toBeGreaterThan(50);
  });
});
