/**
 * The catalog as the live process fills orders from it: leaf buckets per top-level section
 * (as the generator built them: sections in ID order, active products with base-currency prices),
 * each currency's base-currency value, and the portal's calendar days.
 */
import { makeCalendar } from '../generator/calendar.js';
import type { CatalogLeaf } from '../generator/context.js';
import type { Portal } from '../portal.js';

export interface LiveCatalog {
  topLeaves: CatalogLeaf[][];
  /** Top section ID → index into topLeaves. */
  topIndex: Map<number, number>;
  /** Base units per one unit of each currency. */
  rateOf: Map<string, number>;
  /** Local calendar day of a moment in the portal's time zone (its offset taken once per run). */
  dayStr: (t: number) => string;
}

export function readCatalog(portal: Portal, now: number): LiveCatalog {
  const rateOf = new Map(portal.currencies.map((c) => [c.currency, c.amount / (c.amountCnt || 1)]));
  const tops = [...portal.sections.values()].filter((s) => s.sectionId === null).sort((a, b) => a.id - b.id);
  const topIndex = new Map(tops.map((s, i) => [s.id, i]));
  const leafOf = new Map<number, CatalogLeaf>();
  const topLeaves: CatalogLeaf[][] = tops.map(() => []);
  for (const s of [...portal.sections.values()].sort((a, b) => a.id - b.id)) {
    const ti = s.sectionId === null ? undefined : topIndex.get(s.sectionId);
    if (ti === undefined) continue;
    const leaf: CatalogLeaf = { sectionId: s.id, ids: [], prices: [], names: [] };
    leafOf.set(s.id, leaf);
    topLeaves[ti]?.push(leaf);
  }
  const loose: CatalogLeaf = { sectionId: 0, ids: [], prices: [], names: [] };
  for (const p of [...portal.products.values()].sort((a, b) => a.id - b.id)) {
    if (!p.active) continue;
    const leaf = (p.sectionId !== null ? leafOf.get(p.sectionId) : undefined) ?? loose;
    leaf.ids.push(p.id);
    leaf.prices.push(p.price * (rateOf.get(p.currencyId) ?? 1));
    leaf.names.push(p.name);
  }
  if (loose.ids.length > 0) topLeaves.push([loose]);
  return { topLeaves, topIndex, rateOf, dayStr: makeCalendar(portal.timeZone, now).dayStr };
}
