/**
 * 030: the contacts of the tracked run per company, so a count whose every condition is on the
 * contact's company (industry, size, revenue) sums a row per company instead of scanning a row
 * per contact (issue 14 item 7: "counts stay within the list's speed target").
 *
 * Such a count scanned the portal's label_facts partition and tested each row's company in a
 * bitmap: at 1M contacts and 50,000 companies (2026-12-03) *company revenue ≥ 1M* took 93 ms
 * p50 and 108–116 p95 in the full bench runs, the scan alone 78–92. label_company_cube holds,
 * per portal and company id (0 for none, as label_facts.company_id), how many of label_facts'
 * rows with a contact (has_contact) name it and the sum of their monetary: the numbers the scan
 * adds up, over at most one row per company (src/segments/compile.ts compileCount, source 'company_cube', compiles the count).
 *
 * It is kept from label_facts itself, so every writer of label_facts keeps it right:
 *  - a portal's rows are built from its partition when label_facts_run gets the portal's row
 *    (the rebuild attaches the new partition first; since migration 031 the rebuild counts them
 *    itself, before the swap), and go with that row (a trigger: no foreign key, whose check would
 *    make a writer of label_facts wait for a rebuild that waits for it);
 *  - statement triggers on label_facts (the partitioned table: transition tables hold the rows of
 *    every partition written) add each statement's change per company: +1 and +monetary for a
 *    new or updated row, −1 and −monetary for an old one; a company left with no row goes (only
 *    the companies the statement touched are looked at: thousands of portals share the table).
 * monetary is summed as numeric (float8 → numeric keeps 15 digits, the same for the + and the −),
 * so additions and removals cancel exactly; the scan sums float8, within 1e-12 of it.
 */
export const name = 'company_cube';

/** The statement triggers' functions (run without JIT, as migration 024's). */
export const COMPANY_CUBE_FUNCTIONS = ['label_company_cube_build', 'label_company_cube_untrack', 'label_company_cube_apply'] as const;

/** A company's row over label_facts rows l with a contact, grouped by company: n, revenue. */
export const PER_COMPANY = 'count(*), sum(COALESCE(l.monetary, 0)::numeric)';

/** A transition table's rows with a contact as (portal, company, ±1, ±monetary). */
const deltas = (rows: string, sign: '' | '-') =>
  `SELECT r.portal_id, r.company_id, ${sign}1 AS dn, ${sign}COALESCE(r.monetary, 0)::numeric AS drev FROM ${rows} r WHERE r.has_contact`;

/**
 * One trigger's change: `parts` are its transition tables' deltas (see deltas), added per company
 * in key order (two writers of one portal lock its rows in the same order: they wait, never
 * deadlock); the companies left with no row are noted in gone_p / gone_c and deleted by the caller.
 */
const applyBody = (parts: string[]) => `WITH d AS (
      SELECT x.portal_id, x.company_id, sum(x.dn)::int AS dn, sum(x.drev) AS drev
        FROM (${parts.join(' UNION ALL ')}) x
       GROUP BY 1, 2 HAVING sum(x.dn) <> 0 OR sum(x.drev) <> 0),
    up AS (
      INSERT INTO label_company_cube AS k (portal_id, company_id, n, revenue)
      SELECT d.portal_id, d.company_id, d.dn, d.drev FROM d
       WHERE EXISTS (SELECT 1 FROM label_facts_run t WHERE t.portal_id = d.portal_id)
       ORDER BY d.portal_id, d.company_id
      ON CONFLICT (portal_id, company_id) DO UPDATE SET n = k.n + EXCLUDED.n, revenue = k.revenue + EXCLUDED.revenue
      RETURNING k.portal_id, k.company_id, k.n)
    SELECT array_agg(up.portal_id ORDER BY up.portal_id, up.company_id), array_agg(up.company_id ORDER BY up.portal_id, up.company_id)
      INTO gone_p, gone_c FROM up WHERE up.n = 0;`;

export const sql = /* sql */ `
CREATE TABLE label_company_cube (
  portal_id   integer NOT NULL,
  -- label_facts.company_id: 0 for a contact without a company
  company_id  bigint NOT NULL,
  n           integer NOT NULL,
  revenue     numeric NOT NULL,
  PRIMARY KEY (portal_id, company_id)
);

-- label_facts_run got a portal's row: its partition is attached; count it per company (rows left
-- behind by a TRUNCATE, which skips the triggers, go first)
CREATE FUNCTION label_company_cube_build() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  DELETE FROM label_company_cube WHERE portal_id = NEW.portal_id;
  INSERT INTO label_company_cube (portal_id, company_id, n, revenue)
  SELECT NEW.portal_id, l.company_id, ${PER_COMPANY}
    FROM label_facts l WHERE l.portal_id = NEW.portal_id AND l.has_contact
   GROUP BY l.company_id;
  RETURN NULL;
END
$f$;
CREATE TRIGGER label_company_cube_build AFTER INSERT ON label_facts_run
  FOR EACH ROW EXECUTE FUNCTION label_company_cube_build();
-- the portal is untracked: its rows go. Named to fire after label_facts_untrack (triggers fire in
-- name order), whose DETACH waits for the writers of label_facts: a writer's cube rows are then
-- never locked by this delete while it waits (no deadlock)
CREATE FUNCTION label_company_cube_untrack() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  DELETE FROM label_company_cube WHERE portal_id = OLD.portal_id;
  RETURN NULL;
END
$f$;
CREATE TRIGGER label_facts_untrack_company_cube AFTER DELETE ON label_facts_run
  FOR EACH ROW EXECUTE FUNCTION label_company_cube_untrack();

-- a statement wrote label_facts: its change per company (TG_OP names the transition tables the trigger has)
CREATE FUNCTION label_company_cube_apply() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE gone_p integer[]; gone_c bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${applyBody([deltas('new_rows', '')])}
  ELSIF TG_OP = 'UPDATE' THEN
    ${applyBody([deltas('new_rows', ''), deltas('old_rows', '-')])}
  ELSE
    ${applyBody([deltas('old_rows', '-')])}
  END IF;
  IF gone_p IS NOT NULL THEN
    DELETE FROM label_company_cube k USING unnest(gone_p, gone_c) g(p, c) WHERE k.portal_id = g.p AND k.company_id = g.c AND k.n = 0;
  END IF;
  RETURN NULL;
END
$f$;
CREATE TRIGGER label_company_cube_ins AFTER INSERT ON label_facts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION label_company_cube_apply();
CREATE TRIGGER label_company_cube_upd AFTER UPDATE ON label_facts
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION label_company_cube_apply();
CREATE TRIGGER label_company_cube_del AFTER DELETE ON label_facts
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION label_company_cube_apply();
${COMPANY_CUBE_FUNCTIONS.map((f) => `ALTER FUNCTION ${f}() SET jit = off;`).join('\n')}

-- the portals tracked now
INSERT INTO label_company_cube (portal_id, company_id, n, revenue)
SELECT l.portal_id, l.company_id, ${PER_COMPANY}
  FROM label_facts l WHERE l.has_contact AND l.portal_id IN (SELECT t.portal_id FROM label_facts_run t)
 GROUP BY 1, 2;
ANALYZE label_company_cube;
`;

