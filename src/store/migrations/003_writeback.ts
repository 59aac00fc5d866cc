/**
 * 003: write-back state (issue 4).
 *  - field_registry: our CRM user fields per portal and entity (contact, company): the portal's
 *    field ID, XML_ID, type, and the enumeration item IDs by code. Found again by XML_ID on
 *    reinstall; rewritten when a field deleted by hand is recreated.
 *  - written_values: what write-back last wrote per record, in semantic form (codes, numbers,
 *    'YYYY-MM-DD' dates, booleans, code arrays), so a run writes only what changed and a
 *    crashed run resumes with what is left.
 *  - writeback_runs: one row per write-back pass (counts, requests, errors) for the UI/bench.
 */
export const name = 'writeback';

export const sql = /* sql */ `
CREATE TABLE field_registry (
  portal_id     integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  entity        text NOT NULL CHECK (entity IN ('contact', 'company')),
  field_name    text NOT NULL,
  uf_id         bigint NOT NULL,
  xml_id        text,
  user_type_id  text NOT NULL,
  multiple      boolean NOT NULL DEFAULT false,
  -- enumeration item IDs by code: {"champions": 123, ...}
  items         jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (portal_id, entity, field_name)
);

CREATE TABLE written_values (
  portal_id   integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  entity      text NOT NULL CHECK (entity IN ('contact', 'company')),
  entity_id   bigint NOT NULL,
  "values"    jsonb NOT NULL DEFAULT '{}'::jsonb,
  run_id      bigint,
  written_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (portal_id, entity, entity_id)
);

CREATE TABLE writeback_runs (
  portal_id      integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id             bigserial,
  score_run_id   bigint,
  status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  considered     integer NOT NULL DEFAULT 0,
  written        integer NOT NULL DEFAULT 0,
  failed         integer NOT NULL DEFAULT 0,
  counts         jsonb NOT NULL DEFAULT '{}'::jsonb,
  errors         jsonb NOT NULL DEFAULT '[]'::jsonb,
  PRIMARY KEY (portal_id, id),
  UNIQUE (id)
);
CREATE INDEX writeback_runs_portal_started ON writeback_runs (portal_id, started_at DESC);
`;
