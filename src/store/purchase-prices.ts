/** The catalog's purchase prices of stored products (products.purchasing_price / purchasing_currency, migration 010). */
import type { Db } from './db.js';

export interface PurchasePriceInput {
  id: number;
  /** null: the catalog has no purchase price for the product */
  price: number | null;
  currency: string | null;
}

/** Sets the purchase price of the listed products (one statement); products not stored are ignored. Returns rows updated. */
export async function setPurchasePrices(db: Db, portalId: number, rows: readonly PurchasePriceInput[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await db.query(
    `UPDATE products p SET purchasing_price = u.price, purchasing_currency = u.currency
       FROM unnest($2::bigint[], $3::numeric[], $4::text[]) AS u(id, price, currency)
      WHERE p.portal_id = $1 AND p.id = u.id`,
    [portalId, rows.map((x) => x.id), rows.map((x) => x.price), rows.map((x) => x.currency)],
  );
  return r.rowCount ?? 0;
}
