/**
 * 020: the "any field" filter over companies (issue 14 item 7): a company's other standard fields
 * (std: every scalar standard field the portal sends that has no column of its own, e.g.
 * COMPANY_TYPE's neighbours COMMENTS, ADDRESS, ADDRESS_REGION, BANKING_DETAILS, UTM_*; empty
 * values left out), as contacts.std (migration 012). Custom fields stay in companies.uf. The
 * synced fields are declared once in src/store/crm-fields.ts.
 *
 * company_customers (migration 008, the companies shaped like contacts for the filter compiler)
 * gets the columns the filter reads besides: the size, the currency, the modified time and std.
 * No index: a portal's companies are few (tens of thousands at most), the filter reads them all.
 */
export const name = 'company_std_fields';

export const sql = /* sql */ `
ALTER TABLE companies ADD COLUMN std jsonb NOT NULL DEFAULT '{}'::jsonb;
CREATE OR REPLACE VIEW company_customers AS
  SELECT portal_id, id, title AS name, NULL::text AS second_name, NULL::text AS last_name, city, source_id, assigned_by_id,
         has_email, has_phone, uf, industry, revenue, company_type, date_create,
         employees, currency_id, date_modify, std
    FROM companies;
`;
