/**
 * 029: a log of the statements that wrote a portal's companies, so the live count can keep a
 * company set between counts (issue 14 item 7: "counts stay within the list's speed target").
 *
 * A count with a company condition (industry, size, revenue) first reads the set of companies that
 * satisfy it (src/segments/company-sets.ts): 13–15 ms at 50,000 companies (2026-12-03), on top of
 * an 80 ms count at 1M contacts. src/server/ui-api/company-set-cache.ts keeps the sets it read,
 * with the portal's fingerprint here (how many rows, the highest v) read in the same statement, and
 * the count statement checks the fingerprint again: any company written in between adds a row, so
 * the fingerprint differs and the set is read again. (count, max v) tells every change apart: a new
 * row raises the count, or with a prune in between the highest v (v only grows; rows are never
 * updated), and a prune alone lowers the count. A row of a statement that committed late still
 * raises the count.
 *
 * Rows are only inserted here (one per statement and portal: no row is shared, so a writer never
 * waits for another); the nightly housekeeping keeps the newest per portal
 * (src/store/retention.ts pruneCompanyChanges). A portal's rows go with it (foreign key); while a
 * portal is deleted, the cascade's deletes of its companies note nothing (the trigger notes
 * portals that exist).
 */
export const name = 'company_changes';

export const sql = /* sql */ `
CREATE SEQUENCE company_changes_seq;
CREATE TABLE company_changes (
  portal_id  integer NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
  v          bigint NOT NULL DEFAULT nextval('company_changes_seq'),
  PRIMARY KEY (portal_id, v)
);
-- the portals as they are now: a set read before their first write has a row to compare with
INSERT INTO company_changes (portal_id) SELECT id FROM portals;

CREATE FUNCTION company_changes_note() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO company_changes (portal_id)
  SELECT DISTINCT c.portal_id FROM changed c WHERE EXISTS (SELECT 1 FROM portals p WHERE p.id = c.portal_id);
  RETURN NULL;
END
$f$;
-- TRUNCATE has no rows to name: every portal the log knows gets a row
CREATE FUNCTION company_changes_all() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO company_changes (portal_id) SELECT DISTINCT portal_id FROM company_changes;
  RETURN NULL;
END
$f$;
CREATE TRIGGER company_changes_ins AFTER INSERT ON companies REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION company_changes_note();
CREATE TRIGGER company_changes_upd AFTER UPDATE ON companies REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION company_changes_note();
CREATE TRIGGER company_changes_del AFTER DELETE ON companies REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION company_changes_note();
CREATE TRIGGER company_changes_trunc AFTER TRUNCATE ON companies FOR EACH STATEMENT EXECUTE FUNCTION company_changes_all();
-- as every statement trigger of the store (migration 024)
ALTER FUNCTION company_changes_note() SET jit = off;
ALTER FUNCTION company_changes_all() SET jit = off;
`;
