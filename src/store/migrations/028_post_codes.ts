/**
 * 028: label_facts codes the job title as it codes the city (issue 14 item 7: "counts stay within
 * the list's speed target").
 *
 * Migration 012 kept the lower-cased title as text at the end of the row, so every job-title
 * filter made PostgreSQL walk each row to its last column (past the nullable and text ones) and
 * run LIKE on half of them: *job title contains* took 113–117 ms p50 at 1M contacts (2026-12-03),
 * *city contains* (a code tested in the row's fixed part) 88–92.
 *
 * Now, as for cities: label_facts_run.posts lists the portal's 63 most common lower-cased titles,
 * and label_facts holds
 *  - pst, right after city: 0 = no title (NULL or ''), k > 0 = the title is posts[k], −1 = the
 *    title has no code (rarer, or met after the rebuild) and is in post_rest;
 *  - post_rest: that title, lower-cased (NULL otherwise), with a partial index like migration
 *    026's, so a count over a portal where few titles lack a code reads them through it
 *    (src/segments/facts.ts RestTests).
 * Unlike the city's 0, the −1 tells "no title" from "a title without a code": *empty* and *filled*
 * are a test of pst alone.
 *
 * The table is created again (a column cannot move), with the indexes of 005, 026 and this one;
 * the writers are 027's with these columns (labelFactsWriters with `posts`); migration 024's
 * `jit = off` is set again on the functions replaced; every tracked portal is rebuilt.
 */
import { labelFactsWriters } from './005_label_facts.js';
import { TRIGGER_FUNCTIONS } from './024_triggers_without_jit.js';
import { sql as restIndexes } from './026_rest_indexes.js';
import { FACT_EXTRA as FACT_EXTRA_027, NO_COMPANY, NO_DAY } from './027_facts_layout.js';

export const name = 'post_codes';

/** label_facts.pst for a contact without a job title, and for one whose title has no code (it is in post_rest) */
export const NO_POST = 0;
export const POST_IN_REST = -1;

/** 027's columns without the text copy of the title, with its code and rest (pt: contactJoins with `posts`). */
export const FACT_EXTRA = {
  birthdate: FACT_EXTRA_027.birthdate,
  created: FACT_EXTRA_027.created,
  company_id: FACT_EXTRA_027.company_id,
  pst: `(CASE WHEN c.post IS NULL OR c.post = '' THEN ${NO_POST} WHEN pt.o IS NULL THEN ${POST_IN_REST} ELSE pt.o END)::smallint`,
  post_rest: `CASE WHEN pt.o IS NULL AND c.post <> '' THEN lower(c.post) END`,
};
/** Their values once the contact is deleted (post_rest: NULL). */
export const EMPTY = { birthdate: NO_DAY, created: NO_DAY, company_id: NO_COMPANY, pst: String(NO_POST) };

export const sql = /* sql */ `
ALTER TABLE label_facts_run ADD COLUMN posts text[] NOT NULL DEFAULT '{}';
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
  -- the job title's code in label_facts_run.posts; 0: none, -1: in post_rest
  pst             smallint NOT NULL,
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
  -- the job title, lower-cased, when it has no code
  post_rest       text,
  interests_rest  text[],
  uf_rest         jsonb,
  PRIMARY KEY (portal_id, contact_id)
) PARTITION BY LIST (portal_id);
CREATE INDEX label_facts_seg ON label_facts (seg);
${restIndexes}
CREATE INDEX label_facts_post_rest ON label_facts (contact_id) WHERE post_rest IS NOT NULL;
${labelFactsWriters(FACT_EXTRA, { std: true, posts: true }, EMPTY)}
${TRIGGER_FUNCTIONS.map((f) => `ALTER FUNCTION ${f}() SET jit = off;`).join('\n')}
SELECT label_facts_rebuild(t.portal_id, t.run_id) FROM (SELECT portal_id, run_id FROM label_facts_run ORDER BY portal_id) t;
`;
