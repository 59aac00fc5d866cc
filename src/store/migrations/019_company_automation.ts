/**
 * 019: automation rules on companies (issue 14). A rule has an `entity` (contact, the default, or
 * company: settings.automation). automation_contact_state and automation_firings hold both kinds,
 * told apart by `entity`; `contact_id` is then the customer's id of that kind (a contact's or a
 * company's). Rows from before this migration are contacts.
 */
export const name = 'company_automation';

export const sql = /* sql */ `
ALTER TABLE automation_contact_state ADD COLUMN entity text NOT NULL DEFAULT 'contact' CHECK (entity IN ('contact', 'company'));
ALTER TABLE automation_contact_state DROP CONSTRAINT automation_contact_state_pkey;
ALTER TABLE automation_contact_state ADD PRIMARY KEY (portal_id, entity, contact_id);

ALTER TABLE automation_firings ADD COLUMN entity text NOT NULL DEFAULT 'contact' CHECK (entity IN ('contact', 'company'));
DO $$
DECLARE k text;
BEGIN
  SELECT conname INTO k FROM pg_constraint
   WHERE conrelid = 'automation_firings'::regclass AND contype = 'u';
  EXECUTE format('ALTER TABLE automation_firings DROP CONSTRAINT %I', k);
END $$;
ALTER TABLE automation_firings ADD CONSTRAINT automation_firings_transition UNIQUE (portal_id, entity, rule_id, contact_id, transition_key);
`;
