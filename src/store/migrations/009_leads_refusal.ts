/**
 * 009: leads, and the deal user fields a refusal reason may be read from.
 *
 *  - leads (crm.lead.list, src/sync): the lead's status and its semantic (S: converted, F: junk),
 *    source, the contact / company it was converted into (or came with) and its dates. The
 *    dashboard's "sources per segment" counts the source of the converted lead that brought a
 *    customer in (src/server/ui-api/dashboard-query.ts). Swept after a full sync like deals.
 *  - deal_fields (crm.deal.fields, the user fields only, replaced every sync): type and, for an
 *    enumeration, its items, so a refusal reason read from a deal field can show the item's name
 *    (src/pipeline/refusal.ts, settings.refusal).
 *  - automation_contact_state.refusal_state / refusal_episode: what the automation saw of a
 *    contact's refusal (NULL: not seen yet, a baseline; '': not refused; else the reason's key, '-'
 *    for a refusal without a reason), so "became refused with reason X" fires once per episode and
 *    contacts already refused before this version do not all fire at once (src/automation/engine.ts).
 */
export const name = 'leads_refusal';

export const sql = /* sql */ `
CREATE TABLE leads (
  portal_id        integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  id               bigint NOT NULL,
  title            text,
  status_id        text,
  status_semantic  char(1) CHECK (status_semantic IN ('P', 'S', 'F')),
  source_id        text,
  contact_id       bigint,
  company_id       bigint,
  assigned_by_id   bigint,
  opportunity      numeric,
  currency_id      text,
  date_create      timestamptz,
  date_modify      timestamptz,
  date_closed      timestamptz,
  sync_run_id      bigint,
  PRIMARY KEY (portal_id, id)
);
CREATE INDEX leads_portal_contact ON leads (portal_id, contact_id);
CREATE INDEX leads_portal_modify ON leads (portal_id, date_modify);

CREATE TABLE deal_fields (
  portal_id     integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  field_name    text NOT NULL,
  user_type_id  text,
  multiple      boolean NOT NULL DEFAULT false,
  label         text,
  -- enumeration items [{"id": "45", "value": "Price"}]
  items         jsonb NOT NULL DEFAULT '[]'::jsonb,
  PRIMARY KEY (portal_id, field_name)
);

ALTER TABLE automation_contact_state ADD COLUMN refusal_state text;
ALTER TABLE automation_contact_state ADD COLUMN refusal_episode integer NOT NULL DEFAULT 0;
`;
