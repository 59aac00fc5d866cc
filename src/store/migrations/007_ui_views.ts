/**
 * 007: saved views of the UI's segment list (src/store/views.ts). A view is a filter with the
 * list's sort and columns, saved by one user of one portal: personal (only its owner sees it) or,
 * saved by an administrator, shared with every user of the portal. Names are unique per owner, and
 * among the shared views, as compared in the owner's language (name_key: trimmed, NFKC, spaces
 * collapsed, lower-cased with the language's rules), so "VIP клиенты" and "VIP покупатели" are two
 * views and "vip КЛИЕНТЫ" is the first one again. Deleted with the portal (clean uninstall).
 */
export const name = 'ui_views';

export const sql = /* sql */ `
CREATE TABLE ui_views (
  portal_id   integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id          bigserial,
  user_id     bigint NOT NULL,
  shared      boolean NOT NULL DEFAULT false,
  name        text NOT NULL,
  name_key    text NOT NULL,
  -- {filter, sort, dir, columns}: validated by the UI API before it is stored
  view        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (portal_id, id),
  UNIQUE (id)
);
CREATE UNIQUE INDEX ui_views_owner_name ON ui_views (portal_id, user_id, name_key);
CREATE UNIQUE INDEX ui_views_shared_name ON ui_views (portal_id, name_key) WHERE shared;
`;
