/**
 * Catalog purchase prices: `catalog.product.list` (scope `catalog`,
 * https://apidocs.bitrix24.com/api-reference/catalog/product/catalog-product-list.html) for one
 * catalog (the filter must name its `iblockId`; `select` must hold `id` and `iblockId`). The
 * answer is `{products: [...]}`. Read by id keyset with `start=-1` (no COUNT), 50 pages a batch
 * chained by `$result` references like the CRM lists (export.ts, "chain"): page k+1 filters
 * `>id = $result[p<k>][products][49][id]`; a page with < 50 rows ends the catalog.
 */
import type { B24Client } from './client.js';
import type { BatchCommand } from './batch-encoding.js';
import { MAX_BATCH, resultRef } from './batch-encoding.js';
import type { Row } from './export.js';

const PAGE = 50;
export const CATALOG_PRICE_SELECT = ['id', 'iblockId', 'purchasingPrice', 'purchasingCurrency'];

function rowsOf(res: unknown): Row[] {
  const p = (res as { products?: unknown } | undefined)?.products;
  return Array.isArray(p) ? (p as Row[]) : [];
}

/**
 * Every product of catalog `iblockId` with id > afterId: pages of rows (id, iblockId,
 * purchasingPrice, purchasingCurrency). `expected` (the products the caller knows in this catalog)
 * sizes the batches: its pages + 1, so a small catalog costs a few calls, not 50.
 */
export async function* exportCatalogPrices(client: B24Client, iblockId: number, o: { afterId?: number; expected?: number } = {}): AsyncGenerator<Row[]> {
  let cursor = o.afterId ?? 0;
  let left = o.expected ?? PAGE * MAX_BATCH;
  for (;;) {
    const pages = Math.max(1, Math.min(MAX_BATCH, Math.ceil(Math.max(0, left) / PAGE) + 1));
    const cmds: Record<string, BatchCommand> = {};
    for (let k = 0; k < pages; k++) {
      const idRef = k === 0 ? cursor : resultRef(`p${k - 1}`, 'products', PAGE - 1, 'id');
      cmds[`p${k}`] = ['catalog.product.list', { select: CATALOG_PRICE_SELECT, filter: { iblockId, '>id': idRef }, order: { id: 'ASC' }, start: -1 }];
    }
    const r = await client.batch(cmds);
    const rows: Row[] = [];
    let end = false;
    for (let k = 0; k < pages; k++) {
      const e = r.errors[`p${k}`];
      if (e) throw e;
      const page = rowsOf(r.results[`p${k}`]);
      rows.push(...page);
      if (page.length < PAGE) { end = true; break; }
    }
    if (rows.length) yield rows;
    const last = rows.at(-1);
    if (end || !last) return;
    cursor = Number(last.id);
    left -= rows.length;
  }
}
