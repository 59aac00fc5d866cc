/**
 * 010: what the effectiveness figures need (src/server/ui-api/effectiveness-*.ts). The catalog's
 * purchase price of a product (PURCHASING_PRICE, PURCHASING_CURRENCY), when the store has it, gives
 * a won deal's margin from its product rows; without it the margin comes from the percentage in
 * the settings (section `effectiveness`).
 */
export const name = 'effectiveness';

export const sql = /* sql */ `
ALTER TABLE products ADD COLUMN IF NOT EXISTS purchasing_price numeric;
ALTER TABLE products ADD COLUMN IF NOT EXISTS purchasing_currency text;
`;
