/**
 * 014: campaigns with holdout groups (issue 15 items 1 and 2; src/campaigns/).
 *  - campaigns: one per campaign of a portal: the saved segment it was made from, the kind of
 *    customer, the action per member, the holdout share and its seed, the measurement window, the
 *    costs, and the day it started. `request_key` makes a repeated create (same key) return the
 *    campaign made the first time.
 *  - campaign_steps: its dated steps (announce, start, reminder), each with its own action or NULL
 *    (the campaign's); `ran_at` is set when the step's sends were planned (once).
 *  - campaign_members: the segment's members frozen at creation, each in 'treatment' or 'holdout'
 *    (stable hash of the seed and the customer: src/campaigns/group.ts); `field_written` once the
 *    group was written into the customer's UF_CRM_SEG_CAMPAIGN_GROUP.
 *  - campaign_sends: one row per (step, member), inserted BEFORE the REST call (the automation
 *    engine's at-most-once claim → send → done / failed / unknown protocol); 'dropped' rows are
 *    treatment members who had converted (a won deal) before the step and got nothing.
 */
export const name = 'campaigns';

export const sql = /* sql */ `
CREATE TABLE campaigns (
  portal_id         integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id                bigserial,
  name              text NOT NULL,
  entity            text NOT NULL CHECK (entity IN ('contact', 'company')),
  saved_segment_id  text NOT NULL,
  saved_segment_name text NOT NULL,
  run_id            bigint,
  action            jsonb NOT NULL,
  holdout_share     float8 NOT NULL CHECK (holdout_share > 0 AND holdout_share <= 0.5),
  seed              text NOT NULL,
  window_days       integer NOT NULL CHECK (window_days IN (30, 60, 90)),
  cost_fixed        float8 NOT NULL DEFAULT 0,
  cost_per_message  float8 NOT NULL DEFAULT 0,
  start_at          timestamptz NOT NULL,
  created_by        bigint,
  request_key       text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (portal_id, id)
);
CREATE UNIQUE INDEX campaigns_request_key ON campaigns (portal_id, request_key);

CREATE TABLE campaign_steps (
  portal_id    integer NOT NULL,
  campaign_id  bigint NOT NULL,
  idx          integer NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('announce', 'start', 'reminder')),
  due_at       timestamptz NOT NULL,
  action       jsonb,
  ran_at       timestamptz,
  PRIMARY KEY (portal_id, campaign_id, idx),
  FOREIGN KEY (portal_id, campaign_id) REFERENCES campaigns(portal_id, id) ON DELETE CASCADE
);

CREATE TABLE campaign_members (
  portal_id      integer NOT NULL,
  campaign_id    bigint NOT NULL,
  customer_id    bigint NOT NULL,
  grp            text NOT NULL CHECK (grp IN ('treatment', 'holdout')),
  field_written  boolean NOT NULL DEFAULT false,
  PRIMARY KEY (portal_id, campaign_id, customer_id),
  FOREIGN KEY (portal_id, campaign_id) REFERENCES campaigns(portal_id, id) ON DELETE CASCADE
);

CREATE TABLE campaign_sends (
  portal_id    integer NOT NULL,
  id           bigserial,
  campaign_id  bigint NOT NULL,
  step_idx     integer NOT NULL,
  customer_id  bigint NOT NULL,
  status       text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'sending', 'done', 'failed', 'unknown', 'skipped', 'dropped')),
  result       text,
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (portal_id, id),
  UNIQUE (portal_id, campaign_id, step_idx, customer_id),
  FOREIGN KEY (portal_id, campaign_id) REFERENCES campaigns(portal_id, id) ON DELETE CASCADE
);
CREATE INDEX campaign_sends_status ON campaign_sends (portal_id, status);
`;
