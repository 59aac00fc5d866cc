import { beforeEach, expect, it } from 'vitest';
import {
  countCrmRows,
  deleteContacts,
  deleteDeals,
  deleteNotSeenInRun,
  getContacts,
  getCurrencies,
  getDeals,
  getSections,
  getStages,
  iterateContactBatches,
  iterateContactsWithWonDeals,
  maxDateModify,
  recomputeSectionDepths,
  replaceDealContacts,
  replaceProductRows,
  resolveProductRowSections,
  upsertContacts,
  upsertCurrencies,
  upsertDealContacts,
  upsertDeals,
  upsertPortalOnInstall,
  upsertProductRows,
  upsertProducts,
  upsertSections,
  upsertStages,
  type ContactWithWonDeals,
} from '../../src/store/index.js';
import { eachDb, resetDb } from '../helpers/db.js';

eachDb('crm repository', (getDb) => {
  let pid = 0;
  beforeEach(async () => {
    await resetDb(getDb());
    pid = (await upsertPortalOnInstall(getDb(), { memberId: 'm', domain: 'm.bitrix24.ru' })).id;
  });

  it('upserts contacts, updating on conflict and keeping the last duplicate in a batch', async () => {
    const db = getDb();
    const n = await upsertContacts(db, pid, [
      { id: 1, name: 'Ann', lastName: 'Lee', hasPhone: true, dateModify: '2024-01-02T10:00:00+03:00', uf: { UF_CRM_SEG_RFM: '555' } },
      { id: 2, name: 'Bob', dateCreate: new Date('2023-01-01T00:00:00Z'), dateModify: Date.UTC(2024, 0, 5) },
      { id: 2, name: 'Bobby' },
    ]);
    expect(n).toBe(2);
    const changed = { id: 1, name: 'Anna', lastName: 'Lee', dateModify: '2024-02-01T00:00:00Z' };
    expect(await upsertContacts(db, pid, [changed, { id: 2, name: 'Bobby' }])).toBe(1); // id 2 unchanged
    expect(await upsertContacts(db, pid, [changed])).toBe(0); // unchanged: not rewritten
    const rows = await getContacts(db, pid, [1, 2, 3]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      id: 1,
      name: 'Anna',
      lastName: 'Lee',
      hasPhone: false,
      hasEmail: false,
      dateModify: new Date('2024-02-01T00:00:00Z'),
      uf: {},
    });
    expect(rows[1]).toMatchObject({ id: 2, name: 'Bobby', dateCreate: null });
    expect(await maxDateModify(db, pid, 'contacts')).toEqual(new Date('2024-02-01T00:00:00Z'));
  });

  it('stores deals with numerics, dates and semantics; validates semantics', async () => {
    const db = getDb();
    await upsertDeals(db, pid, [
      {
        id: 10,
        title: 'Deal',
        categoryId: 1,
        stageId: 'C1:WON',
        stageSemantic: 'S',
        currencyId: 'USD',
        opportunity: 100.25,
        opportunityBase: 9123.45,
        closeDate: '2024-03-15T00:00:00+03:00',
        beginDate: '2024-03-01',
        dateModify: '2024-03-15T12:00:00Z',
        companyId: 5,
        uf: { UF_X: [1, 2] },
        raw: { ID: '10' },
      },
    ]);
    const [d] = await getDeals(db, pid, [10]);
    expect(d).toMatchObject({
      id: 10,
      categoryId: 1,
      stageSemantic: 'S',
      opportunity: 100.25,
      opportunityBase: 9123.45,
      closeDate: '2024-03-15',
      beginDate: '2024-03-01',
      companyId: 5,
      uf: { UF_X: [1, 2] },
    });
    await expect(upsertDeals(db, pid, [{ id: 11, stageSemantic: 'X' as never }])).rejects.toThrow();
  });

  it('iterates contacts with their won deals and product rows (with sections)', async () => {
    const db = getDb();
    await upsertSections(db, pid, [
      { id: 1, name: 'Root' },
      { id: 2, name: 'Shoes', parentId: 1 },
      { id: 3, name: 'Boots', parentId: 2 },
    ]);
    await recomputeSectionDepths(db, pid);
    expect((await getSections(db, pid)).map((s) => s.depth)).toEqual([0, 1, 2]);
    await upsertProducts(db, pid, [{ id: 100, name: 'Boot', sectionId: 3, price: 50, currencyId: 'RUB' }]);
    await upsertContacts(db, pid, Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: `C${i + 1}` })));
    await upsertDeals(db, pid, [
      { id: 1, stageSemantic: 'S', closeDate: '2024-02-01', opportunityBase: 100 },
      { id: 2, stageSemantic: 'S', closeDate: '2024-01-01', opportunityBase: 50 },
      { id: 3, stageSemantic: 'F', closeDate: '2024-01-05', opportunityBase: 999 },
      { id: 4, stageSemantic: 'P', opportunityBase: 999 },
      { id: 5, stageSemantic: 'S', closeDate: '2024-05-01', opportunityBase: 10 },
    ]);
    await upsertDealContacts(db, pid, [
      { dealId: 1, contactId: 1, isPrimary: true },
      { dealId: 2, contactId: 1, isPrimary: true },
      { dealId: 3, contactId: 1 },
      { dealId: 4, contactId: 2 },
      { dealId: 5, contactId: 6, isPrimary: true },
      { dealId: 1, contactId: 6, sort: 10 }, // shared deal
    ]);
    await upsertProductRows(db, pid, [
      { id: 1000, dealId: 1, productId: 100, productName: 'Boot', price: 50, quantity: 2 },
      { id: 1001, dealId: 1, productName: 'Free text', price: 0, quantity: 1 },
      { id: 1002, dealId: 3, productId: 100, price: 50, quantity: 1 },
    ]);

    const all: ContactWithWonDeals[] = [];
    const batches: number[] = [];
    for await (const b of iterateContactBatches(db, pid, { batchSize: 3 })) {
      batches.push(b.length);
      all.push(...b);
    }
    expect(batches).toEqual([3, 3, 1]);
    expect(all.map((c) => c.contact.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const c1 = all[0]!;
    expect(c1.wonDeals.map((d) => d.id)).toEqual([2, 1]); // by close date; lost/open excluded
    expect(c1.wonDeals[1]!.productRows).toEqual([
      { id: 1000, productId: 100, productName: 'Boot', price: 50, quantity: 2, sectionId: 3 },
      { id: 1001, productId: null, productName: 'Free text', price: 0, quantity: 1, sectionId: null },
    ]);
    expect(all[1]!.wonDeals).toEqual([]);
    expect(all[5]!.wonDeals.map((d) => [d.id, d.isPrimary])).toEqual([
      [1, false],
      [5, true],
    ]);

    const buyers: number[] = [];
    for await (const c of iterateContactsWithWonDeals(db, pid, { onlyWithWonDeals: true, batchSize: 1, includeProductRows: false })) {
      buyers.push(c.contact.id);
      for (const d of c.wonDeals) expect(d.productRows).toEqual([]);
    }
    expect(buyers).toEqual([1, 6]);

    expect(await resolveProductRowSections(db, pid)).toBe(2);
    const { rows } = await db.query('SELECT id, section_id FROM product_rows WHERE portal_id = $1 ORDER BY id', [pid]);
    expect(rows).toEqual([
      { id: 1000, section_id: 3 },
      { id: 1001, section_id: null },
      { id: 1002, section_id: 3 },
    ]);
  });

  it('deletes deals with their links and rows; contacts with their links', async () => {
    const db = getDb();
    await upsertContacts(db, pid, [{ id: 1 }, { id: 2 }]);
    await upsertDeals(db, pid, [{ id: 1 }, { id: 2 }]);
    await upsertDealContacts(db, pid, [
      { dealId: 1, contactId: 1 },
      { dealId: 2, contactId: 1 },
      { dealId: 2, contactId: 2 },
    ]);
    await upsertProductRows(db, pid, [
      { id: 1, dealId: 1 },
      { id: 2, dealId: 2 },
    ]);
    expect(await deleteDeals(db, pid, [1, 99])).toBe(1);
    expect(await countCrmRows(db, pid)).toMatchObject({ deals: 1, dealContacts: 2, productRows: 1 });
    expect(await deleteContacts(db, pid, [2])).toBe(1);
    expect(await countCrmRows(db, pid)).toMatchObject({ contacts: 1, dealContacts: 1 });
    expect(await deleteDeals(db, pid, [])).toBe(0);
  });

  it('replace* makes a deal\'s links and rows exactly the given set', async () => {
    const db = getDb();
    await upsertDealContacts(db, pid, [
      { dealId: 1, contactId: 1 },
      { dealId: 1, contactId: 2 },
      { dealId: 2, contactId: 3 },
    ]);
    await replaceDealContacts(db, pid, [1], [{ dealId: 1, contactId: 2, isPrimary: true }, { dealId: 1, contactId: 4 }]);
    const { rows } = await db.query('SELECT deal_id, contact_id, is_primary FROM deal_contacts WHERE portal_id = $1 ORDER BY 1, 2', [pid]);
    expect(rows).toEqual([
      { deal_id: 1, contact_id: 2, is_primary: true },
      { deal_id: 1, contact_id: 4, is_primary: false },
      { deal_id: 2, contact_id: 3, is_primary: false },
    ]);
    await upsertProductRows(db, pid, [{ id: 1, dealId: 1 }, { id: 2, dealId: 1 }, { id: 3, dealId: 2 }]);
    await replaceProductRows(db, pid, [1], [{ id: 5, dealId: 1, quantity: 3 }]);
    const pr = await db.query('SELECT id, deal_id FROM product_rows WHERE portal_id = $1 ORDER BY id', [pid]);
    expect(pr.rows).toEqual([
      { id: 3, deal_id: 2 },
      { id: 5, deal_id: 1 },
    ]);
  });

  it('sweeps rows a full sync did not see', async () => {
    const db = getDb();
    await upsertDeals(db, pid, [{ id: 1 }, { id: 2 }, { id: 3 }], { syncRunId: 1 });
    await upsertDealContacts(db, pid, [{ dealId: 3, contactId: 9 }]);
    await upsertDeals(db, pid, [{ id: 1 }, { id: 2 }], { syncRunId: 2 });
    expect(await deleteNotSeenInRun(db, pid, 'deals', 2)).toBe(1);
    expect((await getDeals(db, pid, [1, 2, 3])).map((d) => d.id)).toEqual([1, 2]);
    expect((await countCrmRows(db, pid)).dealContacts).toBe(0);
    await expect(deleteNotSeenInRun(db, pid, 'portals' as never, 2)).rejects.toThrow(/bad table/);
  });

  it('reference data: stages (null semantics = P), currencies', async () => {
    const db = getDb();
    await upsertStages(db, pid, [
      { entityId: 'DEAL_STAGE', statusId: 'NEW', name: 'New', sort: 10 },
      { entityId: 'DEAL_STAGE', statusId: 'WON', name: 'Won', semantics: 'S', sort: 20 },
      { entityId: 'DEAL_STAGE_1', statusId: 'C1:NEW', name: 'New', categoryId: 1, sort: 10 },
    ]);
    expect((await getStages(db, pid)).map((s) => `${s.entityId}/${s.statusId}/${s.semantics}`)).toEqual([
      'DEAL_STAGE/NEW/P',
      'DEAL_STAGE/WON/S',
      'DEAL_STAGE_1/C1:NEW/P',
    ]);
    await upsertCurrencies(db, pid, [
      { code: 'RUB', amount: 1, base: true, sort: 1 },
      { code: 'USD', amount: 92.5, amountCnt: 1, sort: 2 },
    ]);
    expect(await getCurrencies(db, pid)).toEqual([
      { code: 'RUB', amount: 1, amountCnt: 1, base: true, sort: 1 },
      { code: 'USD', amount: 92.5, amountCnt: 1, base: false, sort: 2 },
    ]);
  });
});
