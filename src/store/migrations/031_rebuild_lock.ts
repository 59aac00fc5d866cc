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
 */
import { labelFactsWriters } from './005_label_facts.js';
import { TRIGGER_FUNCTIONS } from './024_triggers_without_jit.js';
import { EMPTY, FACT_EXTRA } from './028_post_codes.js';

export const name = 'rebuild_lock';

export const sql = /* sql */ `
${labelFactsWriters(FACT_EXTRA, { std: true, posts: true, lock: true }, EMPTY)}
${TRIGGER_FUNCTIONS.map((f) => `ALTER FUNCTION ${f}() SET jit = off;`).join('\n')}
`;
