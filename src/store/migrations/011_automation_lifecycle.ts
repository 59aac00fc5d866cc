/**
 * 011: automation on a lifecycle change (issue 14 item 5). automation_contact_state also keeps the
 * lifecycle stage the automation saw last, with its own episode counter, so "lifecycle X → Y"
 * is detected once per change and has a stable firing key. Rows from before this migration have
 * no stage yet: the next evaluation only sets it (a baseline), it fires nothing.
 */
export const name = 'automation_lifecycle';

export const sql = /* sql */ `
ALTER TABLE automation_contact_state ADD COLUMN lifecycle text;
ALTER TABLE automation_contact_state ADD COLUMN lifecycle_episode integer NOT NULL DEFAULT 0;
`;
