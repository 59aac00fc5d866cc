/**
 * A scoring run ANALYZEs / VACUUMs the tables all portals share (contact_labels, label_cube,
 * label_company_cube, contact_field_values) only when that is due (src/store/scores.ts `sharedMaintenanceDue`): always on
 * PGlite (no autovacuum); on PostgreSQL for a big run (≥ 10,000 customers) or a portal that makes up a
 * fifth of the table. 1,000 small portals each running whole-table maintenance made the night grow with
 * the square of the portals (docs/benchmarks.md "portals").
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { runScoring } from '../../src/pipeline/score.js';
import { createScoreRun, createTokenCipher, setTokenCipher, upsertPortalOnInstall } from '../../src/store/index.js';
import { BIG_RUN_ROWS, sharedMaintenanceDue } from '../../src/store/scores.js';
import { runSync } from '../../src/sync/index.js';
import { eachDb, type Db } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';

beforeAll(() => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
});

/** The db with every `exec` (where ANALYZE and VACUUM go) recorded. */
function recording(db: Db): { db: Db; seen: string[] } {
  const seen: string[] = [];
  return { db: { ...db, exec: async (sql: string) => { seen.push(sql); return db.exec(sql); } }, seen };
}

const maintenance = (seen: string[]) => seen.filter((s) => /^(ANALYZE|VACUUM)/.test(s)).sort();

eachDb('shared-table maintenance after a scoring run', (getDb) => {
  let tp: TestPortal;
  beforeAll(async () => { tp = await startTestPortal({ contacts: 150, deals: 500, seed: 12, timeScale: 100 }); });
  afterAll(async () => { await tp?.emu.close(); });

  it('a small portal among many leaves the shared tables to autovacuum; alone, or on PGlite, it maintains them', async () => {
    const db = getDb();
    const client = new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: 100 } });
    const small = (await upsertPortalOnInstall(db, { memberId: 'small', domain: 'small.bitrix24.com', language: 'en' })).id;
    await runSync({ db, client, portalId: small }, { kind: 'full' });
    const day = new Date(tp.emu.portal.clock.now()).toISOString().slice(0, 10);

    // alone: the portal is the whole table
    const alone = recording(db);
    await runScoring(alone.db, small, day);
    const full = ['ANALYZE contact_labels', 'VACUUM (ANALYZE) contact_field_values', 'VACUUM (ANALYZE) label_company_cube', 'VACUUM (ANALYZE) label_cube'];
    expect(maintenance(alone.seen).filter((s) => !/label_facts_/.test(s))).toEqual(full);

    // another portal's 30,000 label rows and 30,000 field values (statistics taken)
    const big = (await upsertPortalOnInstall(db, { memberId: 'big', domain: 'big.bitrix24.com', language: 'en' })).id;
    const run = await createScoreRun(db, big, { asOf: new Date(`${day}T00:00:00Z`), status: 'done', settings: {}, thresholds: {}, fits: {}, counts: {} });
    await db.query(`INSERT INTO contact_labels (portal_id, run_id, contact_id, segment) SELECT $1, $2, g, 'champions' FROM generate_series(1, 30000) g`, [big, run.id]);
    await db.query(`INSERT INTO contact_field_values (portal_id, field, value_text, chunk, contact_id) SELECT $1, 'POST', 'x' || (g % 50), false, g FROM generate_series(1, 30000) g`, [big]);
    await db.query(`INSERT INTO label_cube (portal_id, run_id, segment, lifecycle, rfm, r, f, m, sleeping, n, revenue)
      SELECT $1, $2, 's' || g, NULL, NULL, NULL, NULL, NULL, false, 1, 0 FROM generate_series(1, 5000) g`, [big, run.id]);
    await db.query(`INSERT INTO label_company_cube (portal_id, company_id, n, revenue) SELECT $1, g, 6, 0 FROM generate_series(1, 5000) g`, [big]);
    await db.exec('ANALYZE contact_labels; ANALYZE contact_field_values; ANALYZE label_cube; ANALYZE label_company_cube');

    const among = recording(db);
    await runScoring(among.db, small, day);
    const due = async (t: string, p: number, n: number) => sharedMaintenanceDue(db, t, p, n);
    if (db.kind === 'pglite') {
      expect(maintenance(among.seen).filter((s) => !/label_facts_/.test(s))).toEqual(full);
      expect(await due('contact_labels', small, 10)).toBe(true);
    } else {
      expect(maintenance(among.seen).filter((s) => !/label_facts_/.test(s))).toEqual([]);
      // the portal's own partition is still vacuumed
      expect(maintenance(among.seen).some((s) => /^VACUUM label_facts_\d+_\d+$/.test(s))).toBe(true);
      expect(await due('contact_labels', small, 150)).toBe(false);
      expect(await due('contact_labels', small, BIG_RUN_ROWS)).toBe(true); // a big run: always
      expect(await due('contact_labels', big, 150)).toBe(true); // a fifth or more of the table
      expect(await due('contact_field_values', big, 150)).toBe(true);
      expect(await due('contact_field_values', small, 150)).toBe(false);
      expect(await due('label_company_cube', small, 150)).toBe(false);
      expect(await due('label_company_cube', big, 150)).toBe(true);
    }
  });
});
