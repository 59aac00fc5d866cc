/**
 * Shared setup of the sync tests: an emulator portal with generated data, an OAuth-installed
 * app (tokens through the emulator's OAuth server), a B24Client on it, and store helpers:
 * the expected store content computed straight from the emulator's in-memory portal, and a
 * canonical dump of the store's CRM tables for equality checks.
 */
import type { Portal } from '../../../src/emulator/portal.js';
import { stageSemantic } from '../../../src/emulator/methods/schema.js';
import { B24Client } from '../../../src/b24/client.js';
import type { TokenSource } from '../../../src/b24/auth.js';
import type { Db } from '../../../src/store/db.js';
import { upsertPortalOnInstall } from '../../../src/store/portals.js';

export function makeClient(tokens: TokenSource, timeScale: number, log?: (event: string, data: Record<string, unknown>) => void): B24Client {
  return new B24Client({ tokens, limiter: { plan: 'standard', timeScale }, retryBaseMs: 20, log });
}

let seq = 0;
export async function createPortalRow(db: Db): Promise<number> {
  const p = await upsertPortalOnInstall(db, { memberId: `sync-test-${process.pid}-${Date.now()}-${++seq}`, domain: `t${seq}.example.com`, status: 'active' });
  return p.id;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Rates as the REST API shows them (AMOUNT with 4 decimals). */
export function portalRates(p: Portal): Map<string, number> {
  const base = p.currencies.find((c) => c.base);
  const rate = (c: { amount: number; amountCnt: number }) => Number(c.amount.toFixed(4)) / (c.amountCnt || 1);
  const b = base ? rate(base) : 1;
  return new Map(p.currencies.map((c) => [c.currency, rate(c) / b]));
}

export interface Expected {
  contacts: number;
  companies: number;
  deals: number;
  dealContacts: number;
  productRows: number;
  wonDeals: number;
}

/** What a complete sync must leave in the store, from the emulator's own state. */
export function expectedFromPortal(p: Portal): Expected {
  let dealContacts = 0;
  let productRows = 0;
  let wonDeals = 0;
  for (const d of p.deals.values()) {
    dealContacts += new Set(d.contactIds).size;
    if (stageSemantic(p, d.stageId) === 'S') {
      wonDeals++;
      productRows += p.productRows.get(d.id)?.length ?? 0;
    }
  }
  return { contacts: p.contacts.size, companies: p.companies.size, deals: p.deals.size, dealContacts, productRows, wonDeals };
}

export function expectedDeal(p: Portal, id: number): { stageSemantic: string; opportunity: number; opportunityBase: number; currencyId: string; contactIds: number[]; categoryId: number; title: string } | null {
  const d = p.deals.get(id);
  if (!d) return null;
  const rates = portalRates(p);
  return {
    stageSemantic: stageSemantic(p, d.stageId) ?? 'P',
    opportunity: d.opportunity,
    opportunityBase: round2(d.opportunity * (rates.get(d.currencyId) ?? NaN)),
    currencyId: d.currencyId,
    contactIds: [...new Set(d.contactIds)],
    categoryId: d.categoryId,
    title: d.title,
  };
}

/** Canonical dump of a portal's CRM tables (no sync_run_id, no raw), sorted. */
export async function dumpCrm(db: Db, portalId: number): Promise<Record<string, string[]>> {
  const q = async (sql: string) => (await db.query<Record<string, unknown>>(sql, [portalId])).rows.map((r) => JSON.stringify(r));
  return {
    contacts: await q(`SELECT id, name, second_name, last_name, type_id, source_id, assigned_by_id, company_id, city, has_phone, has_email, date_create, date_modify, uf FROM contacts WHERE portal_id = $1 ORDER BY id`),
    companies: await q(`SELECT id, title, company_type, industry, revenue, currency_id, source_id, assigned_by_id, city, has_phone, has_email, date_create, date_modify, uf FROM companies WHERE portal_id = $1 ORDER BY id`),
    deals: await q(`SELECT id, title, type_id, category_id, stage_id, stage_semantic, currency_id, opportunity, opportunity_base, close_date, begin_date, date_create, date_modify, assigned_by_id, company_id, source_id, loss_reason, uf FROM deals WHERE portal_id = $1 ORDER BY id`),
    dealContacts: await q(`SELECT deal_id, contact_id, sort, is_primary FROM deal_contacts WHERE portal_id = $1 ORDER BY deal_id, contact_id`),
    productRows: await q(`SELECT id, deal_id, product_id, product_name, price, quantity, discount_sum, tax_rate, measure_name, sort, section_id FROM product_rows WHERE portal_id = $1 ORDER BY id`),
    products: await q(`SELECT id, name, section_id, catalog_id, price, currency_id, active FROM products WHERE portal_id = $1 ORDER BY id`),
    sections: await q(`SELECT id, parent_id, catalog_id, name, depth FROM sections WHERE portal_id = $1 ORDER BY id`),
    stages: await q(`SELECT entity_id, status_id, name, semantics, category_id, sort, color FROM stages WHERE portal_id = $1 ORDER BY entity_id, status_id`),
    funnels: await q(`SELECT id, name, sort, is_default FROM funnels WHERE portal_id = $1 ORDER BY id`),
    currencies: await q(`SELECT code, amount, amount_cnt, base, sort FROM currencies WHERE portal_id = $1 ORDER BY code`),
  };
}
