/**
 * The margin of a won deal, the one rule (effectiveness per segment and campaign measurement use
 * it): amount − Σ quantity × the product's purchase price (in the base currency) when every product
 * row of the deal has one (products.purchasing_price, migration 010); else amount × marginPercent / 100.
 */

/**
 * A CTE body: per deal of `dealIds` (a SQL set of deal ids; `$1` is the portal id), whether every
 * product row has a purchase price (`known`) and the deals' purchase cost (`cost`), as (deal, known, cost).
 */
export function dealCostSql(dealIds: string): string {
  return `SELECT pr.deal_id AS deal, bool_and(p.purchasing_price IS NOT NULL) AS known,
         sum(COALESCE(pr.quantity, 1) * p.purchasing_price * COALESCE(cur.amount / NULLIF(cur.amount_cnt, 0), 1))::float8 AS cost
    FROM product_rows pr
    LEFT JOIN products p ON p.portal_id = pr.portal_id AND p.id = pr.product_id
    LEFT JOIN currencies cur ON cur.portal_id = pr.portal_id AND cur.code = COALESCE(p.purchasing_currency, p.currency_id)
   WHERE pr.portal_id = $1 AND pr.deal_id IN (${dealIds})
   GROUP BY pr.deal_id`;
}

/** A won deal's margin from its `amount` and its row `cost` of dealCostSql (may be NULL: no product rows), with the margin % `pct`. */
export const dealMarginSql = (amount: string, cost: string, pct: string): string =>
  `CASE WHEN ${cost}.known THEN ${amount} - ${cost}.cost ELSE ${amount} * ${pct}::float8 / 100 END`;

/** The day of a deal `d`: its closing date, else the day it was created (as the scoring reads it). */
export const dealDaySql = (d: string): string => `COALESCE(${d}.close_date, ${d}.date_create::date)`;
