/**
 * 002: scoring results. A score run is a snapshot (as_of, settings, fitted model);
 * contact_labels holds one row per contact per run. Write-back state comes later (003+).
 */
export const name = 'scoring';

export const sql = /* sql */ `
CREATE TABLE score_runs (
  portal_id   integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id          bigserial,
  as_of       timestamptz NOT NULL,
  status      text NOT NULL DEFAULT 'done' CHECK (status IN ('running', 'done', 'failed')),
  settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
  thresholds  jsonb NOT NULL DEFAULT '{}'::jsonb,
  fits        jsonb NOT NULL DEFAULT '{}'::jsonb,
  counts      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (portal_id, id),
  UNIQUE (id)
);
CREATE INDEX score_runs_portal_created ON score_runs (portal_id, created_at DESC);

CREATE TABLE contact_labels (
  portal_id       integer NOT NULL,
  run_id          bigint NOT NULL,
  contact_id      bigint NOT NULL,
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
  PRIMARY KEY (portal_id, run_id, contact_id),
  FOREIGN KEY (portal_id, run_id) REFERENCES score_runs (portal_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_labels_segment   ON contact_labels (portal_id, run_id, segment);
CREATE INDEX contact_labels_lifecycle ON contact_labels (portal_id, run_id, lifecycle);
CREATE INDEX contact_labels_sleeping  ON contact_labels (portal_id, run_id) WHERE sleeping;
CREATE INDEX contact_labels_contact   ON contact_labels (portal_id, contact_id);
`;
