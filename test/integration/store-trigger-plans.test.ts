/**
 * The triggers that keep contact_field_values in step with `contacts` plan each call for the sizes of
 * that call (migration 025). Before, PL/pgSQL kept the plan of the connection's first call: a session
 * whose first update met an empty contact_field_values went on deleting each later batch's old values
 * with a nested loop over a sequential scan planned for one row (2 s a 50-contact batch at 60,000
 * values, growing with the table; the write-back mirrors every batch into `contacts`).
 *
 * Read from PostgreSQL's own plans (auto_explain, JSON, sent to this client as notices) on one
 * connection: the estimate of every scan of contact_field_values in the update trigger's DELETE must
 * be within 10× of the rows it met. The values themselves are checked too.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDb, kindsWanted } from '../helpers/db.js';

interface PlanNode { 'Node Type': string; 'Relation Name'?: string; 'Plan Rows': number; 'Actual Rows': number; 'Actual Loops': number; Plans?: PlanNode[] }

function scansOf(node: PlanNode, rel: string, out: PlanNode[] = []): PlanNode[] {
  if (node['Relation Name'] === rel) out.push(node);
  for (const p of node.Plans ?? []) scansOf(p, rel, out);
  return out;
}

describe.runIf(kindsWanted().includes('postgres'))('PostgreSQL: contact_field_values triggers plan each call', () => {
  it('a batch after the table grew is planned for its size, and its values are right', async () => {
    const t = await createTestDb('postgres');
    const c = new pg.Client({ connectionString: t.url });
    await c.connect();
    try {
      const portal = (await c.query<{ id: number }>(`INSERT INTO portals (member_id, domain) VALUES ('plans', 'plans.bitrix24.com') RETURNING id`)).rows[0]!.id;
      // contacts without field values: contact_field_values is empty (and analysed so) when this
      // connection first fires the update trigger
      await c.query(`INSERT INTO contacts (portal_id, id, name) SELECT $1, g, 'C' || g FROM generate_series(1, 3) g`, [portal]);
      await c.query('ANALYZE contact_field_values');
      await c.query(`UPDATE contacts SET uf = '{"UF_CRM_A": "first"}' WHERE portal_id = $1 AND id = 1`, [portal]);
      // the table grows (20,000 contacts × 2 values) with no ANALYZE, as between two autovacuum rounds
      await c.query(`INSERT INTO contacts (portal_id, id, name, uf)
                     SELECT $1, g, 'C' || g, jsonb_build_object('UF_CRM_A', 'a' || g, 'UF_CRM_B', g % 7) FROM generate_series(10, 20009) g`, [portal]);
      const notices: string[] = [];
      c.on('notice', (n) => notices.push(n.message ?? ''));
      for (const s of ["LOAD 'auto_explain'", 'SET auto_explain.log_min_duration = 0', 'SET auto_explain.log_nested_statements = on',
        'SET auto_explain.log_analyze = on', "SET auto_explain.log_format = 'json'", "SET auto_explain.log_level = 'notice'"]) await c.query(s);
      // a write-back batch: 50 contacts' fields change
      await c.query(`UPDATE contacts SET uf = uf || '{"UF_CRM_A": "changed"}' WHERE portal_id = $1 AND id BETWEEN 100 AND 149`, [portal]);
      await c.query('LOAD \'auto_explain\'; SET auto_explain.log_min_duration = -1');

      const plans = notices.filter((m) => m.includes('plan:')).map((m) => JSON.parse(m.slice(m.indexOf('{'))) as { 'Query Text': string; Plan: PlanNode });
      const del = plans.find((p) => /^\s*DELETE FROM contact_field_values/.test(p['Query Text']));
      expect(del, `the trigger's DELETE among ${plans.length} plans`).toBeDefined();
      const scans = scansOf(del!.Plan, 'contact_field_values');
      expect(scans.length).toBeGreaterThan(0);
      for (const s of scans) {
        const perLoop = s['Actual Rows'] / Math.max(1, s['Actual Loops']);
        expect({ node: s['Node Type'], planned: s['Plan Rows'], perLoop, ok: s['Plan Rows'] * 10 >= perLoop })
          .toEqual({ node: s['Node Type'], planned: s['Plan Rows'], perLoop, ok: true });
      }
      const vals = await c.query<{ id: string; field: string; value_text: string }>(
        `SELECT contact_id::text AS id, field, value_text FROM contact_field_values WHERE portal_id = $1 AND contact_id IN (1, 100, 149, 150) ORDER BY 1, 2`, [portal]);
      expect(vals.rows.map((r) => `${r.id} ${r.field}=${r.value_text}`)).toEqual([
        '1 UF_CRM_A=first', '100 UF_CRM_A=changed', '100 UF_CRM_B=2', '149 UF_CRM_A=changed', '149 UF_CRM_B=2', '150 UF_CRM_A=a150', '150 UF_CRM_B=3',
      ]);
      const n = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM contact_field_values WHERE portal_id = $1`, [portal]);
      expect(n.rows[0]!.n).toBe(1 + 2 * 20_000);
    } finally {
      await c.end();
      await t.cleanup();
    }
  });
});
