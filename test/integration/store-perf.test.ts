/**
 * Bulk-upsert throughput. Default 50k deals (+ deal_contacts) per kind so the suite stays
 * quick; STORE_PERF_DEALS=400000 for the full-size measurement. Prints rows/s.
 */
import { expect, it } from 'vitest';
import { countCrmRows, upsertDealContacts, upsertDeals, upsertPortalOnInstall, type DealInput } from '../../src/store/index.js';
import { eachDb } from '../helpers/db.js';

const N = Number(process.env.STORE_PERF_DEALS ?? 50_000);
// Floor far below what this machine does (docs/storage.md) so slow CI boxes don't flake,
// but high enough to catch a regression to row-at-a-time inserts.
const MIN_ROWS_PER_S = Number(process.env.STORE_PERF_MIN_RATE ?? 1500);

function deals(n: number, version: number): DealInput[] {
  const base = Date.UTC(2020, 0, 1);
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    title: `Deal #${i + 1} v${version}`,
    categoryId: i % 3,
    stageId: i % 5 === 0 ? 'LOSE' : 'WON',
    stageSemantic: i % 5 === 0 ? 'F' : 'S',
    currencyId: i % 7 === 0 ? 'USD' : 'RUB',
    opportunity: (i % 1000) * 10.5 + version,
    opportunityBase: (i % 1000) * 10.5 + version,
    closeDate: new Date(base + i * 3_600_000).toISOString().slice(0, 10),
    beginDate: '2020-01-01',
    dateCreate: new Date(base + i * 3_600_000),
    dateModify: new Date(base + i * 3_600_000 + version),
    assignedById: 1 + (i % 20),
    companyId: i % 4 === 0 ? null : 1 + (i % 5000),
    sourceId: 'WEB',
    uf: { UF_CRM_X: i % 10 },
  }));
}

eachDb('bulk upsert throughput', (getDb, { kind }) => {
  it(`upserts ${N} deals (insert, then update) fast`, async () => {
    const db = getDb();
    const pid = (await upsertPortalOnInstall(db, { memberId: `perf-${kind}`, domain: 'perf.bitrix24.ru' })).id;
    const rows = deals(N, 1);
    let t = performance.now();
    expect(await upsertDeals(db, pid, rows)).toBe(N);
    const insertS = (performance.now() - t) / 1000;

    const again = deals(N, 2);
    t = performance.now();
    expect(await upsertDeals(db, pid, again)).toBe(N);
    const updateS = (performance.now() - t) / 1000;

    t = performance.now();
    expect(await upsertDeals(db, pid, again)).toBe(0); // unchanged re-sync writes nothing
    const sameS = (performance.now() - t) / 1000;

    const links = Array.from({ length: N }, (_, i) => ({ dealId: i + 1, contactId: 1 + (i % (N / 2)), isPrimary: true }));
    t = performance.now();
    await upsertDealContacts(db, pid, links);
    const linkS = (performance.now() - t) / 1000;

    const rate = (s: number) => Math.round(N / s);
    console.log(
      `[store perf] ${kind}: ${N} deals insert ${insertS.toFixed(1)} s (${rate(insertS)} rows/s), ` +
        `update ${updateS.toFixed(1)} s (${rate(updateS)} rows/s), unchanged re-upsert ${sameS.toFixed(1)} s (${rate(sameS)} rows/s); deal_contacts ${linkS.toFixed(1)} s (${rate(linkS)} rows/s)`,
    );
    expect((await countCrmRows(db, pid)).deals).toBe(N);
    const { rows: sample } = await db.query<{ title: string }>('SELECT title FROM deals WHERE portal_id = $1 AND id = $2', [pid, N]);
    expect(sample[0]!.title).toBe(`Deal #${N} v2`);
    expect(rate(insertS)).toBeGreaterThan(MIN_ROWS_PER_S);
    expect(rate(updateS)).toBeGreaterThan(MIN_ROWS_PER_S);
  }, 300_000);
});
