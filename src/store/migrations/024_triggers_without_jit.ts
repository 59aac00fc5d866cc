/**
 * 024: the statement triggers that keep contact_field_values (021) and label_facts (005, 012, 023) in
 * step with contacts and labels run without JIT.
 *
 * Their statements read the transition tables through jsonb_each / jsonb_array_elements_text /
 * generate_series laterals, whose row estimates are PostgreSQL's defaults (100 and 1,000 rows per
 * call): a write of 500 contacts was planned at a cost of 1.3e9 and JIT-compiled (inlining and
 * optimisation included) on every statement. Measured on PostgreSQL 15 in the `portals` bench
 * (auto_explain): the values insert of an update of 500 contacts took 2.9 s, 1.95 s of it JIT
 * compilation; the whole UPDATE took 2.8–3.2 s with JIT and 0.8–1.5 s without. Every sync chunk and
 * every write-back mirror update paid it.
 *
 * `ALTER FUNCTION … SET jit = off` applies while the function runs. A later migration that
 * re-creates one of these functions (CREATE OR REPLACE) must set it again: the new definition
 * replaces the old one's settings.
 */
export const name = 'triggers_without_jit';

export const TRIGGER_FUNCTIONS = [
  'contact_field_values_ins', 'contact_field_values_upd', 'contact_field_values_del',
  'label_facts_contacts_set', 'label_facts_contacts_del',
  'label_facts_labels_ins', 'label_facts_labels_upd', 'label_facts_labels_del',
] as const;

export const sql = TRIGGER_FUNCTIONS.map((f) => `ALTER FUNCTION ${f}() SET jit = off;`).join('\n');
