/**
 * Export against the real emulator: both strategies return exactly the portal's rows,
 * crm.item / spread variants, resume from a checkpoint, incremental, product rows, and the
 * steady-state run provokes no 503/429.
 */
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { exportList, exportProductRows, type ExportOptions } from '../../src/b24/export.js';
import { emulatorStats, resetStats, startTestPortal, type TestPortal } from './b24-helpers.js';

const TS = 100;
let tp: TestPortal;

beforeAll(async () => {
  tp = await startTestPortal({ contacts: 3000, deals: 12000, seed: 5, timeScale: TS });
});
afterAll(async () => {
  await tp?.emu.close();
});

function client(): B24Client {
  return new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: TS } });
}

async function ids(c: B24Client, o: ExportOptions): Promise<number[]> {
  const out: number[] = [];
  let lastCursor = -1;
  for await (const p of exportList(c, o)) {
    expect(p.cursor).toBeGreaterThanOrEqual(lastCursor);
    lastCursor = p.cursor;
    out.push(...p.rows.map((r) => Number(r.ID)));
  }
  return out;
}

const sorted = (m: Map<number, unknown>): number[] => [...m.keys()].sort((a, b) => a - b);

describe('full export equals the portal data', () => {
  for (const strategy of ['chain', 'ranges'] as const) {
    it(`contacts, ${strategy}`, async () => {
      const got = await ids(client(), { entity: 'contact', strategy, select: ['ID', 'NAME', 'LAST_NAME'] });
      expect(got.length).toBe(tp.emu.portal.contacts.size);
      expect([...got].sort((a, b) => a - b)).toEqual(sorted(tp.emu.portal.contacts));
    });
    it(`deals, ${strategy}`, async () => {
      const got = await ids(client(), { entity: 'deal', strategy });
      expect(new Set(got).size).toBe(got.length);
      expect([...got].sort((a, b) => a - b)).toEqual(sorted(tp.emu.portal.deals));
    });
  }

  it('companies (chain, legacy and crm.item) equal the portal', async () => {
    for (const api of ['legacy', 'item'] as const) {
      const got = await ids(client(), { entity: 'company', api, select: ['ID', 'TITLE'] });
      expect([...got].sort((a, b) => a - b)).toEqual(sorted(tp.emu.portal.companies));
    }
  });

  it('deals via crm.item.list and spread over both methods give the same rows in the legacy shape', async () => {
    const c = client();
    const legacy = new Map<number, Record<string, unknown>>();
    for await (const p of exportList(c, { entity: 'deal', select: ['ID', 'TITLE', 'STAGE_ID', 'OPPORTUNITY', 'CURRENCY_ID', 'CONTACT_ID', 'DATE_MODIFY'] })) {
      for (const r of p.rows) legacy.set(Number(r.ID), r);
    }
    for (const api of ['item', 'spread'] as const) {
      const seen = new Set<number>();
      for await (const p of exportList(c, { entity: 'deal', api, strategy: api === 'spread' ? 'ranges' : 'chain', select: ['ID', 'TITLE', 'STAGE_ID', 'OPPORTUNITY', 'CURRENCY_ID', 'CONTACT_ID', 'DATE_MODIFY'] })) {
        for (const r of p.rows) {
          const id = Number(r.ID);
          seen.add(id);
          const l = legacy.get(id)!;
          for (const f of ['TITLE', 'STAGE_ID', 'OPPORTUNITY', 'CURRENCY_ID', 'CONTACT_ID', 'DATE_MODIFY']) expect([id, f, r[f]]).toEqual([id, f, l[f]]);
        }
      }
      expect(seen.size).toBe(legacy.size);
    }
    // spread really used both methods
    expect(c.counters.byMethod['crm.item.list']?.calls ?? 0).toBeGreaterThan(0);
  });
});

describe('resumable and incremental', () => {
  it('resumes from the cursor of an interrupted export without losing rows', async () => {
    const c = client();
    const first: number[] = [];
    let cursor = 0;
    for await (const p of exportList(c, { entity: 'deal', batchSize: 10, select: ['ID'] })) {
      first.push(...p.rows.map((r) => Number(r.ID)));
      cursor = p.cursor;
      if (first.length >= 2000) break; // "crash" after a checkpoint
    }
    const rest = await ids(c, { entity: 'deal', afterId: cursor, select: ['ID'] });
    const all = new Set([...first, ...rest]);
    expect(all.size).toBe(tp.emu.portal.deals.size);
    expect(Math.min(...rest)).toBeGreaterThan(cursor);
  });

  for (const strategy of ['chain', 'ranges'] as const) {
    it(`incremental by DATE_MODIFY (${strategy}) returns exactly the rows modified since`, async () => {
      const mods = [...tp.emu.portal.deals.values()].map((d) => d.dateModify).sort((a, b) => a - b);
      const since = mods[Math.floor(mods.length * 0.8)]!;
      const want = [...tp.emu.portal.deals.values()].filter((d) => d.dateModify > since).map((d) => d.id).sort((a, b) => a - b);
      const got = await ids(client(), { entity: 'deal', strategy, modifiedSince: since, overlapSec: 0, select: ['ID', 'DATE_MODIFY'] });
      expect([...new Set(got)].sort((a, b) => a - b)).toEqual(want);
      // with the default overlap the set can only grow
      const over = await ids(client(), { entity: 'deal', strategy, modifiedSince: since, select: ['ID'] });
      expect(over.length).toBeGreaterThanOrEqual(want.length);
    });
  }
});

describe('product rows', () => {
  it('exports the rows of many deals with =ownerId arrays and continues full pages', async () => {
    const dealIds = sorted(tp.emu.portal.deals).slice(0, 3000);
    let want = 0;
    for (const id of dealIds) want += tp.emu.portal.productRows.get(id)?.length ?? 0;
    const c = client();
    const rowIds = new Set<number>();
    const done = new Set<number>();
    for await (const p of exportProductRows(c, dealIds, { dealsPerCall: 40 })) {
      for (const r of p.rows) rowIds.add(Number(r.id));
      for (const d of p.completedDeals) done.add(d);
    }
    expect(rowIds.size).toBe(want);
    expect(done.size).toBe(dealIds.length);
  });
});

describe('limits', () => {
  it('a long steady-state export on the standard plan provokes zero 503 and 429', async () => {
    await resetStats(tp.emu, true);
    const c = client();
    // batches of 2 → ~120 HTTP requests: far beyond the burst, so the bucket pacing is exercised
    const got = await ids(c, { entity: 'deal', batchSize: 2, select: ['ID'] });
    expect(got.length).toBe(tp.emu.portal.deals.size);
    const s = await emulatorStats(tp.emu);
    expect(s.requests).toBeGreaterThan(100);
    expect(s.rejected503).toBe(0);
    expect(s.rejected429).toBe(0);
    expect(c.counters.rateLimited503).toBe(0);
  });

  it('when the bucket is the bottleneck the client paces itself instead of provoking 503', async () => {
    // a slow drain (0.2/s, burst 10) so the bucket fills even at ×100; the client mirrors it
    await axios.post(`${tp.emu.url}_emulator/limits`, { burst: 10, drain: 0.2 });
    try {
      await resetStats(tp.emu, true);
      const c = new B24Client({ tokens: tp.tokens, limiter: { burst: 10, drainPerSec: 0.2, timeScale: TS } });
      const got = await ids(c, { entity: 'contact', batchSize: 3, select: ['ID'] });
      expect(got.length).toBe(tp.emu.portal.contacts.size);
      const s = await emulatorStats(tp.emu);
      expect(s.requests).toBeGreaterThan(15);
      expect(s.rejected503).toBe(0);
      expect(c.limiter.stats.waitedBucketMs).toBeGreaterThan(0);
    } finally {
      await axios.post(`${tp.emu.url}_emulator/limits`, { burst: 50, drain: 2 });
    }
  });
});
