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
 * 012's extra columns and the standard fields), and every tracked portal is rebuilt with them.
 * A `uf` condition (UF_CRM_* keys) reads the same bits and uf_rest by its own key, as before.
 */
import { labelFactsWriters } from './005_label_facts.js';
import { FACT_EXTRA } from './012_customer_fields.js';

export const name = 'std_field_bits';

export const sql = /* sql */ `
${labelFactsWriters(FACT_EXTRA, { std: true })}
SELECT label_facts_rebuild(t.portal_id, t.run_id) FROM (SELECT portal_id, run_id FROM label_facts_run ORDER BY portal_id) t;
`;
