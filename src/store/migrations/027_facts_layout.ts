/**
 * 027: label_facts with the contact's birth date, created day and company next to the other
 * fixed-width columns (issue 14 item 7: "counts stay within the list's speed target").
 *
 * Migration 012 added them at the end of the row, after the nullable label columns and the text
 * ones. PostgreSQL reads a row's columns in order up to the last one a query names, and past a
 * nullable or text column it finds each next one by walking them all. So the age, created and
 * company filters paid that walk on every row: measured at 1M contacts on 2026-12-03 (one
 * connection, the UI pool's settings), created 104 ms against 76 on a copy with the new layout,
 * a company test 118 against 93; frequency and responsible unchanged (a row 2 % wider).
 *
 * Here they are NOT NULL, right after the codes, so their place in the row is fixed: a missing
 * birth date or created day is 'infinity', a missing company 0 (no CRM id is 0). The live count
 * reads them back as NULL (src/segments/customer.ts FACTS_COLS: NULLIF), so every filter means
 * what it meant. The job title stays text at the end.
 *
 * The table is created again (a column cannot move), with migration 005's and 026's indexes; the
 * writers are 005's with these values (labelFactsWriters; a deleted contact's columns go back to
 * the missing values); migration 024's `jit = off` is set again on the functions replaced; every
 * tracked portal is rebuilt (in the migration's transaction, as 012 and 023 did).
 */
import { labelFactsWriters } from './005_label_facts.js';
import { TRIGGER_FUNCTIONS } from './024_triggers_without_jit.js';
import { sql as restIndexes } from './026_rest_indexes.js';

export const name = 'facts_layout';

/** What label_facts holds for a missing birth date or created day, and for no company (FACTS_COLS reads them as NULL). */
export const NO_DAY = "'infinity'::date";
export const NO_COMPANY = '0';

/** The contact's columns label_facts copies (as 012's FACT_EXTRA), a missing value as the value above. */
export const FACT_EXTRA = {
  birthdate: `COALESCE(c.birthdate, ${NO_DAY})`,
  post: 'lower(c.post)',
  created: `COALESCE((c.date_create AT TIME ZONE 'UTC')::date, ${NO_DAY})`,
  company_id: `COALESCE(c.company_id, ${NO_COMPANY})`,
};
/** Their values once the contact is deleted. */
const EMPTY = { birthdate: NO_DAY, created: NO_DAY, company_id: NO_COMPANY };

export const sql = /* sql */ `
DROP TABLE label_facts;
CREATE TABLE label_facts (
  contact_id      bigint NOT NULL,
  portal_id       integer NOT NULL,
  sleeping        boolean NOT NULL,
  has_contact     boolean NOT NULL,
  has_email       boolean NOT NULL,
  has_phone       boolean NOT NULL,
  imask           bigint NOT NULL,
  ukeys           bigint NOT NULL,
  uvals           bigint NOT NULL,
  urest           bigint NOT NULL,
  seg             smallint NOT NULL,
  lc              smallint NOT NULL,
  src             smallint NOT NULL,
  city            smallint NOT NULL,
  -- the contact's birth date and created day ('infinity': none), its company (0: none)
  birthdate       date NOT NULL,
  created         date NOT NULL,
  company_id      bigint NOT NULL,
  monetary        double precision,
  p_alive         double precision,
  clv             double precision,
  assigned_by_id  bigint,
  recency_days    integer,
  frequency       integer,
  last_purchase   date,
  r               smallint,
  f               smallint,
  m               smallint,
  rfm             text,
  seg_rest        text,
  lc_rest         text,
  src_rest        text,
  city_rest       text,
  interests_rest  text[],
  uf_rest         jsonb,
  -- the job title, lower-cased
  post            text,
  PRIMARY KEY (portal_id, contact_id)
) PARTITION BY LIST (portal_id);
CREATE INDEX label_facts_seg ON label_facts (seg);
${restIndexes}
${labelFactsWriters(FACT_EXTRA, { std: true }, EMPTY)}
${TRIGGER_FUNCTIONS.map((f) => `ALTER FUNCTION ${f}() SET jit = off;`).join('\n')}
SELECT label_facts_rebuild(t.portal_id, t.run_id) FROM (SELECT portal_id, run_id FROM label_facts_run ORDER BY portal_id) t;
`;
