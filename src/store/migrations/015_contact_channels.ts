/**
 * 015: the data-quality panel (issue 15 item 5) finds duplicate contacts (and companies) by the
 * same e-mail or phone. The store kept only HAS_PHONE / HAS_EMAIL; it now keeps the values, read
 * from the PHONE and EMAIL multi-fields the sync selects by name (crm.contact.list /
 * crm.company.list answer them only when named, https://apidocs.bitrix24.com/api-reference/crm/contacts/crm-contact-list.html):
 * `emails` lower-cased and trimmed, `phones` as their digits only (src/bitrix/rest-values.ts
 * channelValues), each a JSON array of distinct values. Rows synced before this migration hold []
 * until the next full sync (the panel says so by counting what is there).
 */
export const name = 'contact_channels';

export const sql = /* sql */ `
ALTER TABLE contacts ADD COLUMN emails jsonb NOT NULL DEFAULT '[]'::jsonb, ADD COLUMN phones jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE companies ADD COLUMN emails jsonb NOT NULL DEFAULT '[]'::jsonb, ADD COLUMN phones jsonb NOT NULL DEFAULT '[]'::jsonb;
`;
