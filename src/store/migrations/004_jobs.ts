/**
 * 004: jobs, events and automation (issue 4 items 3-5).
 *  - portal_locks: one run per portal at a time, across processes (a lease: holder + expiry,
 *    renewed by a heartbeat while the run lasts; an expired lease is free to take).
 *  - crm_event_inbox: CRM events waiting to be processed, coalesced per object (one row per
 *    portal × entity × id, the latest action wins); online handlers and the offline poller
 *    both write here; the event job deletes the rows it processed (unless re-touched meanwhile).
 *  - automation_contact_state: the last sleeping flag / segment the automation saw per contact,
 *    with an episode counter per kind, so a transition is detected once and has a stable key.
 *  - automation_firings: one row per (rule, contact, transition), inserted BEFORE the REST call:
 *    the unique key makes a rule fire at most once per transition.
 */
export const name = 'jobs';

export const sql = /* sql */ `
CREATE TABLE portal_locks (
  portal_id    integer PRIMARY KEY REFERENCES portals(id) ON DELETE CASCADE,
  holder       text NOT NULL,
  kind         text NOT NULL,
  acquired_at  timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);

CREATE TABLE crm_event_inbox (
  portal_id    integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  entity       text NOT NULL CHECK (entity IN ('deal', 'contact')),
  entity_id    bigint NOT NULL,
  action       text NOT NULL CHECK (action IN ('upsert', 'delete')),
  source       text NOT NULL DEFAULT 'online',
  received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  touches      integer NOT NULL DEFAULT 1,
  PRIMARY KEY (portal_id, entity, entity_id)
);
CREATE INDEX crm_event_inbox_received ON crm_event_inbox (portal_id, received_at);

CREATE TABLE automation_contact_state (
  portal_id         integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  contact_id        bigint NOT NULL,
  sleeping          boolean NOT NULL,
  segment           text,
  sleeping_episode  integer NOT NULL DEFAULT 0,
  segment_episode   integer NOT NULL DEFAULT 0,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (portal_id, contact_id)
);

CREATE TABLE automation_firings (
  portal_id       integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id              bigserial,
  rule_id         text NOT NULL,
  contact_id      bigint NOT NULL,
  transition_key  text NOT NULL,
  action          text NOT NULL,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'done', 'failed', 'unknown', 'skipped')),
  result          text,
  error           text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (portal_id, id),
  UNIQUE (portal_id, rule_id, contact_id, transition_key)
);
CREATE INDEX automation_firings_status ON automation_firings (portal_id, status);
`;
