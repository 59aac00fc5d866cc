/**
 * Phase 1b: the catalog's purchase prices (catalog.product.list, scope `catalog`) of the stored
 * products, for the effectiveness margin (src/server/ui-api/effectiveness-sql.ts). One catalog
 * (iblockId) at a time, by id keyset (src/b24/export-catalog.ts), stored per page. A portal that
 * refuses the call (no `catalog` scope, no right to the catalog: see refused()) is
 * noted in the checkpoint (`purchasePrices.skipped`) and the run continues without prices (the
 * stored ones are kept; the margin setting covers the deals without them).
 */
import { exportCatalogPrices } from '../b24/export-catalog.js';
import { B24Error } from '../b24/errors.js';
import { setPurchasePrices, type PurchasePriceInput } from '../store/purchase-prices.js';
import type { RunContext } from './context.js';

type Row = Record<string, unknown>;

/**
 * The portal will not give the prices: no `catalog` scope (insufficient_scope), no right to view the
 * catalog or read its information block (catalog-product-list.md: 200040300010, 200040300030, HTTP
 * 400), the catalog's information block not found (200040300000), or ACCESS_DENIED / 403.
 */
const REFUSALS = new Set(['insufficient_scope', 'ACCESS_DENIED', '200040300010', '200040300030', '200040300000']);
function refused(e: unknown): e is B24Error {
  return e instanceof B24Error && (REFUSALS.has(String(e.code)) || e.status === 403);
}

export function mapPurchasePrice(r: Row): PurchasePriceInput {
  const p = r.purchasingPrice;
  const price = p === null || p === undefined || p === '' ? null : Number(p);
  const ok = price !== null && Number.isFinite(price);
  const cur = r.purchasingCurrency;
  return { id: Number(r.id), price: ok ? price : null, currency: ok && typeof cur === 'string' && cur !== '' ? cur : null };
}

/** Reads and stores the purchase prices of the products' catalogs (CATALOG_ID → products the store has there). */
export async function purchasePricePhase(ctx: RunContext, catalogs: ReadonlyMap<number, number>): Promise<void> {
  if (ctx.cp.purchasePrices) return; // done before a resume
  let skipped: string | null = null;
  try {
    for (const [iblockId, expected] of catalogs) {
      for await (const page of exportCatalogPrices(ctx.client, iblockId, { expected })) {
        ctx.checkStopped();
        const rows = page.map(mapPurchasePrice).filter((x) => Number.isSafeInteger(x.id) && x.id > 0);
        await ctx.commit((c, n: number) => { c.purchasePrices = { stored: (c.purchasePrices?.stored ?? 0) + n, skipped: null, done: false }; },
          (tx) => setPurchasePrices(tx, ctx.portalId, rows));
      }
    }
  } catch (e) {
    if (!refused(e)) throw e;
    skipped = e.code || `HTTP ${e.status}`;
  }
  await ctx.commit((c) => { c.purchasePrices = { stored: c.purchasePrices?.stored ?? 0, skipped, done: true }; }, async () => undefined);
}
