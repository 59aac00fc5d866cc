/**
 * Tenant isolation: two portals with overlapping CRM ids. Every read for A returns only
 * A's rows; deleting A's data leaves B intact.
 */
import { beforeAll, expect, it } from 'vitest';
import {
  countCrmRows,
  createScoreRun,
  createSyncRun,
  deleteContacts,
  deleteDeals,
  deleteNotSeenInRun,
  deletePortalData,
  getContacts,
  getCurrencies,
  getDeals,
  getFunnels,
  getProducts,
  getSections,
  getStages,
  insertContactLabels,
  iterateContactsWithWonDeals,
  latestScoreRun,
  latestSyncRun,
  maxDateModify,
  queryContactLabels,
  replaceDealContacts,
  resolveProductRowSections,
  upsertCompanies,
  upsertContacts,
  upsertCurrencies,
  upsertDealContacts,
  upsertDeals,
  upsertFunnels,
  upsertPortalOnInstall,
  upsertProductRows,
  upsertProducts,
  upsertSections,
  upsertStages,
  type CrmCounts,
} from '../../src/store/index.js';
import { eachDb } from '../helpers/db.js';

async function load(db: Parameters<typeof upsertContacts>[0], pid: number, tag: string, n: number) {
  // same ids in both portals, different content
  await upsertContacts(db, pid, Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `${tag}${i + 1}`, dateModify: `2024-01-0${(i % 9) + 1}T00:00:00Z` })));
  await upsertCompanies(db, pid, [{ id: 1, title: `${tag}-co` }]);
  await upsertDeals(db, pid, Array.from({ length: n }, (_, i) => ({ id: i + 1, title: `${tag}-deal`, stageSemantic: 'S' as const, opportunityBase: 100, closeDate: '2024-01-01' })));
  await upsertDealContacts(db, pid, Array.from({ length: n }, (_, i) => ({ dealId: i + 1, contactId: i + 1, isPrimary: true })));
  await upsertProducts(db, pid, [{ id: 1, name: `${tag}-product`, sectionId: 1 }]);
  await upsertSections(db, pid, [{ id: 1, name: `${tag}-section` }]);
  await upsertProductRows(db, pid, Array.from({ length: n }, (_, i) => ({ id: i + 1, dealId: i + 1, productId: 1, productName: tag })));
  await upsertStages(db, pid, [{ entityId: 'DEAL_STAGE', statusId: 'WON', name: `${tag}-won`, semantics: 'S' }]);
  await upsertFunnels(db, pid, [{ id: 0, name: `${tag}-funnel` }]);
  await upsertCurrencies(db, pid, [{ code: 'RUB', amount: tag === 'A' ? 1 : 2, base: true }]);
  const sr = await createSyncRun(db, pid, 'full', { phase: tag });
  const run = await createScoreRun(db, pid, { asOf: new Date(), settings: { tag } });
  await insertContactLabels(db, pid, run.id, Array.from({ length: n }, (_, i) => ({ contactId: i + 1, segment: tag })));
  return { syncRunId: sr.id, scoreRunId: run.id };
}

const expected = (n: number): CrmCounts => ({
  contacts: n,
  companies: 1,
  deals: n,
  dealContacts: n,
  productRows: n,
  products: 1,
  sections: 1,
  stages: 1,
  funnels: 1,
  currencies: 1,
  leads: 0,
});

eachDb('tenant isolation', (getDb) => {
  let a = 0;
  let b = 0;
  let runsA: { syncRunId: number; scoreRunId: number };
  let runsB: { syncRunId: number; scoreRunId: number };

  beforeAll(async () => {
    const db = getDb();
    a = (await upsertPortalOnInstall(db, { memberId: 'A', domain: 'a.bitrix24.ru' })).id;
    b = (await upsertPortalOnInstall(db, { memberId: 'B', domain: 'b.bitrix24.ru' })).id;
    runsA = await load(db, a, 'A', 5);
    runsB = await load(db, b, 'B', 8);
  });

  it('every read for a portal returns only its rows', async () => {
    const db = getDb();
    expect(await countCrmRows(db, a)).toEqual(expected(5));
    expect(await countCrmRows(db, b)).toEqual(expected(8));
    expect((await getContacts(db, a, [1, 2, 3, 4, 5, 6, 7, 8])).map((c) => c.name)).toEqual(['A1', 'A2', 'A3', 'A4', 'A5']);
    expect((await getDeals(db, a, [1, 6])).map((d) => d.title)).toEqual(['A-deal']);
    expect((await getProducts(db, a)).map((p) => p.name)).toEqual(['A-product']);
    expect((await getSections(db, a)).map((s) => s.name)).toEqual(['A-section']);
    expect((await getStages(db, a)).map((s) => s.name)).toEqual(['A-won']);
    expect((await getFunnels(db, a)).map((f) => f.name)).toEqual(['A-funnel']);
    expect((await getCurrencies(db, a)).map((c) => c.amount)).toEqual([1]);
    expect(await maxDateModify(db, a, 'contacts')).toEqual(new Date('2024-01-05T00:00:00Z'));
    expect((await latestSyncRun(db, a))!.phase).toBe('A');
    expect((await latestScoreRun(db, a))!.settings).toEqual({ tag: 'A' });
    expect((await queryContactLabels(db, a, runsA.scoreRunId)).map((l) => l.segment)).toEqual(['A', 'A', 'A', 'A', 'A']);
    // B's run id under A's portal id finds nothing
    expect(await queryContactLabels(db, a, runsB.scoreRunId)).toEqual([]);
  });

  it('iteration for a portal sees only its contacts, deals and product rows', async () => {
    const db = getDb();
    const seen: string[] = [];
    for await (const c of iterateContactsWithWonDeals(db, a, { batchSize: 2 })) {
      seen.push(c.contact.name!);
      expect(c.wonDeals).toHaveLength(1);
      expect(c.wonDeals[0]!.productRows.map((r) => [r.productName, r.sectionId])).toEqual([['A', 1]]);
    }
    expect(seen).toEqual(['A1', 'A2', 'A3', 'A4', 'A5']);
  });

  it('writes and deletes for one portal never touch the other', async () => {
    const db = getDb();
    await replaceDealContacts(db, a, [1], []);
    await resolveProductRowSections(db, a);
    expect(await deleteNotSeenInRun(db, a, 'products', 999)).toBe(1);
    await deleteContacts(db, a, [2]);
    await deleteDeals(db, a, [3]);
    expect(await countCrmRows(db, b)).toEqual(expected(8));
    expect((await getContacts(db, b, [2])).map((c) => c.name)).toEqual(['B2']);
    await deletePortalData(db, a);
    expect(await countCrmRows(db, a)).toEqual({
      contacts: 0, companies: 0, deals: 0, dealContacts: 0, productRows: 0, products: 0, sections: 0, stages: 0, funnels: 0, currencies: 0, leads: 0,
    });
    expect(await latestSyncRun(db, a)).toBeNull();
    expect(await latestScoreRun(db, a)).toBeNull();
    expect(await countCrmRows(db, b)).toEqual(expected(8));
    expect((await latestSyncRun(db, b))!.id).toBe(runsB.syncRunId);
    expect(await queryContactLabels(db, b, runsB.scoreRunId)).toHaveLength(8);
  });

  it('every tenant table has portal_id leading its primary key', async () => {
    const { rows } = await getDb().query<{ table_name: string; first_col: string }>(
      `SELECT tc.table_name, kcu.column_name AS first_col
         FROM information_schema.table_constraints tc
         JOIN information_schema.key_column_usage kcu
           ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name
        WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema() AND kcu.ordinal_position = 1
        ORDER BY 1`,
    );
    // not tenant tables: the tenants themselves, the migration log, and request counters keyed by address / member_id
    const offenders = rows.filter((r) => !['portals', 'schema_migrations', 'rate_limits'].includes(r.table_name) && r.first_col !== 'portal_id');
    expect(offenders).toEqual([]);
    expect(rows.length).toBeGreaterThanOrEqual(14);
  });
});
