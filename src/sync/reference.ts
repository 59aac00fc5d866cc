/**
 * Phase 1: reference data, small and listed completely every run (full and incremental):
 * currencies (crm.currency.list), deal stages (crm.status.list, ENTITY_ID DEAL_STAGE*), the deal
 * user fields (crm.deal.fields: a refusal reason may be read from one),
 * funnels (crm.category.list entityTypeId 2), product sections (crm.productsection.list) and
 * products (crm.product.list) — first pages in ONE batch together with the counted list calls
 * that give the expected row totals; further pages (start offsets) in one more batch.
 * A resumed run that already stored them reads them back from the store (referencePhase).
 */
import type { B24Client } from '../b24/client.js';
import type { BatchCommand } from '../b24/batch-encoding.js';
import type { Db } from '../store/db.js';
import {
  deleteNotSeenInRun, getCurrencies, getProducts, replaceDealFields, upsertCurrencies, upsertFunnels, upsertProducts, upsertSections,
  upsertStages, type CurrencyInput, type DealFieldInput, type FunnelInput, type ProductInput, type SectionInput, type StageInput,
} from '../store/crm.js';
import type { RunContext } from './context.js';
import {
  PRODUCT_SELECT, SECTION_SELECT, makeToBase, mapCurrency, mapDealFields, mapFunnel, mapProduct, mapSection, mapStage, type ToBase,
} from './map.js';
import type { PulledCounts } from './types.js';

type Row = Record<string, unknown>;
const PAGE = 50;

export interface ReferenceData {
  currencies: CurrencyInput[];
  stages: StageInput[];
  funnels: FunnelInput[];
  sections: SectionInput[];
  products: ProductInput[];
  /** The deal user fields (crm.deal.fields); null when the portal did not answer (the stored list is kept). */
  dealFields: DealFieldInput[] | null;
  /** Expected rows of this run (from `total` of counted list calls). */
  expected: Partial<Record<keyof PulledCounts, number>> & { wonDeals?: number };
}

export function isoFilterTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

const arr = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : []);

/** Fetches all reference data (+ expected totals). `modifiedAfter` (epoch ms, overlap applied) scopes the counts. */
export async function fetchReference(client: B24Client, modifiedAfter: number | null): Promise<ReferenceData> {
  const mod: Record<string, unknown> = modifiedAfter === null ? {} : { '>DATE_MODIFY': isoFilterTime(modifiedAfter) };
  const modItem: Record<string, unknown> = modifiedAfter === null ? {} : { '>updatedTime': isoFilterTime(modifiedAfter) };
  const sectionParams = { order: { ID: 'ASC' }, select: SECTION_SELECT };
  const productParams = { order: { ID: 'ASC' }, select: PRODUCT_SELECT };
  const cmds: Record<string, BatchCommand> = {
    currencies: ['crm.currency.list', { order: { SORT: 'ASC' } }],
    statuses: ['crm.status.list', { order: { SORT: 'ASC' } }],
    funnels: ['crm.category.list', { entityTypeId: 2 }],
    sections: ['crm.productsection.list', { ...sectionParams, start: 0 }],
    products: ['crm.product.list', { ...productParams, start: 0 }],
    // counted calls: one per entity, for the progress/ETA expectation
    nContacts: ['crm.contact.list', { filter: mod, select: ['ID'], order: { ID: 'ASC' }, start: 0 }],
    nCompanies: ['crm.company.list', { filter: mod, select: ['ID'], order: { ID: 'ASC' }, start: 0 }],
    nDeals: ['crm.item.list', { entityTypeId: 2, filter: modItem, select: ['id'], order: { id: 'ASC' }, start: 0 }],
    nWon: ['crm.item.list', { entityTypeId: 2, filter: { ...modItem, stageSemanticId: 'S' }, select: ['id'], order: { id: 'ASC' }, start: 0 }],
    nLeads: ['crm.lead.list', { filter: mod, select: ['ID'], order: { ID: 'ASC' }, start: 0 }],
    // the deal user fields a refusal reason may be read from (settings.refusal, src/pipeline/refusal.ts)
    dealFields: ['crm.deal.fields', {}],
  };
  const r = await client.batch(cmds);
  for (const k of ['currencies', 'statuses', 'funnels', 'sections', 'products']) {
    const e = r.errors[k];
    if (e) throw e;
  }
  const expected: ReferenceData['expected'] = {};
  const tot = (k: string): number | undefined => (r.errors[k] ? undefined : r.totals[k] !== undefined ? Number(r.totals[k]) : undefined);
  if (tot('nContacts') !== undefined) expected.contacts = tot('nContacts');
  if (tot('nCompanies') !== undefined) expected.companies = tot('nCompanies');
  if (tot('nDeals') !== undefined) expected.deals = tot('nDeals');
  if (tot('nWon') !== undefined) expected.wonDeals = tot('nWon');
  if (tot('nLeads') !== undefined) expected.leads = tot('nLeads');

  const sections = arr(r.results.sections);
  const products = arr(r.results.products);
  const more: Record<string, BatchCommand> = {};
  const addPages = (key: 'sections' | 'products', got: number) => {
    const total = Number(r.totals[key] ?? got);
    const method = key === 'sections' ? 'crm.productsection.list' : 'crm.product.list';
    const params = key === 'sections' ? sectionParams : productParams;
    for (let start = PAGE; start < total; start += PAGE) more[`${key}:${start}`] = [method, { ...params, start }];
  };
  addPages('sections', sections.length);
  addPages('products', products.length);
  if (Object.keys(more).length) {
    const m = await client.batch(more);
    for (const k of Object.keys(more)) {
      const e = m.errors[k];
      if (e) throw e;
      (k.startsWith('sections') ? sections : products).push(...arr(m.results[k]));
    }
  }
  const cats = (r.results.funnels as { categories?: Row[] } | undefined)?.categories ?? [];
  return {
    currencies: arr(r.results.currencies).map(mapCurrency),
    stages: arr(r.results.statuses).filter((s) => String(s.ENTITY_ID ?? '').startsWith('DEAL_STAGE')).map(mapStage),
    funnels: cats.map(mapFunnel),
    sections: sections.map(mapSection),
    products: products.map(mapProduct),
    dealFields: r.errors.dealFields ? null : mapDealFields(r.results.dealFields),
    expected,
  };
}

/**
 * Stores the reference data (one transaction): currencies, stages and funnels are replaced
 * as a whole; products and sections are upserted with the run id and the ones not listed
 * any more are deleted. Returns whether any currency rate changed (→ recompute opportunity_base)
 * and the deleted counts.
 */
export async function storeReference(db: Db, portalId: number, runId: number, ref: ReferenceData): Promise<{ ratesChanged: boolean; deletedProducts: number; deletedSections: number }> {
  return db.transaction(async (tx) => {
    const old = await getCurrencies(tx, portalId);
    const key = (c: { code: string; amount: number; amountCnt?: number | null; base?: boolean | null }) => `${c.code}:${Number(c.amount)}:${c.amountCnt ?? 1}:${!!c.base}`;
    const oldKeys = new Set(old.map(key));
    const ratesChanged = old.length > 0 && (old.length !== ref.currencies.length || ref.currencies.some((c) => !oldKeys.has(key(c))));
    await tx.query('DELETE FROM currencies WHERE portal_id = $1', [portalId]);
    await upsertCurrencies(tx, portalId, ref.currencies);
    await tx.query('DELETE FROM stages WHERE portal_id = $1', [portalId]);
    await upsertStages(tx, portalId, ref.stages);
    await tx.query('DELETE FROM funnels WHERE portal_id = $1', [portalId]);
    await upsertFunnels(tx, portalId, ref.funnels);
    await upsertSections(tx, portalId, ref.sections, { syncRunId: runId });
    await upsertProducts(tx, portalId, ref.products, { syncRunId: runId });
    if (ref.dealFields) await replaceDealFields(tx, portalId, ref.dealFields);
    const deletedSections = await deleteNotSeenInRun(tx, portalId, 'sections', runId);
    const deletedProducts = await deleteNotSeenInRun(tx, portalId, 'products', runId);
    return { ratesChanged, deletedProducts, deletedSections };
  });
}

/** What the later phases need from the reference data. */
export interface ReferenceFacts {
  toBase: ToBase;
  /** product id → its section */
  productSection: Map<number, number | null>;
  /** the products' catalogs (CATALOG_ID → its products): where catalog.product.list reads purchase prices */
  catalogs: Map<number, number>;
}

/** Phase 1 of a run: fetch and store the reference data (one commit), or read it back on resume. */
export async function referencePhase(ctx: RunContext): Promise<ReferenceFacts> {
  const { db, portalId, runId, client, cp } = ctx;
  if (cp.reference) {
    const currencies = (await getCurrencies(db, portalId)).map((c) => ({ code: c.code, amount: c.amount, amountCnt: c.amountCnt, base: c.base, sort: c.sort }));
    const products = await getProducts(db, portalId);
    const productSection = new Map(products.map((p) => [p.id, p.sectionId]));
    return { toBase: makeToBase(currencies), productSection, catalogs: catalogsOf(products) };
  }
  const w0 = Date.now();
  const modifiedAfter = cp.since !== null ? cp.since - cp.overlapSec * 1000 : null;
  const ref = await fetchReference(client, modifiedAfter);
  ctx.checkStopped();
  // portal time when the run started (watermark): the limiter's anchored portal clock minus
  // the wall time of the first batch scaled to portal seconds, minus 1 s of margin
  const startedAt = Math.floor(client.limiter.portalNow() * 1000 - (Date.now() - w0) * client.limiter.timeScale - 1000);
  const productSection = new Map(ref.products.map((p) => [p.id, p.sectionId ?? null]));
  await ctx.commit(
    (c, r: { ratesChanged: boolean; deletedProducts: number; deletedSections: number }) => {
      c.startedAt = startedAt;
      c.reference = true;
      c.expected = {
        contacts: ref.expected.contacts, companies: ref.expected.companies, deals: ref.expected.deals, leads: ref.expected.leads,
        products: ref.products.length, sections: ref.sections.length,
      };
      c.wonExpected = ref.expected.wonDeals;
      c.counts.currencies = ref.currencies.length;
      c.counts.stages = ref.stages.length;
      c.counts.funnels = ref.funnels.length;
      c.counts.products = ref.products.length;
      c.counts.sections = ref.sections.length;
      c.ratesChanged = r.ratesChanged;
      c.deleted.products += r.deletedProducts;
      c.deleted.sections += r.deletedSections;
    },
    (tx) => storeReference(tx, portalId, runId, ref),
  );
  return { toBase: makeToBase(ref.currencies), productSection, catalogs: catalogsOf(ref.products) };
}

/** The products' catalog ids (ascending) with their product counts. */
function catalogsOf(products: ReadonlyArray<{ catalogId?: number | null }>): Map<number, number> {
  const n = new Map<number, number>();
  for (const p of products) if (p.catalogId !== null && p.catalogId !== undefined && Number(p.catalogId) > 0) n.set(Number(p.catalogId), (n.get(Number(p.catalogId)) ?? 0) + 1);
  return new Map([...n].sort((a, b) => a[0] - b[0]));
}
