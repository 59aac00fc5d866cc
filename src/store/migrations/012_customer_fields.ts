/**
 * 012: what users segment on besides the labels (issue 14 item 7): a contact's date of birth
 * (BIRTHDATE: the age filter), job title (POST), its other standard fields (std: every scalar
 * standard field the portal sends that has no column of its own, e.g. HONORIFIC, TYPE_ID's
 * neighbours COMMENTS, OPENED, UTM_SOURCE, ADDRESS_*; empty values left out), and a company's size
 * (EMPLOYEES, a CRM status id such as EMPLOYEES_2). Custom fields stay in contacts.uf (UF_*, as
 * before). The synced fields are declared once in src/store/crm-fields.ts.
 *
 * The filters on these read contacts (and the contact's company) through the contacts join. For
 * the live count, label_facts (migration 005) gets copies of the birth date, the lower-cased job
 * title, the created day and the company id, written by the same functions as its other contact
 * columns (replaced here with those columns added: 005's labelFactsWriters); a condition on any
 * other field reads the label's contact (src/segments/customer.ts). The index below finds a
 * company's contacts.
 */
import { labelFactsWriters } from './005_label_facts.js';

export const name = 'customer_fields';

/**
 * The contact's columns label_facts copies for the live count (so a count on age, job title,
 * created day or company reads label_facts alone, as migration 005's filters do): column → SQL
 * over contacts c. The job title is kept lower-cased (the filters compare without case), the
 * created day as the UTC day; companies are few, so the company's fields are looked up by
 * company_id in the query.
 */
export const FACT_EXTRA = {
  birthdate: 'c.birthdate',
  post: 'lower(c.post)',
  created: "(c.date_create AT TIME ZONE 'UTC')::date",
  company_id: 'c.company_id',
};

export const sql = /* sql */ `
ALTER TABLE contacts ADD COLUMN birthdate date;
ALTER TABLE contacts ADD COLUMN post text;
ALTER TABLE contacts ADD COLUMN std jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE companies ADD COLUMN employees text;
CREATE INDEX contacts_company_filter ON contacts (portal_id, company_id) WHERE company_id IS NOT NULL;

ALTER TABLE label_facts ADD COLUMN birthdate date, ADD COLUMN post text, ADD COLUMN created date, ADD COLUMN company_id bigint;
${labelFactsWriters(FACT_EXTRA)}
-- existing installs: the tracked runs' partitions rebuilt with the new columns filled
SELECT label_facts_rebuild(t.portal_id, t.run_id) FROM (SELECT portal_id, run_id FROM label_facts_run ORDER BY portal_id) t;
`;
