/**
 * 013: the "any field" filter (`crm`, src/segments/customer.ts) finds the contacts holding a listed
 * value through an index instead of reading every contact of the portal (issue 14 item 7: the live
 * count had to read all contacts, 3–4× the time of the other filters). GIN over the standard fields
 * kept as jsonb (std) and the custom ones (uf), jsonb_path_ops: one entry per path and value, so
 * `std @> '{"HONORIFIC": "HNR_EN_1"}'` reads only the matching contacts (then the exact test).
 */
export const name = 'field_values_index';

export const sql = /* sql */ `
CREATE INDEX contacts_std_values ON contacts USING gin (std jsonb_path_ops);
CREATE INDEX contacts_uf_values ON contacts USING gin (uf jsonb_path_ops);
`;
