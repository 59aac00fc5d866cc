/**
 * 023: *any field* in the live count as a bit test (issue 14 item 7: "counts stay within the
 * list's speed target"). Migration 021 made a condition on a contact's standard or custom field a
 * semi-join over contact_field_values; at 1M contacts a value that a quarter of them hold still
 * hashed a quarter of a million ids (0.6–1 s under load). label_facts already codes a contact's
 * UF_CRM_* values as bits (migration 005: ukeys, uvals, urest, uf_rest); from here its standard
 * fields kept in contacts.std (migration 012) are coded the same way, in the same dictionaries (the
 * portal's 63 most common keys and values over both kinds; std keys never start with UF_). The
 * count then tests the value's bit in its one scan of label_facts and reads contact_field_values
 * only for contacts whose value has none (src/segments/field-bits.ts).
 *
 * The functions that write label_facts' contact part are replaced (005's labelFactsWriters with
 * 012's extra columns and the standard fields), and every tracked portal is rebuilt with them (in
 * the migration's transaction: minutes for a portal of a million contacts, as 012's rebuild).
 * The dictionaries list UF keys and values first, so a `uf` condition keeps the bits it had while a
 * portal has fewer than 63; uf_rest keeps UF values only (a standard value without a bit is only
 * marked in urest: the `crm` condition reads contact_field_values for it, and the row stays as
 * narrow as before). label_facts_run.urest_n counts, per key bit, the contacts marked at the
 * rebuild: a key with many such contacts keeps the semi-join (field-bits.ts).
 */
import { labelFactsWriters } from './005_label_facts.js';
import { FACT_EXTRA } from './012_customer_fields.js';

export const name = 'std_field_bits';

export const sql = /* sql */ `
-- per key bit, how many contacts of the partition had the key's urest bit at the rebuild (field-bits.ts)
ALTER TABLE label_facts_run ADD COLUMN urest_n integer[] NOT NULL DEFAULT '{}';
${labelFactsWriters(FACT_EXTRA, { std: true })}
SELECT label_facts_rebuild(t.portal_id, t.run_id) FROM (SELECT portal_id, run_id FROM label_facts_run ORDER BY portal_id) t;
`;
