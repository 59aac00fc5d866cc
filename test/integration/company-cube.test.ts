/**
 * label_company_cube (migration 030): the tracked run's contacts per company, kept from label_facts
 * by every writer (the rebuild, contact and label writes, deletes, the run's end). After each write
 * its rows equal a count per company over label_facts and, independently, over contacts and
 * contact_labels in JS; a filter of company conditions only is counted from it
 * (compileCount source 'company_cube') and gives the join's numbers; with any other condition the
 * count scans label_facts as before.
 */
import { beforeAll, expect, it } from 'vitest';
import { countSegment } from '../../src/server/ui-api/queries.js';
import { compileCount, compileFilter, REVENUE_SQL, segmentFilterSchema, type SegmentFilter } from '../../src/segments/index.js';
import { createScoreRun, finishScoreRun, insertContactLabels, openDb, readFactsDicts, upsertContacts, type Db } from '../../src/store/index.js';
import { eachDb } from '../helpers/db.js';

const f = (x: unknown): SegmentFilter => segmentFilterSchema.parse(x);
const COMPANIES = [
  { id: 5, industry: 'IT', employees: 'EMPLOYEES_1', revenue: 500 },
  { id: 6, industry: 'RETAIL', employees: 'EMPLOYEES_2', revenue: 2_000_000 },
  { id: 9, industry: null, employees: 'EMPLOYEES_3', revenue: 1_500_000 },
];
const N = 40;
/** contact i's company at first: none for every fourth, one that does not exist for every ninth */
const companyOf = (i: number): number | null => (i % 4 === 0 ? null : i % 9 === 0 ? 77 : COMPANIES[i % 3]!.id);

const FILTERS = [
  f({ all: [{ field: 'company_industry', values: ['IT'] }] }),
  f({ all: [{ field: 'company_industry', op: 'not_in', values: ['IT'] }] }),
  f({ all: [{ field: 'company_revenue', min: 1_000_000 }] }),
  f({ all: [{ field: 'company_size', values: ['EMPLOYEES_1'] }], any: [{ field: 'company_industry', op: 'empty' }, { field: 'company_revenue', max: 600 }] }),
  f({ all: [], exclude: { all: [{ field: 'company_industry', values: ['RETAIL'] }] } }),
  // saved segments of company conditions, inlined (alone, and as an exclusion)
  f({ all: [{ field: 'saved', id: 'it' }] }),
  f({ all: [{ field: 'company_revenue', min: 1000 }], exclude: { all: [{ field: 'saved', id: 'it' }] } }),
];
/** the saved segments the filters name */
const SAVED = new Map([['it', f({ all: [{ field: 'company_industry', values: ['IT'] }] })]]);

eachDb('label_company_cube: contacts per company of the tracked run', (getDb, ctx) => {
  let portal = 0;
  let other = 0;
  let run = 0;

  /** The cube as stored, and as counted from label_facts (rows with a contact) and from the source tables in JS. */
  const cubeOf = async (db: Db, p: number) => {
    const rows = (q: string) => db.query<{ company_id: string; n: number; revenue: number }>(q, [p]).then((r) => r.rows.map((x) => `${x.company_id}:${x.n}:${Number(x.revenue)}`));
    const stored = await rows(`SELECT company_id, n, revenue::float8 AS revenue FROM label_company_cube WHERE portal_id = $1 ORDER BY company_id`);
    const facts = await rows(`SELECT company_id, count(*)::int AS n, sum(COALESCE(monetary, 0))::float8 AS revenue FROM label_facts
                               WHERE portal_id = $1 AND has_contact GROUP BY 1 ORDER BY 1`);
    // independently: the tracked run's labels whose contact exists, by the contact's company (0 for none)
    const t = (await db.query<{ run_id: string }>(`SELECT run_id FROM label_facts_run WHERE portal_id = $1`, [p])).rows[0];
    const byCo = new Map<number, { n: number; s: number }>();
    if (t) {
      const { rows: ls } = await db.query<{ company_id: string | null; monetary: string | null }>(
        `SELECT c.company_id, l.monetary FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
          WHERE l.portal_id = $1 AND l.run_id = $2`, [p, t.run_id]);
      for (const r of ls) {
        const k = Number(r.company_id ?? 0);
        const e = byCo.get(k) ?? { n: 0, s: 0 };
        e.n += 1;
        e.s += Number(r.monetary ?? 0);
        byCo.set(k, e);
      }
    }
    const js = [...byCo].sort((a, b) => a[0] - b[0]).map(([k, e]) => `${k}:${e.n}:${e.s}`);
    return { stored, facts, js };
  };
  const expectCubeRight = async (db: Db, p: number) => {
    const c = await cubeOf(db, p);
    expect(c.stored).toEqual(c.facts);
    expect(c.stored).toEqual(c.js);
    return c.stored;
  };
  const reference = async (db: Db, filter: SegmentFilter) => {
    const q = compileFilter(portal, run, filter, { saved: SAVED });
    return (await db.query<{ count: number; revenue: number }>(`SELECT count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue ${q.fromWhere}`, q.params)).rows[0]!;
  };
  const expectCountsRight = async (db: Db) => {
    for (const filter of FILTERS) {
      const what = JSON.stringify(filter);
      expect(await countSegment(db, portal, run, filter, { saved: SAVED }), what).toEqual(await reference(db, filter));
    }
  };

  beforeAll(async () => {
    const db = getDb();
    const mk = async (m: string) => (await db.query<{ id: number }>(`INSERT INTO portals (member_id, domain, status) VALUES ($1, $1 || '.test', 'active') RETURNING id`, [m])).rows[0]!.id;
    portal = await mk('co-cube');
    other = await mk('co-cube-other');
    for (const p of [portal, other]) {
      for (const c of COMPANIES) {
        await db.query(`INSERT INTO companies (portal_id, id, title, industry, employees, revenue) VALUES ($1, $2, $3, $4, $5, $6)`,
          [p, c.id, `Co ${c.id}`, c.industry, c.employees, c.revenue]);
      }
      await upsertContacts(db, p, Array.from({ length: N }, (_, k) => ({ id: k + 1, name: `N${k + 1}`, companyId: companyOf(k + 1) })));
      const r = (await createScoreRun(db, p, { asOf: new Date('2026-09-01T00:00:00Z') })).id;
      // monetary with cents and one without a value
      await insertContactLabels(db, p, r, Array.from({ length: N }, (_, k) => ({ contactId: k + 1, segment: 'loyal', monetary: k === 3 ? null : (k + 1) * 10.25 })));
      if (p === portal) run = r;
    }
  });

  it('is built with the run: a row per company (0: none, 77: a company the portal lacks), as counted from the source tables', async () => {
    const db = getDb();
    const rows = await expectCubeRight(db, portal);
    expect(rows.map((r) => r.split(':')[0])).toEqual(['0', '5', '6', '9', '77']);
    expect(await expectCubeRight(db, other)).toEqual(rows);
  });

  it('a filter of company conditions only is counted from it; with any other condition from label_facts; both as the join counts', async () => {
    const db = getDb();
    const dicts = (await readFactsDicts(db, portal))!;
    for (const filter of FILTERS) {
      const what = JSON.stringify(filter);
      const c = compileCount(portal, run, filter, { saved: SAVED }, dicts);
      expect(c.source, what).toBe('company_cube');
      expect(c.sql, what).toContain('FROM label_company_cube l');
      const { rows } = await db.query<{ tracked: boolean; count: number; revenue: number }>(c.sql, c.params);
      const want = await reference(db, filter);
      expect(want.count, what).toBeGreaterThan(0);
      expect({ count: rows[0]!.count, revenue: rows[0]!.revenue }, what).toEqual(want);
      expect(rows[0]!.tracked).toBe(true);
      const mixed = f({ ...filter, all: [...filter.all, { field: 'segment', values: ['loyal'] }] });
      const m = compileCount(portal, run, mixed, { saved: SAVED }, dicts);
      expect(m.source, what).toBe('facts');
      expect(await countSegment(db, portal, run, mixed, { saved: SAVED }), what).toEqual(want);
    }
    // the no-company count: contacts without a company and those whose company the portal lacks
    const none = await countSegment(db, portal, run, f({ all: [{ field: 'company_industry', op: 'empty' }] }), {});
    expect(none.count).toBe(Array.from({ length: N }, (_, k) => k + 1).filter((i) => companyOf(i) === null || companyOf(i) === 77 || companyOf(i) === 9).length);
  });

  it('follows every writer: company moves, a deleted contact, changed, deleted and new labels; the other portal stays as it was', async () => {
    const db = getDb();
    const otherBefore = await expectCubeRight(db, other);
    // the sync moves contacts between companies (also to none)
    await upsertContacts(db, portal, [{ id: 1, name: 'N1', companyId: 9 }, { id: 2, name: 'N2', companyId: null }, { id: 4, name: 'N4', companyId: 6 }]);
    await expectCubeRight(db, portal);
    await expectCountsRight(db);
    // a write that changes no company or label leaves it as it is
    const before = await expectCubeRight(db, portal);
    await db.query(`UPDATE contacts SET has_email = NOT has_email WHERE portal_id = $1`, [portal]);
    expect(await expectCubeRight(db, portal)).toEqual(before);
    // a contact deleted: its label no longer counts for a company filter
    await db.query(`DELETE FROM contacts WHERE portal_id = $1 AND id IN (5, 6)`, [portal]);
    await expectCubeRight(db, portal);
    // event rescoring: labels changed, one deleted, one added (its contact exists)
    await db.query(`UPDATE contact_labels SET monetary = monetary * 3 WHERE portal_id = $1 AND run_id = $2 AND contact_id <= 20`, [portal, run]);
    await db.query(`DELETE FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND contact_id = 7`, [portal, run]);
    await upsertContacts(db, portal, [{ id: 41, name: 'N41', companyId: 5 }]);
    await insertContactLabels(db, portal, run, [{ contactId: 41, segment: 'loyal', monetary: 99.5 }]);
    await expectCubeRight(db, portal);
    await expectCountsRight(db);
    // every contact of company 77's leaves it: its row goes
    await upsertContacts(db, portal, Array.from({ length: N }, (_, k) => k + 1).filter((i) => companyOf(i) === 77).map((i) => ({ id: i, name: `N${i}`, companyId: 5 })));
    const after = await expectCubeRight(db, portal);
    expect(after.some((r) => r.startsWith('77:'))).toBe(false);
    expect(await expectCubeRight(db, other)).toEqual(otherBefore);
  });

  it('a writer of label_facts and a rebuild at once: both finish (no deadlock), and the cube is label_facts per company afterwards', async () => {
    const db = getDb();
    const next = (await createScoreRun(db, portal, { asOf: new Date('2026-09-01T12:00:00Z'), status: 'running' })).id;
    await insertContactLabels(db, portal, next, Array.from({ length: N }, (_, k) => ({ contactId: k + 1, segment: 'loyal', monetary: k + 0.5 })));
    const url = ctx.url();
    if (url) {
      // PostgreSQL: the writer holds the portal's lock (shared) from its first statement; the
      // rebuild (another connection) waits for it, so it reads the contacts once the writer, which
      // still adds a company the cube has no row for, has committed
      const db2 = await openDb({ databaseUrl: url, poolMax: 1 });
      try {
        let rebuild: Promise<void> | undefined;
        await db.transaction(async (tx) => {
          await upsertContacts(tx, portal, [{ id: 11, name: 'N11', companyId: 6 }]);
          rebuild = finishScoreRun(db2, portal, next, { status: 'done' });
          let waiting = 0;
          for (let i = 0; i < 200 && waiting === 0; i++) {
            await new Promise((r) => setTimeout(r, 25));
            waiting = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0]!.n;
          }
          expect(waiting).toBe(1);
          await upsertContacts(tx, portal, [{ id: 12, name: 'N12', companyId: 555 }]);
        });
        await rebuild;
      } finally {
        await db2.close();
      }
    } else {
      // PGlite has one connection: the same writes, one after the other
      await upsertContacts(db, portal, [{ id: 11, name: 'N11', companyId: 6 }]);
      await finishScoreRun(db, portal, next, { status: 'done' });
      await upsertContacts(db, portal, [{ id: 12, name: 'N12', companyId: 555 }]);
    }
    run = next;
    // both writes are in the new partition (migration 031: before it, company 555 was missing)
    const rows = await expectCubeRight(db, portal);
    expect(rows.some((r) => r.startsWith('555:1:'))).toBe(true);
    await expectCountsRight(db);
  });

  it('a rebuild and then writers at once: the writers wait for it and write the new partition; a label of the old run stays out', async () => {
    const db = getDb();
    const old = run;
    const next = (await createScoreRun(db, portal, { asOf: new Date('2026-09-01T18:00:00Z'), status: 'running' })).id;
    await insertContactLabels(db, portal, next, Array.from({ length: N }, (_, k) => ({ contactId: k + 1, segment: 'loyal', monetary: k + 0.25 })));
    const write = async (d: Db) => {
      await upsertContacts(d, portal, [{ id: 13, name: 'N13', companyId: 9 }]);
      // event rescoring of the run tracked until now
      await d.query(`UPDATE contact_labels SET monetary = 1000000 WHERE portal_id = $1 AND run_id = $2 AND contact_id = 14`, [portal, old]);
    };
    const url = ctx.url();
    if (url) {
      const db2 = await openDb({ databaseUrl: url, poolMax: 1 });
      let open!: () => void;
      const gate = new Promise<void>((r) => { open = r; });
      // the rebuild, kept open once done: it holds the portal's lock until it commits
      const rebuild = db2.transaction(async (tx) => {
        await finishScoreRun(tx, portal, next, { status: 'done' });
        await gate;
      });
      try {
        const count = async (q: string) => (await db.query<{ n: number }>(q, [portal])).rows[0]!.n;
        const held = `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 5005 AND objid = $1 AND mode = 'ExclusiveLock' AND granted`;
        for (let i = 0; i < 400 && (await count(held)) === 0; i++) await new Promise((r) => setTimeout(r, 25));
        expect(await count(held)).toBe(1);
        const writing = write(db);
        const waits = `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 5005 AND objid = $1 AND NOT granted`;
        for (let i = 0; i < 200 && (await count(waits)) === 0; i++) await new Promise((r) => setTimeout(r, 25));
        expect(await count(waits)).toBe(1);
        open();
        await rebuild;
        await writing;
      } finally {
        open();
        await rebuild.catch(() => undefined);
        await db2.close();
      }
    } else {
      await finishScoreRun(db, portal, next, { status: 'done' });
      await write(db);
    }
    run = next;
    const rows = await expectCubeRight(db, portal);
    expect(rows.join(' ')).not.toContain('1000000');
    const facts = await db.query<{ contact_id: string; company_id: string; monetary: number }>(
      `SELECT contact_id, company_id, monetary FROM label_facts WHERE portal_id = $1 AND contact_id IN (13, 14) ORDER BY 1`, [portal]);
    expect(facts.rows.map((r) => [Number(r.contact_id), Number(r.company_id), r.monetary])).toEqual([[13, 9, 12.25], [14, Number(companyOf(14) ?? 0), 13.25]]);
    await expectCountsRight(db);
  });

  it('a new done run rebuilds it; a run that is no longer tracked takes its rows, and the count falls back to the join', async () => {
    const db = getDb();
    const next = (await createScoreRun(db, portal, { asOf: new Date('2026-09-02T00:00:00Z'), status: 'running' })).id;
    // contacts 5..20: 5 and 6 were deleted above (their labels count for no company)
    await insertContactLabels(db, portal, next, Array.from({ length: 16 }, (_, k) => ({ contactId: k + 5, segment: 'new', monetary: 1 })));
    await finishScoreRun(db, portal, next, { status: 'done' });
    run = next;
    const rows = await expectCubeRight(db, portal);
    expect(rows.reduce((s, r) => s + Number(r.split(':')[1]), 0)).toBe(14);
    await expectCountsRight(db);
    // the run leaves 'done': untracked, its cube rows go with label_facts_run's row
    await db.query(`UPDATE score_runs SET status = 'failed' WHERE id = $1`, [next]);
    expect((await db.query(`SELECT 1 FROM label_company_cube WHERE portal_id = $1`, [portal])).rows).toEqual([]);
    expect((await db.query(`SELECT 1 FROM label_company_cube WHERE portal_id = $1`, [other])).rows.length).toBeGreaterThan(0);
    await expectCountsRight(db);
  });
});
