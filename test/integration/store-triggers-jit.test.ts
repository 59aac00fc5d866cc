/**
 * Every statement trigger of the store runs without JIT (migrations 024, 029, 030): their laterals over
 * transition tables are planned at absurd costs and a write of 500 contacts spent 2 s compiling.
 * Read from the catalog, so a later migration that re-creates a trigger function without the
 * setting fails here.
 */
import { expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';

eachDb('trigger functions without JIT', (getDb) => {
  it('each user trigger function of the store carries jit=off', async () => {
    const db = getDb();
    const { rows } = await db.query<{ fn: string; tbl: string; config: string[] | null }>(
      `SELECT DISTINCT p.proname AS fn, c.relname AS tbl, p.proconfig AS config
         FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_class c ON c.oid = t.tgrelid
        WHERE NOT t.tgisinternal AND c.relname IN ('contacts', 'contact_labels', 'companies', 'label_facts') ORDER BY 1, 2`,
    );
    expect(rows.map((r) => r.fn)).toEqual(expect.arrayContaining(['contact_field_values_ins', 'contact_field_values_upd', 'label_facts_contacts_set', 'label_facts_labels_ins', 'company_changes_note', 'company_changes_all',
      'label_company_cube_apply']));
    expect(rows.length).toBeGreaterThanOrEqual(11);
    for (const r of rows) expect([r.fn, r.config ?? []]).toEqual([r.fn, expect.arrayContaining(['jit=off'])]);
    // and a contact write still keeps its field values (the trigger works with the setting)
    const portal = (await db.query<{ id: number }>(`INSERT INTO portals (member_id, domain) VALUES ('jit', 'jit.bitrix24.com') RETURNING id`)).rows[0]!.id;
    await db.query(`INSERT INTO contacts (portal_id, id, name, std, uf) VALUES ($1, 1, 'A', '{"POST":"Buyer"}', '{"UF_CRM_X":"7"}')`, [portal]);
    const vals = await db.query<{ field: string; value_text: string }>(`SELECT field, value_text FROM contact_field_values WHERE portal_id = $1 ORDER BY field`, [portal]);
    expect(vals.rows).toEqual([{ field: 'POST', value_text: 'Buyer' }, { field: 'UF_CRM_X', value_text: '7' }]);
  });
});
