/**
 * Purchase prices from the catalog (catalog.product.list, scope `catalog`): a sync of an app
 * with the catalog scope stores, for every product, exactly the purchase price and currency the
 * emulated portal's catalog answers (read back over REST here, more than one page of products);
 * an app without the scope gets insufficient_scope, the sync notes it and completes without
 * prices; a user without the right to view the catalog (200040300010) or to read its information
 * block (200040300030) likewise, and the margin then comes from the margin setting. The emulator method itself: the documented shape ({products: [...]}, camelCase fields),
 * the required iblockId filter. Runs on PGlite and PostgreSQL.
 */
import axios from 'axios';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { purchasingPriceOf } from '../../src/emulator/methods/catalog.js';
import { runSync } from '../../src/sync/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { effectiveness } from '../../src/server/ui-api/effectiveness-query.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';
import { eachDb } from '../helpers/db.js';
import { createPortalRow, makeClient } from './helpers/sync-env.js';

const TS = 200;

eachDb('sync: purchase prices from the catalog', (getDb) => {
  let tp: TestPortal;
  let noScope: TestPortal;
  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 150, deals: 400, seed: 5, timeScale: TS, scopes: ['crm', 'user', 'catalog'] });
    // more than one page (50) of products, so the keyset chain is exercised
    const base = [...tp.emu.portal.products.values()];
    let id = Math.max(...base.map((p) => p.id));
    while (tp.emu.portal.products.size < 130) {
      const src = base[tp.emu.portal.products.size % base.length]!;
      id++;
      tp.emu.portal.products.set(id, { ...src, id, name: `${src.name} ${id}`, price: src.price + (id % 7) });
    }
    noScope = await startTestPortal({ contacts: 40, deals: 80, seed: 6, timeScale: TS });
  });
  afterAll(async () => {
    await tp?.emu.close();
    await noScope?.emu.close();
  });

  const rest = async (p: TestPortal, method: string, params: unknown) =>
    (await axios.post(`${p.emu.url}rest/${method}`, { ...(params as object), auth: p.accessToken }, { validateStatus: () => true }));

  it('the emulator answers catalog.product.list as documented', async () => {
    const catalogId = [...tp.emu.portal.products.values()][0]!.catalogId;
    const r = await rest(tp, 'catalog.product.list', { select: ['id', 'iblockId', 'purchasingPrice', 'purchasingCurrency'], filter: { iblockId: catalogId }, order: { id: 'ASC' } });
    expect(r.status).toBe(200);
    const rows = r.data.result.products as Array<Record<string, unknown>>;
    expect(rows.length).toBe(50);
    expect(r.data.next).toBe(50);
    expect(Object.keys(rows[0]!).sort()).toEqual(['iblockId', 'id', 'purchasingCurrency', 'purchasingPrice']);
    // the documented errors (catalog-product-list.md, "Possible Error Codes")
    const noFilter = await rest(tp, 'catalog.product.list', { select: ['id', 'iblockId'] });
    expect([noFilter.status, noFilter.data.error_description]).toEqual([400, 'Required filter fields: iblockId']);
    const noSelect = await rest(tp, 'catalog.product.list', { select: ['id'], filter: { iblockId: catalogId } });
    expect([noSelect.status, noSelect.data.error_description]).toEqual([400, 'Required select fields: iblockId']);
    const noIblock = await rest(tp, 'catalog.product.list', { select: ['id', 'iblockId'], filter: { iblockId: 987654 } });
    expect([noIblock.status, String(noIblock.data.error)]).toEqual([400, '200040300000']);
    const denied = await rest(noScope, 'catalog.product.list', { select: ['id', 'iblockId'], filter: { iblockId: catalogId } });
    expect(denied.status).toBe(403);
    expect(denied.data.error).toBe('insufficient_scope');
  });

  it('a sync stores every product\'s purchase price and currency as the catalog has them', async () => {
    const db = getDb();
    const pid = await createPortalRow(db);
    const s = await runSync({ db, portalId: pid, client: makeClient(tp.tokens, TS) }, { kind: 'full' });
    const products = [...tp.emu.portal.products.values()];
    expect(s.purchasePrices).toEqual({ stored: products.length, skipped: null });
    // batches sized from the known products: 130 products in one catalog = 3 pages + 1 spare call, not 50
    expect(new Set(products.map((p) => p.catalogId)).size).toBe(1);
    expect(s.byMethod['catalog.product.list']?.calls).toBe(4);
    // independently: the catalog's own answer, every page read here by start offsets
    const want = new Map<number, [number | null, string | null]>();
    for (const catalogId of new Set(products.map((p) => p.catalogId))) {
      for (let start = 0; ; start += 50) {
        const r = await rest(tp, 'catalog.product.list', { select: ['id', 'iblockId', 'purchasingPrice', 'purchasingCurrency'], filter: { iblockId: catalogId }, order: { id: 'ASC' }, start });
        for (const x of r.data.result.products as Array<{ id: number; purchasingPrice: number | null; purchasingCurrency: string | null }>) want.set(x.id, [x.purchasingPrice, x.purchasingCurrency]);
        if (r.data.next === undefined) break;
      }
    }
    expect(want.size).toBe(products.length);
    const { rows } = await db.query<{ id: string; pp: string | null; pc: string | null }>('SELECT id::text, purchasing_price::text AS pp, purchasing_currency AS pc FROM products WHERE portal_id = $1', [pid]);
    expect(rows.length).toBe(products.length);
    const got = new Map(rows.map((r) => [Number(r.id), [r.pp === null ? null : Number(r.pp), r.pc] as [number | null, string | null]]));
    expect(got).toEqual(want);
    // a share of the catalog has prices, the rest none; prices are 60–80 % of the sale price
    const priced = products.filter((p) => got.get(p.id)![0] !== null);
    expect(priced.length).toBeGreaterThan(products.length / 2);
    expect(priced.length).toBeLessThan(products.length);
    for (const p of priced) {
      expect(got.get(p.id)![0]).toBe(purchasingPriceOf(p));
      expect(got.get(p.id)![0]! / p.price).toBeGreaterThanOrEqual(0.59);
      expect(got.get(p.id)![0]! / p.price).toBeLessThanOrEqual(0.81);
    }
  });

  it('without the catalog scope the sync notes insufficient_scope and completes without prices', async () => {
    const db = getDb();
    const pid = await createPortalRow(db);
    const s = await runSync({ db, portalId: pid, client: makeClient(noScope.tokens, TS) }, { kind: 'full' });
    expect(s.purchasePrices).toEqual({ stored: 0, skipped: 'insufficient_scope' });
    expect(s.products).toBe(noScope.emu.portal.products.size);
    const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM products WHERE portal_id = $1 AND purchasing_price IS NOT NULL', [pid]);
    expect(rows[0]!.n).toBe('0');
  });

  /** The token's user loses admin and one catalog right (the emulator's admin API), for one sync. */
  async function withRights(rights: { view?: boolean; iblockRead?: boolean }, run: () => Promise<void>): Promise<void> {
    const admin = axios.create({ baseURL: `${tp.emu.url}_emulator/`, validateStatus: () => true });
    const uid = 1;
    expect(tp.emu.portal.users.get(uid)?.isAdmin).toBe(true);
    const set = await admin.patch(`users/${uid}`, { isAdmin: false, catalogRights: rights });
    expect(set.status, JSON.stringify(set.data)).toBe(200);
    expect(set.data.user.catalogRights).toEqual({ view: true, iblockRead: true, ...rights });
    try {
      await run();
    } finally {
      expect((await admin.patch(`users/${uid}`, { isAdmin: true, catalogRights: { view: true, iblockRead: true } })).status).toBe(200);
    }
  }

  it('the emulator refuses catalog.product.list to a user without a catalog right, as documented (400 200040300010/30)', async () => {
    const catalogId = [...tp.emu.portal.products.values()][0]!.catalogId;
    const params = { select: ['id', 'iblockId'], filter: { iblockId: catalogId } };
    await withRights({ view: false }, async () => {
      const r = await rest(tp, 'catalog.product.list', params);
      expect([r.status, String(r.data.error), r.data.error_description]).toEqual([400, '200040300010', 'Access Denied']);
      // the right to view comes first, before the parameters are checked
      expect(String((await rest(tp, 'catalog.product.list', {})).data.error)).toBe('200040300010');
    });
    await withRights({ iblockRead: false }, async () => {
      const r = await rest(tp, 'catalog.product.list', params);
      expect([r.status, String(r.data.error), r.data.error_description]).toEqual([400, '200040300030', 'Access Denied']);
      // an unknown information block is still "not found"
      const none = await rest(tp, 'catalog.product.list', { ...params, filter: { iblockId: 987654 } });
      expect(String(none.data.error)).toBe('200040300000');
    });
    expect((await rest(tp, 'catalog.product.list', params)).status).toBe(200);
  });

  for (const [code, rights] of [['200040300010', { view: false }], ['200040300030', { iblockRead: false }]] as const) {
    it(`a user without the catalog right (${code}): the sync notes the refusal, completes, and the margin comes from the setting`, async () => {
      const db = getDb();
      const pid = await createPortalRow(db);
      await withRights(rights, async () => {
        const s = await runSync({ db, portalId: pid, client: makeClient(tp.tokens, TS) }, { kind: 'full' });
        expect(s.purchasePrices).toEqual({ stored: 0, skipped: code });
        expect(s.products).toBe(tp.emu.portal.products.size);
        expect(s.contacts).toBe(tp.emu.portal.contacts.size);
      });
      const priced = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM products WHERE portal_id = $1 AND purchasing_price IS NOT NULL', [pid]);
      expect(priced.rows[0]!.n).toBe('0');
      // the run continues to scoring; its effectiveness margin is the setting's share of the revenue
      const asOf = new Date(tp.emu.portal.clock.now() - 200 * 86_400_000).toISOString().slice(0, 10);
      await runScoring(db, pid, asOf);
      await runScoring(db, pid, new Date(tp.emu.portal.clock.now()).toISOString().slice(0, 10)); // the window's end is known
      const e = await effectiveness(db, pid, { entity: 'contact', window: 180, runId: null, marginPercent: 30 });
      expect(e.run!.asOf.slice(0, 10)).toBe(asOf);
      const segs = e.run!.segments.filter((x) => (x.wonDeals ?? 0) > 0);
      expect(segs.length).toBeGreaterThan(0);
      for (const x of segs) {
        expect(x.marginFromCatalog).toBe(0);
        expect(x.marginPerMember!).toBeCloseTo(x.revenuePerMember! * 0.3, 6);
      }
    });
  }
});
