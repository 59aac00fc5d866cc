/**
 * 025: the triggers that keep contact_field_values (021) in step with `contacts` plan their statements on
 * every call (`EXECUTE`), with the sizes of that call's transition tables and of contact_field_values as
 * they are then.
 *
 * PL/pgSQL keeps the plan of a static statement for the rest of the session, and a statement without
 * parameters is never planned again until something invalidates it (an ANALYZE of a table it reads).
 * The plan kept is the one made at the function's first call in that connection, for the transition
 * tables and the table size of that moment. Measured on PostgreSQL 15 (auto_explain, `npm run bench --
 * memory --steps scoring,writeback-all` at 20k contacts whose contacts carried no field values, so
 * contact_field_values was empty when the write-back's first batch planned the update trigger): the
 * DELETE of a 50-contact batch kept a nested loop over a sequential scan of contact_field_values
 * planned for one row, and took 2.1–2.5 s at 60,000 rows (3 M pairs compared), growing with every
 * batch; the write-back wrote 12,250 contacts in 806 s. Nothing replans it where autovacuum is off
 * (this machine's PostgreSQL, `conf.d/90-ci.conf`), and where it is on, only its next ANALYZE does.
 * The anti-joins over `old_rows` / `new_rows` are kept the same way: a plan kept from a 1-row statement
 * (the cached plan above holds a nested-loop anti-join over `new_rows`) would compare every pair of a
 * 5,000-row sync chunk.
 *
 * Planning a call costs about a millisecond; a sync chunk or a write-back batch is one call. The
 * INSERT trigger (`contact_field_values_ins`) reads only its transition table through laterals whose
 * plan does not depend on sizes, so it stays static. `jit = off` (024) is set again here: CREATE OR
 * REPLACE replaces the function's settings.
 */
import { CHANGED, COLS, DELETE_CHANGED, valuesOf } from './021_contact_field_values.js';

export const name = 'field_value_triggers_planned_per_call';

export const sql = /* sql */ `
CREATE OR REPLACE FUNCTION contact_field_values_upd() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $f$
BEGIN
  EXECUTE $q$${DELETE_CHANGED}$q$;
  EXECUTE $q$INSERT INTO contact_field_values (${COLS}) ${valuesOf('new_rows', CHANGED)}$q$;
  RETURN NULL;
END
$f$;
CREATE OR REPLACE FUNCTION contact_field_values_del() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $f$
BEGIN
  EXECUTE $q$DELETE FROM contact_field_values v USING old_rows o WHERE v.portal_id = o.portal_id AND v.contact_id = o.id$q$;
  RETURN NULL;
END
$f$;
`;
