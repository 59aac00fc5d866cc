/**
 * 012: what users segment on besides the labels (issue 14 item 7): a contact's date of birth
 * (BIRTHDATE: the age filter), job title (POST), its other standard fields (std: every scalar
 * standard field the portal sends that has no column of its own, e.g. HONORIFIC, TYPE_ID's
 * neighbours COMMENTS, OPENED, UTM_SOURCE, ADDRESS_*; empty values left out), and a company's size
 * (EMPLOYEES, a CRM status id such as EMPLOYEES_2). Custom fields stay in contacts.uf (UF_*, as
 * before). The synced fields are declared once in src/store/crm-fields.ts.
 *
 * The filters on these read contacts (and the contact's company) through the contacts join, or an
 * EXISTS over contacts for the live count over label_facts (src/segments/customer.ts); the
 * index below finds a company's contacts.
 */
export const name = 'customer_fields';

export const sql = /* sql */ `
ALTER TABLE contacts ADD COLUMN birthdate date;
ALTER TABLE contacts ADD COLUMN post text;
ALTER TABLE contacts ADD COLUMN std jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE companies ADD COLUMN employees text;
CREATE INDEX contacts_company_filter ON contacts (portal_id, company_id) WHERE company_id IS NOT NULL;
`;
