/**
 * 008: companies as customers (B2B, issue 14 item 1). With the B2B option on, a score run labels
 * companies too: company_labels holds one row per company per run, the same columns as
 * contact_labels keyed by company_id (a won deal counts for its COMPANY_ID). The count tables of
 * migration 005 (label_facts, label_cube) stay contact-only: companies are few (a B2B portal has
 * tens of thousands at most), their counts read company_labels directly.
 *
 * company_customers shapes a company like a contact row (name = TITLE, no second or last name)
 * so the segment filter compiler (src/segments) runs over companies with the same predicates:
 * its `c` alias is contacts for contacts and this view for companies.
 */
export const name = 'company_labels';

export const sql = /* sql */ `
CREATE TABLE company_labels (
  portal_id       integer NOT NULL,
  run_id          bigint NOT NULL,
  company_id      bigint NOT NULL,
  segment         text,
  rfm             text,
  r               smallint,
  f               smallint,
  m               smallint,
  recency_days    integer,
  frequency       integer,
  monetary        numeric,
  first_purchase  date,
  last_purchase   date,
  lifecycle       text,
  sleeping        boolean NOT NULL DEFAULT false,
  p_alive         double precision,
  clv             numeric,
  next_purchase   date,
  interests       text[] NOT NULL DEFAULT '{}',
  extra           jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (portal_id, run_id, company_id),
  FOREIGN KEY (portal_id, run_id) REFERENCES score_runs (portal_id, id) ON DELETE CASCADE
);
CREATE INDEX company_labels_segment ON company_labels (portal_id, run_id, segment);
CREATE INDEX company_labels_company ON company_labels (portal_id, company_id);

CREATE VIEW company_customers AS
  SELECT portal_id, id, title AS name, NULL::text AS second_name, NULL::text AS last_name, city, source_id, assigned_by_id,
         has_email, has_phone, uf, industry, revenue, company_type, date_create
    FROM companies;
`;
