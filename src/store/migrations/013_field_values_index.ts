/**
 * 013: the "any field" filter (`crm`, src/segments/customer.ts) finds the contacts that have the
 * field, or a listed value of it, through an index instead of reading every contact of the portal
 * (issue 14 item 7: its live count read all contacts, 3–4× the time of the other filters).
 *  - std (the standard fields kept as jsonb, empty values left out): GIN jsonb_ops, one entry per
 *    key and per value, for `std ? 'COMMENTS'` (the contacts that have the field) and
 *    `std @> '{"HONORIFIC": "HNR_EN_1"}'` (those holding the value);
 *  - uf (custom fields: every contact has every key, most empty): GIN jsonb_path_ops, one entry per
 *    key-and-value pair, for `uf @> '{"UF_CRM_TIER": "gold"}'` (a key alone would find everyone).
 * Either is only a first test: the exact condition follows. fastupdate off: a sync's writes go
 * into the index at once, not into a pending list that every count would read through until the
 * next vacuum (the first bench after a 100k-contact seed ran no faster than the scan).
 */
export const name = 'field_values_index';

export const sql = /* sql */ `
CREATE INDEX contacts_std_fields ON contacts USING gin (std) WITH (fastupdate = off);
CREATE INDEX contacts_uf_values ON contacts USING gin (uf jsonb_path_ops) WITH (fastupdate = off);
`;
