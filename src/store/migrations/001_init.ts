/**
 * 001: tenants (portals), the CRM mirror and sync runs. Every tenant table has portal_id
 * as the first primary-key column and a FK to portals(id) ON DELETE CASCADE.
 */
export const name = 'init';

export const sql = /* sql */ `
CREATE TABLE portals (
  id                     serial PRIMARY KEY,
  member_id              text NOT NULL UNIQUE,
  domain                 text NOT NULL,
  client_endpoint        text,
  server_endpoint        text,
  -- AES-256-GCM, format v1:<iv>:<tag>:<ciphertext> (src/store/crypto.ts)
  access_token_enc       text,
  refresh_token_enc      text,
  token_expires_at       timestamptz,
  -- bumped on every token write: lets a refresher do compare-and-swap
  token_version          integer NOT NULL DEFAULT 0,
  -- HMAC-SHA256 of the application_token (keyed by a subkey of TOKEN_ENCRYPTION_KEY):
  -- only ever compared, never sent back, so the plaintext is not kept.
  application_token_hash text,
  scope                  text,
  plan                   text NOT NULL DEFAULT 'standard' CHECK (plan IN ('standard', 'enterprise')),
  status                 text NOT NULL DEFAULT 'installing'
                         CHECK (status IN ('installing', 'active', 'needs_reauth', 'uninstalled')),
  settings               jsonb NOT NULL DEFAULT '{}'::jsonb,
  language               text,
  time_zone              text,
  base_currency          text,
  installed_at           timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contacts (
  portal_id       integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id              bigint NOT NULL,
  name            text,
  second_name     text,
  last_name       text,
  type_id         text,
  source_id       text,
  assigned_by_id  bigint,
  company_id      bigint,
  city            text,
  has_phone       boolean NOT NULL DEFAULT false,
  has_email       boolean NOT NULL DEFAULT false,
  date_create     timestamptz,
  date_modify     timestamptz,
  uf              jsonb NOT NULL DEFAULT '{}'::jsonb,
  raw             jsonb,
  sync_run_id     bigint,
  PRIMARY KEY (portal_id, id)
);
CREATE INDEX contacts_portal_modify ON contacts (portal_id, date_modify);

CREATE TABLE companies (
  portal_id       integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id              bigint NOT NULL,
  title           text,
  company_type    text,
  industry        text,
  revenue         numeric,
  currency_id     text,
  source_id       text,
  assigned_by_id  bigint,
  city            text,
  has_phone       boolean NOT NULL DEFAULT false,
  has_email       boolean NOT NULL DEFAULT false,
  date_create     timestamptz,
  date_modify     timestamptz,
  uf              jsonb NOT NULL DEFAULT '{}'::jsonb,
  raw             jsonb,
  sync_run_id     bigint,
  PRIMARY KEY (portal_id, id)
);
CREATE INDEX companies_portal_modify ON companies (portal_id, date_modify);

CREATE TABLE deals (
  portal_id         integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id                bigint NOT NULL,
  title             text,
  type_id           text,
  category_id       integer NOT NULL DEFAULT 0,
  stage_id          text,
  stage_semantic    char(1) CHECK (stage_semantic IN ('P', 'S', 'F')),
  currency_id       text,
  opportunity       numeric,
  opportunity_base  numeric,
  close_date        date,
  begin_date        date,
  date_create       timestamptz,
  date_modify       timestamptz,
  assigned_by_id    bigint,
  company_id        bigint,
  source_id         text,
  loss_reason       text,
  uf                jsonb NOT NULL DEFAULT '{}'::jsonb,
  raw               jsonb,
  sync_run_id       bigint,
  PRIMARY KEY (portal_id, id)
);
CREATE INDEX deals_portal_modify ON deals (portal_id, date_modify);
CREATE INDEX deals_portal_semantic_close ON deals (portal_id, stage_semantic, close_date);
CREATE INDEX deals_portal_company ON deals (portal_id, company_id);

CREATE TABLE deal_contacts (
  portal_id   integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  deal_id     bigint NOT NULL,
  contact_id  bigint NOT NULL,
  sort        integer NOT NULL DEFAULT 0,
  is_primary  boolean NOT NULL DEFAULT false,
  PRIMARY KEY (portal_id, deal_id, contact_id)
);
CREATE INDEX deal_contacts_portal_contact ON deal_contacts (portal_id, contact_id);

CREATE TABLE product_rows (
  portal_id     integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id            bigint NOT NULL,
  deal_id       bigint NOT NULL,
  product_id    bigint,
  product_name  text,
  price         numeric,
  quantity      numeric,
  discount_sum  numeric,
  tax_rate      numeric,
  measure_name  text,
  sort          integer,
  -- resolved from products.section_id at sync time (null = unknown / free-text row)
  section_id    bigint,
  sync_run_id   bigint,
  PRIMARY KEY (portal_id, id)
);
CREATE INDEX product_rows_portal_deal ON product_rows (portal_id, deal_id);

CREATE TABLE products (
  portal_id    integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id           bigint NOT NULL,
  name         text,
  section_id   bigint,
  catalog_id   bigint,
  price        numeric,
  currency_id  text,
  active       boolean,
  raw          jsonb,
  sync_run_id  bigint,
  PRIMARY KEY (portal_id, id)
);

CREATE TABLE sections (
  portal_id    integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id           bigint NOT NULL,
  parent_id    bigint,
  catalog_id   bigint,
  name         text,
  -- 0 for a root section; filled by recomputeSectionDepths()
  depth        integer,
  sync_run_id  bigint,
  PRIMARY KEY (portal_id, id)
);

CREATE TABLE stages (
  portal_id    integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  entity_id    text NOT NULL,
  status_id    text NOT NULL,
  name         text,
  semantics    char(1) NOT NULL DEFAULT 'P' CHECK (semantics IN ('P', 'S', 'F')),
  category_id  integer,
  sort         integer,
  color        text,
  PRIMARY KEY (portal_id, entity_id, status_id)
);

CREATE TABLE funnels (
  portal_id   integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id          integer NOT NULL,
  name        text,
  sort        integer,
  is_default  boolean NOT NULL DEFAULT false,
  PRIMARY KEY (portal_id, id)
);

CREATE TABLE currencies (
  portal_id   integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  code        text NOT NULL,
  amount      numeric NOT NULL,
  amount_cnt  integer NOT NULL DEFAULT 1,
  base        boolean NOT NULL DEFAULT false,
  sort        integer,
  PRIMARY KEY (portal_id, code)
);

CREATE TABLE sync_runs (
  portal_id          integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id                 bigserial,
  kind               text NOT NULL CHECK (kind IN ('full', 'incremental')),
  phase              text,
  status             text NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
  started_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  finished_at        timestamptz,
  rows_done          bigint NOT NULL DEFAULT 0,
  rows_expected      bigint,
  eta_seconds        integer,
  counts             jsonb NOT NULL DEFAULT '{}'::jsonb,
  requests           integer NOT NULL DEFAULT 0,
  calls              integer NOT NULL DEFAULT 0,
  operating_seconds  numeric NOT NULL DEFAULT 0,
  errors             jsonb NOT NULL DEFAULT '[]'::jsonb,
  checkpoint         jsonb,
  -- max DATE_MODIFY seen; the next incremental sync starts from here
  watermark          timestamptz,
  PRIMARY KEY (portal_id, id),
  UNIQUE (id)
);
-- at most one running sync per portal
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (portal_id) WHERE status = 'running';
CREATE INDEX sync_runs_portal_started ON sync_runs (portal_id, started_at DESC);
`;
