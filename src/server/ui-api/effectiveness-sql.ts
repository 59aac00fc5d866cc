/**
 * The one query behind the effectiveness figures (effectiveness-query.ts): for the members of each
 * segment of one score run, what their deals did in the `window` days after the run's as-of day,
 * and where the members stood at the next run. The kind of customer is one parameter (`entity`):
 * its labels, the link from a member to its deals, and its labels in the next run.
 *
 * Counted per segment:
 *   members    customers the run put in the segment; buyers: those with a purchase before the run
 *   converted  members with a won deal closed in (as_of, as_of + window]; retained: buyers among them
 *   won, lost  the segment's distinct deals closed in the window (a deal of two members counts once)
 *   revenue    the won deals' amounts in the base currency
 *   margin     per won deal: amount − Σ quantity × the product's purchase price (in the base
 *              currency) when every product row has one; else amount × marginPercent / 100
 *   gap        the mean number of days from a member's previous purchase day to each purchase
 *              day in the window (first purchases have no previous one and are left out)
 *   next, kept members also in the next run; of them, those in the same or a better segment
 *              (SEGMENT_ORDER: best first)
 */
import { SEGMENT_CODES } from '../../scoring/index.js';
import { dealCostSql, dealDaySql, dealMarginSql } from '../../store/index.js';

export const ENTITIES = ['contact', 'company'] as const;
export type Entity = (typeof ENTITIES)[number];

/**
 * The documented order of segments, best first (src/scoring/codes.ts lists them so): a member
 * "stayed" when its segment at the next run is the same or earlier in this list.
 */
export const SEGMENT_ORDER: readonly string[] = SEGMENT_CODES;

interface EntitySql {
  /** the members of run $2: (id, seg, buyer) */
  members: string;
  /** joins the members `m` to deals `d` (from deals) */
  deals: string;
  /** FROM … WHERE of the deals `d2` of one member (the SQL expression `member`) */
  ownDeals: (member: string) => string;
  /** joins the member's label `n` in run $6 */
  next: string;
}

/**
 * Per kind of customer: contacts by their deals' contact links (deal_contacts), companies (B2B,
 * company_labels) by the deals' COMPANY_ID, as the scoring counts their purchases.
 */
const ENTITY_SQL: Record<Entity, EntitySql> = {
  contact: {
    members: `SELECT l.contact_id AS id, COALESCE(l.segment, 'none') AS seg, (l.last_purchase IS NOT NULL) AS buyer
                FROM contact_labels l WHERE l.portal_id = $1 AND l.run_id = $2`,
    deals: `JOIN deal_contacts dc ON dc.portal_id = $1 AND dc.deal_id = d.id JOIN m ON m.id = dc.contact_id`,
    ownDeals: (member) => `deal_contacts dc2 JOIN deals d2 ON d2.portal_id = $1 AND d2.id = dc2.deal_id WHERE dc2.portal_id = $1 AND dc2.contact_id = ${member}`,
    next: `JOIN contact_labels n ON n.portal_id = $1 AND n.run_id = $6::bigint AND n.contact_id = m.id`,
  },
  company: {
    members: `SELECT l.company_id AS id, COALESCE(l.segment, 'none') AS seg, (l.last_purchase IS NOT NULL) AS buyer
                FROM company_labels l WHERE l.portal_id = $1 AND l.run_id = $2`,
    deals: `JOIN m ON m.id = d.company_id`,
    ownDeals: (member) => `deals d2 WHERE d2.portal_id = $1 AND d2.company_id = ${member}`,
    next: `JOIN company_labels n ON n.portal_id = $1 AND n.run_id = $6::bigint AND n.company_id = m.id`,
  },
};

export interface SegmentCounts {
  segment: string;
  members: number;
  buyers: number;
  converted: number;
  retained: number;
  won: number;
  lost: number;
  revenue: number;
  margin: number;
  /** won deals whose margin came from the catalog's purchase prices */
  marginFromCatalog: number;
  gap: number | null;
  gaps: number;
  next: number;
  kept: number;
}

/** The day of a deal (store/deal-margin.ts). */
const dayOf = dealDaySql;
/** Deals `d` of the window (as_of, as_of + window]: by closing date (the index deals_portal_semantic_close), else creation day. */
const IN_WINDOW = `((d.close_date > $3::date AND d.close_date <= $3::date + $4::int)
      OR (d.close_date IS NULL AND d.date_create::date > $3::date AND d.date_create::date <= $3::date + $4::int))`;

/**
 * The query's text and parameters: $1 portal, $2 run, $3 as-of day, $4 window in days,
 * $5 margin %, $6 the next run (null: none), $7 SEGMENT_ORDER. It reads the window's deals from
 * the deals' index (not the members' whole history); a purchase's previous one is looked up per
 * purchase in the window.
 */
export function effectivenessSql(entity: Entity): string {
  const e = ENTITY_SQL[entity];
  return `
WITH m AS MATERIALIZED (${e.members}),
w AS MATERIALIZED (
  SELECT DISTINCT m.seg, m.id AS member, m.buyer, d.id AS deal, d.stage_semantic AS sem, ${dayOf('d')} AS day,
         COALESCE(d.opportunity_base, d.opportunity, 0)::float8 AS amount
    FROM deals d ${e.deals}
   WHERE d.portal_id = $1 AND d.stage_semantic IN ('S', 'F') AND ${IN_WINDOW}),
dd AS MATERIALIZED (SELECT DISTINCT seg, deal, sem, amount FROM w),
cost AS (
  ${dealCostSql(`SELECT deal FROM dd WHERE sem = 'S'`)}),
k AS (
  SELECT dd.seg, count(*) FILTER (WHERE dd.sem = 'S')::int AS won, count(*) FILTER (WHERE dd.sem = 'F')::int AS lost,
         COALESCE(sum(dd.amount) FILTER (WHERE dd.sem = 'S'), 0)::float8 AS revenue,
         COALESCE(sum(${dealMarginSql('dd.amount', 'cost', '$5')}) FILTER (WHERE dd.sem = 'S'), 0)::float8 AS margin,
         count(*) FILTER (WHERE dd.sem = 'S' AND cost.known)::int AS "marginFromCatalog"
    FROM dd LEFT JOIN cost ON cost.deal = dd.deal GROUP BY dd.seg),
c AS (
  SELECT seg, count(DISTINCT member) FILTER (WHERE sem = 'S')::int AS converted,
         count(DISTINCT member) FILTER (WHERE sem = 'S' AND buyer)::int AS retained
    FROM w GROUP BY seg),
pd AS (SELECT DISTINCT seg, member, day FROM w WHERE sem = 'S'),
gp AS (
  SELECT pd.seg, pd.day - (SELECT max(${dayOf('d2')}) FROM ${e.ownDeals('pd.member')}
                            AND d2.stage_semantic = 'S' AND ${dayOf('d2')} < pd.day) AS gap
    FROM pd),
g AS (SELECT seg, avg(gap)::float8 AS gap, count(gap)::int AS gaps FROM gp GROUP BY seg),
nx AS (
  SELECT m.seg, count(*)::int AS next,
         count(*) FILTER (WHERE n.segment = m.seg OR array_position($7::text[], n.segment) <= array_position($7::text[], m.seg))::int AS kept
    FROM m ${e.next} GROUP BY m.seg),
s AS (SELECT seg, count(*)::int AS members, count(*) FILTER (WHERE buyer)::int AS buyers FROM m GROUP BY seg)
SELECT s.seg AS segment, s.members, s.buyers, COALESCE(c.converted, 0) AS converted, COALESCE(c.retained, 0) AS retained,
       COALESCE(k.won, 0) AS won, COALESCE(k.lost, 0) AS lost, COALESCE(k.revenue, 0)::float8 AS revenue,
       COALESCE(k.margin, 0)::float8 AS margin, COALESCE(k."marginFromCatalog", 0) AS "marginFromCatalog",
       g.gap, COALESCE(g.gaps, 0) AS gaps, COALESCE(nx.next, 0) AS next, COALESCE(nx.kept, 0) AS kept
  FROM s LEFT JOIN c USING (seg) LEFT JOIN k USING (seg) LEFT JOIN g USING (seg) LEFT JOIN nx USING (seg)
 ORDER BY array_position($7::text[], s.seg) NULLS LAST, s.seg`;
}
