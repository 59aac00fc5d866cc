/**
 * The memory bench's portal, written with bulk SQL into the app's own tables (the columns the sync
 * writes: src/store/crm.ts), millions of rows in minutes. Deterministic (hashes of the row number,
 * no PRNG state), so two seeds of the same size hold the same portal.
 *
 *  - 220 catalog sections (20 top, 10 leaves each) and 2,000 products in the leaves;
 *  - N contacts; one in 500 shares an e-mail with the next contact (the data-quality duplicates check);
 *  - D deals, each linked to one contact (deal_contacts) among the first 85 % of the contacts, so
 *    15 % have none; 70 % won, 15 % lost (two stages, a loss reason), 15 % open; 3 years of close
 *    dates before the run's day; amounts in the base currency, one won deal in 1,000 with amount 0
 *    (the zeroWon check);
 *  - product rows: one per won deal, a second for every other one (section resolved as the sync does).
 */
import type { Db } from '../../src/store/index.js';

export interface SeedSize { contacts: number; deals: number }

/** The run's day: the seeded history ends the day before. */
export const AS_OF = '2026-12-02';

/** A portal of `n.contacts` contacts and `n.deals` deals; returns its id and per-table seconds. */
export async function seedPortal(db: Db, n: SeedSize): Promise<{ portalId: number; sec: Record<string, number> }> {
  const sec: Record<string, number> = {};
  const timed = async (name: string, sql: string, params: unknown[]) => {
    const t0 = performance.now();
    await db.query(sql, params);
    sec[name] = (performance.now() - t0) / 1000;
  };
  const p = await db.query<{ id: number }>(
    `INSERT INTO portals (member_id, domain, status, base_currency) VALUES ('bench-memory', 'memory.bitrix24.test', 'active', 'RUB') RETURNING id`,
  );
  const portalId = p.rows[0]!.id;
  await db.query(`INSERT INTO currencies (portal_id, code, amount, amount_cnt, base, sort) VALUES ($1, 'RUB', 1, 1, true, 10)`, [portalId]);
  await db.query(
    `INSERT INTO stages (portal_id, entity_id, status_id, name, semantics, category_id, sort) VALUES
       ($1, 'DEAL_STAGE', 'NEW', 'New', 'P', 0, 10), ($1, 'DEAL_STAGE', 'WON', 'Won', 'S', 0, 20),
       ($1, 'DEAL_STAGE', 'LOSE', 'Lost', 'F', 0, 30), ($1, 'DEAL_STAGE', 'APOLOGY', 'Too expensive', 'F', 0, 40)`,
    [portalId],
  );
  await timed('sections', `INSERT INTO sections (portal_id, id, parent_id, catalog_id, name, depth)
     SELECT $1::int, t, NULL, 1, 'Top ' || t, 0 FROM generate_series(1, 20) t
     UNION ALL SELECT $1::int, t * 100 + k, t, 1, 'Section ' || t || '.' || k, 1 FROM generate_series(1, 20) t, generate_series(1, 10) k`, [portalId]);
  await timed('products', `INSERT INTO products (portal_id, id, name, section_id, catalog_id, price, currency_id, active)
     SELECT $1::int, g, 'Product ' || g, (1 + g % 20) * 100 + 1 + (g / 20) % 10, 1, 100 + g % 900, 'RUB', true FROM generate_series(1, 2000) g`, [portalId]);
  await timed('contacts', `INSERT INTO contacts (portal_id, id, name, last_name, source_id, assigned_by_id, has_email, has_phone, date_create, date_modify, emails)
     SELECT $1::int, g, 'N' || g, 'L' || g, (ARRAY['WEB','CALL','EMAIL'])[1 + g % 3], 1 + g % 40, true, false,
            timestamptz '2023-01-01' + (g % 1000) * interval '1 day', timestamptz '2026-11-01',
            jsonb_build_array('c' || (CASE WHEN g % 500 = 1 THEN g + 1 ELSE g END) || '@mail.test')
       FROM generate_series(1, $2) g`, [portalId, n.contacts]);
  // h: a hash of the deal number (Knuth's multiplicative), spreads deals over contacts, stages and days
  await timed('deals', `INSERT INTO deals (portal_id, id, title, category_id, stage_id, stage_semantic, currency_id, opportunity, opportunity_base,
                                           close_date, begin_date, date_create, date_modify, assigned_by_id, loss_reason)
     SELECT $1::int, g, 'Deal ' || g, 0, st, sem, 'RUB', amt, amt, $3::date - 1 - (h % 1095)::int, $3::date - 1 - (h % 1095)::int,
            ($3::date - 1 - (h % 1095)::int)::timestamptz, timestamptz '2026-11-01', 1 + g % 40,
            CASE WHEN sem = 'F' THEN (ARRAY['no response','too expensive','chose a competitor'])[1 + (h / 7) % 3] END
       FROM (SELECT g, h, CASE WHEN h % 100 < 70 THEN 'S' WHEN h % 100 < 85 THEN 'F' ELSE 'P' END AS sem,
                    CASE WHEN h % 100 < 70 THEN 'WON' WHEN h % 100 < 78 THEN 'LOSE' WHEN h % 100 < 85 THEN 'APOLOGY' ELSE 'NEW' END AS st,
                    CASE WHEN g % 1000 = 7 AND h % 100 < 70 THEN 0 ELSE 500 + (h / 101) % 20000 END::numeric AS amt
               FROM (SELECT g, (g::bigint * 2654435761) % 4294967296 AS h FROM generate_series(1, $2) g) x) y`,
  [portalId, n.deals, AS_OF]);
  await timed('deal_contacts', `INSERT INTO deal_contacts (portal_id, deal_id, contact_id, sort, is_primary)
     SELECT $1::int, g, 1 + ((g::bigint * 40503) % 4294967291) % GREATEST(1, ($3 * 85) / 100), 10, true FROM generate_series(1, $2) g`,
  [portalId, n.deals, n.contacts]);
  await timed('product_rows', `INSERT INTO product_rows (portal_id, id, deal_id, product_id, product_name, price, quantity, sort, section_id)
     SELECT $1::int, d.id * 2 + k, d.id, 1 + (d.id * 7 + k * 13) % 2000, 'Product', d.opportunity_base, 1, k * 10,
            (1 + ((1 + (d.id * 7 + k * 13) % 2000) % 20)) * 100 + 1 + ((1 + (d.id * 7 + k * 13) % 2000) / 20) % 10
       FROM deals d, generate_series(0, 1) k WHERE d.portal_id = $1 AND d.stage_semantic = 'S' AND (k = 0 OR d.id % 2 = 0)`, [portalId]);
  const t0 = performance.now();
  await db.exec('ANALYZE contacts; ANALYZE deals; ANALYZE deal_contacts; ANALYZE product_rows; ANALYZE products; ANALYZE sections');
  await db.exec('CHECKPOINT').catch(() => {});
  sec.analyze = (performance.now() - t0) / 1000;
  return { portalId, sec };
}
