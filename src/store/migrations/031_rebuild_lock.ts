/**
 * 031: a portal's count-table writers wait for its rebuild, and the rebuild for them (issue 14
 * item 7: a count equals the join over contact_labels and contacts).
 *
 * label_facts_rebuild() reads the portal's contacts and labels into a new partition and swaps it in
 * (migration 005). A contact written while it ran, by a transaction that committed after the
 * rebuild had read the contacts, was missing from the new partition: its write had gone to the old
 * one, which the swap drops. Seen in test/integration/company-cube.test.ts: a contact moved to
 * another company during a rebuild kept its old company in label_facts (and label_company_cube)
 * until it changed again or the next full run. A label write of the old run could likewise reach
 * the new partition with the old dictionaries' codes.
 *
 * Now every writer takes the portal's advisory lock (005 LABEL_FACTS_LOCK) shared, before it reads
 * label_facts_run, and the rebuild takes it exclusive before it reads anything (FieldBits.lock):
 *  - a writer that got there first commits before the rebuild reads: the rebuild sees its rows;
 *  - a writer that comes while the rebuild runs waits, then finds the new run and dictionaries in
 *    label_facts_run and writes the new partition (only rows whose values differ).
 * Writers never wait for each other (shared), and only for their own portal's rebuild. The
 * functions are 028's with the lock; migration 024's `jit = off` is set again on the ones replaced.
 *
 * The rebuild also counts label_company_cube (migration 030) itself, from the new table before the
 * swap: the DETACH of the old partition locks label_facts for every portal's counts until the
 * rebuild commits, and 030's trigger on label_facts_run counted the new partition inside that
 * window (about 2 s at 1M contacts). The rows counted are kept through the untrack of the old
 * partition (the setting COMPANY_CUBE_KEPT names the portal for that moment); 030's build trigger
 * goes.
 */
import { labelFactsWriters } from './005_label_facts.js';
import { TRIGGER_FUNCTIONS } from './024_triggers_without_jit.js';
import { EMPTY, FACT_EXTRA } from './028_post_codes.js';
import { PER_COMPANY } from './030_company_cube.js';

export const name = 'rebuild_lock';

/** While set to a portal's id (transaction-local), the untrack of its old partition keeps its label_company_cube rows. */
const COMPANY_CUBE_KEPT = 'b24seg.company_cube_kept';

/** label_facts_rebuild: the new table's contacts per company, counted before the swap (see above). */
const aroundSwap = {
  before: `
  -- the contacts per company of the new table (migration 030), before the swap locks label_facts
  DELETE FROM label_company_cube WHERE portal_id = rebuild_portal;
  EXECUTE format('INSERT INTO label_company_cube (portal_id, company_id, n, revenue)
    SELECT $1, l.company_id, ${PER_COMPANY} FROM %I l WHERE l.has_contact GROUP BY l.company_id', tbl) USING rebuild_portal;
  PERFORM set_config('${COMPANY_CUBE_KEPT}', rebuild_portal::text, true);`,
  after: `
  PERFORM set_config('${COMPANY_CUBE_KEPT}', '', true);`,
};

export const sql = /* sql */ `
${labelFactsWriters(FACT_EXTRA, { std: true, posts: true, lock: true, aroundSwap }, EMPTY)}
${TRIGGER_FUNCTIONS.map((f) => `ALTER FUNCTION ${f}() SET jit = off;`).join('\n')}
DROP TRIGGER label_company_cube_build ON label_facts_run;
DROP FUNCTION label_company_cube_build();
-- a portal untracked: its rows go, unless its rebuild has just counted them for the new partition
CREATE OR REPLACE FUNCTION label_company_cube_untrack() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $f$
BEGIN
  IF current_setting('${COMPANY_CUBE_KEPT}', true) IS DISTINCT FROM OLD.portal_id::text THEN
    DELETE FROM label_company_cube WHERE portal_id = OLD.portal_id;
  END IF;
  RETURN NULL;
END
$f$;
`;
