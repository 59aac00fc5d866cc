/**
 * Step: the product catalog (sections, then products, in the order of pools.ts CATALOG) and the
 * leaf buckets the deal step picks products from; an existing catalog becomes one bucket.
 */
import type { ProductRec, SectionRec } from '../model.js';
import type { CatalogLeaf, GenContext } from './context.js';
import { CATALOG_ID, DAY, USD_VALUE } from './constants.js';
import { CATALOG } from './pools.js';

export function addCatalog(ctx: GenContext): void {
  if (ctx.portal.products.size === 0) createCatalog(ctx);
  else useExistingCatalog(ctx);
}

function createCatalog(ctx: GenContext): void {
  const { portal, base, topLeaves } = ctx;
  const catT = ctx.start - 30 * DAY;
  for (const top of CATALOG) {
    const topId = portal.nextId('section');
    portal.sections.set(topId, { id: topId, catalogId: CATALOG_ID, name: top.name, sectionId: null, xmlId: top.code, code: top.code } satisfies SectionRec);
    const leaves: CatalogLeaf[] = [];
    for (const leaf of top.leaves) {
      const sid = portal.nextId('section');
      portal.sections.set(sid, { id: sid, catalogId: CATALOG_ID, name: leaf.name, sectionId: topId, xmlId: leaf.code, code: leaf.code });
      leaves.push({ sectionId: sid, ids: [], prices: [], names: [] });
    }
    topLeaves.push(leaves);
  }
  // products after the sections (IDs of their own table), in catalog order
  CATALOG.forEach((top, ti) => {
    top.leaves.forEach((leaf, li) => {
      const bucket = topLeaves[ti]?.[li];
      const secId = bucket?.sectionId ?? null;
      leaf.products.forEach(([name, usd], pi) => {
        const id = portal.nextId('product');
        const price = Math.max(1, Math.round(usd / (USD_VALUE[base]?.[0] ?? 1)));
        portal.products.set(id, {
          id, name, sectionId: secId, catalogId: CATALOG_ID, price, currencyId: base, active: true,
          sort: (pi + 1) * 100, xmlId: `${leaf.code}-${pi + 1}`, dateCreate: catT, timestampX: catT,
        } satisfies ProductRec);
        bucket?.ids.push(id);
        bucket?.prices.push(price);
        bucket?.names.push(name);
      });
    });
  });
}

/** Use an existing catalog: one bucket with every active product. */
function useExistingCatalog(ctx: GenContext): void {
  const b: CatalogLeaf = { sectionId: 0, ids: [], prices: [], names: [] };
  for (const p of ctx.portal.products.values()) if (p.active) { b.ids.push(p.id); b.prices.push(p.price * (ctx.rateOf.get(p.currencyId) ?? 1)); b.names.push(p.name); }
  ctx.topLeaves.push([b]);
}
