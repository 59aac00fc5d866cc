/**
 * The data-quality checks' records (issue 15 item 5; docs/data-quality.md), read from the CRM
 * mirror of one portal. Every query is scoped by portal_id. Ids come back sorted; the pipeline
 * (src/pipeline/data-quality.ts) counts them, keeps a sample and works out what they move.
 */
import type { Db } from './db.js';
import { KIND_TABLES, type CustomerKind } from './customer-kinds.js';

/** The problem deals of a portal (all stages unless said otherwise). */
export interface ProblemDeals {
  /** won deals (stage semantic S) with amount 0 or none */
  zeroWon: number[];
  /** deals with no contact linked and no company */
  noCustomer: number[];
  /** deals in a currency the portal's currency list (crm.currency.list) does not hold, so with no rate */
  noRate: number[];
  /** those currencies */
  noRateCurrencies: string[];
}

const ids = (rows: Array<{ id: number | string }>) => rows.map((r) => Number(r.id));

const NO_CONTACT = `NOT EXISTS (SELECT 1 FROM deal_contacts dc WHERE dc.portal_id = d.portal_id AND dc.deal_id = d.id)`;
const NO_COMPANY = `COALESCE(d.company_id, 0) = 0`;
const NO_RATE = `d.currency_id IS NOT NULL AND d.currency_id <> ''
  AND NOT EXISTS (SELECT 1 FROM currencies c WHERE c.portal_id = d.portal_id AND c.code = d.currency_id)`;

export async function problemDeals(db: Db, portalId: number): Promise<ProblemDeals> {
  const q = async (where: string) => ids((await db.query<{ id: number }>(`SELECT d.id FROM deals d WHERE d.portal_id = $1 AND ${where} ORDER BY d.id`, [portalId])).rows);
  const { rows: cur } = await db.query<{ code: string }>(`SELECT DISTINCT d.currency_id AS code FROM deals d WHERE d.portal_id = $1 AND ${NO_RATE} ORDER BY 1`, [portalId]);
  return {
    zeroWon: await q(`d.stage_semantic = 'S' AND COALESCE(d.opportunity, 0) = 0`),
    noCustomer: await q(`${NO_CONTACT} AND ${NO_COMPANY}`),
    noRate: await q(NO_RATE),
    noRateCurrencies: cur.map((r) => r.code),
  };
}

/**
 * The won deals tied to no customer of the kind (contacts: no contact linked; companies: no
 * company) and their share of the won revenue in the base currency. Deals without a rate have no
 * base amount and are left out of both sums (they are the noRate check). share null: no revenue.
 */
export async function unlinkedRevenue(db: Db, portalId: number, kind: CustomerKind): Promise<{ deals: number[]; share: number | null }> {
  const unlinked = kind === 'contact' ? NO_CONTACT : NO_COMPANY;
  const { rows } = await db.query<{ id: number; base: number | null; unlinked: boolean }>(
    `SELECT d.id, d.opportunity_base::float8 AS base, (${unlinked}) AS unlinked FROM deals d
      WHERE d.portal_id = $1 AND d.stage_semantic = 'S' ORDER BY d.id`,
    [portalId],
  );
  let total = 0;
  let part = 0;
  const deals: number[] = [];
  for (const r of rows) {
    if (r.unlinked) deals.push(Number(r.id));
    if (r.base === null) continue;
    total += Number(r.base);
    if (r.unlinked) part += Number(r.base);
  }
  return { deals, share: total > 0 ? part / total : null };
}

/**
 * The customers of the kind that share an e-mail or a phone (normalised, migration 015): one id
 * list (sorted, 2 or more ids) per shared value.
 */
export async function sharedChannels(db: Db, portalId: number, kind: CustomerKind): Promise<number[][]> {
  const t = KIND_TABLES[kind].crm;
  const { rows } = await db.query<{ ids: Array<number | string> }>(
    `SELECT array_agg(DISTINCT v.id ORDER BY v.id) AS ids FROM (
       SELECT x.id, 'e:' || e.value AS val FROM ${t} x, jsonb_array_elements_text(x.emails) e WHERE x.portal_id = $1
       UNION ALL
       SELECT x.id, 'p:' || p.value AS val FROM ${t} x, jsonb_array_elements_text(x.phones) p WHERE x.portal_id = $1
     ) v GROUP BY v.val HAVING count(DISTINCT v.id) > 1 ORDER BY min(v.id)`,
    [portalId],
  );
  return rows.map((r) => r.ids.map(Number));
}
