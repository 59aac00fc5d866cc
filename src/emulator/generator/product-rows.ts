/**
 * Product rows of a won deal: one to four rows from the customer's favourite catalog sections
 * (70% the first, 20% the second, 10% any), the product of three tries whose price is nearest to
 * the row's share of the order value, quantities filling that share, sometimes a discount.
 */
import type { ProductRowRec } from '../model.js';
import type { CatalogLeaf, GenContext } from './context.js';
import { round2 } from './constants.js';
import type { Rng } from './random.js';

const ROW_COUNT_W = [50, 28, 14, 8];
const ROW_COUNTS = [1, 2, 3, 4];

/** A won deal being filled: its owner, customer and order value. */
export interface OrderSpec {
  dealId: number;
  /** Contact index. */
  ci: number;
  funnel: number;
  /** Order value, base currency. */
  target: number;
  /** Base units per one unit of the deal currency, and whether it is counted in whole units. */
  rate: number;
  whole: boolean;
}

/** Where an order's products come from: the leaf buckets per top section and the customer's two favourites. */
export interface OrderSource {
  topLeaves: CatalogLeaf[][];
  /** Indexes into topLeaves: the favourite top section and the second one. */
  fav: readonly [number, number];
  nextRowId: () => number;
}

/** Adds the rows to the portal; returns the order sum in the deal currency. */
export function addProductRows(ctx: GenContext, dRng: Rng, o: OrderSpec): number {
  const cFav = ctx.contacts.fav;
  const src: OrderSource = {
    topLeaves: ctx.topLeaves, fav: [cFav[2 * o.ci] ?? 0, cFav[2 * o.ci + 1] ?? 0], nextRowId: () => ++ctx.ids.productRow,
  };
  const { rows, sum } = drawOrderRows(src, dRng, o);
  if (rows.length > 0) ctx.portal.productRows.set(o.dealId, rows.slice()); // exact-capacity copy: memory
  ctx.tally.rows += rows.length;
  return sum;
}

/** The rows of one order (the generator's rule, shared with the living portal); sum in the deal currency. */
export function drawOrderRows(src: OrderSource, dRng: Rng, o: Omit<OrderSpec, 'ci'>): { rows: ProductRowRec[]; sum: number } {
  const { topLeaves } = src;
  const nTops = topLeaves.length;
  const { dealId: id, funnel, target, rate, whole } = o;
  const rows: ProductRowRec[] = [];
  const nRows = dRng.weighted(ROW_COUNTS, ROW_COUNT_W);
  let sum = 0;
  for (let r = 0; r < nRows; r++) {
    const x = dRng.next();
    const top = x < 0.7 ? src.fav[0] : x < 0.9 ? src.fav[1] : dRng.int(0, nTops - 1);
    const leaves = topLeaves[top % nTops] ?? [];
    const leaf = leaves[dRng.int(0, Math.max(0, leaves.length - 1))];
    if (!leaf || leaf.ids.length === 0) continue;
    const rowTarget = target / nRows;
    let bestJ = dRng.int(0, leaf.ids.length - 1);
    for (let c = 0; c < 2; c++) {
      const j = dRng.int(0, leaf.ids.length - 1);
      if (Math.abs(Math.log((leaf.prices[j] ?? 1) / rowTarget)) < Math.abs(Math.log((leaf.prices[bestJ] ?? 1) / rowTarget))) bestJ = j;
    }
    const basePrice = leaf.prices[bestJ] ?? 1;
    const maxQty = funnel === 1 ? 60 : 5;
    const qty = Math.max(1, Math.min(maxQty, Math.round((rowTarget / basePrice) * (0.6 + dRng.next() * 0.4))));
    const netto = whole ? Math.round(basePrice / rate) : round2(basePrice / rate);
    const discRate = dRng.chance(funnel === 1 ? 0.5 : 0.18) ? dRng.pick([5, 10, 15, 20]) : 0;
    const discSum = round2((netto * discRate) / 100);
    const price = round2(netto - discSum);
    sum += price * qty;
    rows.push({
      id: src.nextRowId(), ownerType: 'D', ownerId: id, productId: leaf.ids[bestJ] ?? 0, productName: leaf.names[bestJ] ?? '',
      price, priceExclusive: price, priceNetto: netto, priceBrutto: netto, quantity: qty, discountTypeId: 2,
      discountRate: discRate, discountSum: discSum, taxRate: null, taxIncluded: false, customized: true,
      measureCode: 796, measureName: 'pcs', sort: (r + 1) * 10, type: 1,
    });
  }
  return { rows, sum };
}
