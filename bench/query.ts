/**
 * `npm run bench -- query [--contacts 1000000] [--reps 30] [--keep]`
 *
 * Segment counts (the UI's live count: count + revenue share, the same compiled SQL as
 * POST /api/ui/segments/count) over N contacts on PostgreSQL (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres; a scratch database b24seg_bench_query is created
 * and dropped unless --keep). Prints p50/p95 per filter. Target: p95 < 100 ms at 1M contacts.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openStore, type Db } from '../src/store/index.js';
import { countSegment } from '../src/server/ui-api/queries.js';
import { segmentFilterSchema, type SegmentFilter } from '../src/server/ui-api/filter.js';

const { values: args } = parseArgs({
  options: {
    contacts: { type: 'string', default: '1000000' }, reps: { type: 'string', default: '30' }, keep: { type: 'boolean', default: false },
    'no-index': { type: 'boolean', default: false },
  },
});

/**
 * Proposed for the store (a migration): label-only filters and the revenue sum become
 * index-only scans. Needs VACUUM (ANALYZE) contact_labels after each scoring run so the
 * visibility map is set; without the vacuum PostgreSQL visits the heap anyway.
 */
export const PROPOSED_INDEX = `CREATE INDEX IF NOT EXISTS contact_labels_run_cover ON contact_labels (portal_id, run_id, segment)
  INCLUDE (monetary, r, f, m, sleeping, lifecycle, p_alive, clv, recency_days, frequency, last_purchase, rfm)`;
const N = Number(args.contacts);
const REPS = Number(args.reps);
const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = 'b24seg_bench_query';
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount;
const fresh = !exists || !args.keep;
if (fresh) {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
}
const db: Db = await openStore({ databaseUrl: url.toString() });

async function seed(): Promise<{ portalId: number; runId: number }> {
  const have = await db.query<{ id: number; run: number; n: number }>(
    `SELECT p.id, r.id AS run, (SELECT count(*) FROM contact_labels l WHERE l.portal_id = p.id AND l.run_id = r.id)::int AS n
       FROM portals p JOIN score_runs r ON r.portal_id = p.id WHERE p.member_id = 'bench-query' LIMIT 1`,
  );
  if (have.rows[0] && have.rows[0].n === N) return { portalId: have.rows[0].id, runId: have.rows[0].run };
  await db.query(`DELETE FROM portals WHERE member_id = 'bench-query'`);
  const t0 = performance.now();
  const p = await db.query<{ id: number }>(`INSERT INTO portals (member_id, domain, status) VALUES ('bench-query', 'bench.test', 'active') RETURNING id`);
  const portalId = p.rows[0]!.id;
  await db.query(
    `INSERT INTO contacts (portal_id, id, name, last_name, source_id, assigned_by_id, city, has_email, has_phone, uf)
     SELECT $1, g, 'N' || g, 'L' || g, (ARRAY['WEB','CALL','EMAIL','ADVERTISING','PARTNER'])[1 + g % 5], 1 + g % 40,
            (ARRAY['Berlin','Kyiv','Warsaw','Moscow','Almaty','Munich','Lviv'])[1 + g % 7], g % 3 <> 0, g % 4 = 0,
            CASE WHEN g % 10 = 0 THEN '{"UF_CRM_TIER":"gold"}'::jsonb ELSE '{}'::jsonb END
       FROM generate_series(1, $2) g`,
    [portalId, N],
  );
  const r = await db.query<{ id: number }>(`INSERT INTO score_runs (portal_id, as_of, settings) VALUES ($1, now(), '{"rfm":{"scale":5}}') RETURNING id`, [portalId]);
  const runId = r.rows[0]!.id;
  await db.query(
    `INSERT INTO contact_labels (portal_id, run_id, contact_id, segment, rfm, r, f, m, recency_days, frequency, monetary, last_purchase,
                                 lifecycle, sleeping, p_alive, clv, interests, extra)
     SELECT $1, $2, g,
            (ARRAY['champions','loyal','potential_loyalist','new','promising','need_attention','about_to_sleep','at_risk','cant_lose','hibernating','lost','no_purchases'])[(1 + (g * 7919) % 12)::int],
            (1 + g % 5)::text || (1 + (g / 5) % 5)::text || (1 + (g / 25) % 5)::text, 1 + g % 5, 1 + (g / 5) % 5, 1 + (g / 25) % 5,
            (g * 31) % 1000, 1 + g % 12, ((g * 7907) % 100000)::numeric, (date '2026-01-01' - ((g * 31) % 1000)::int),
            (ARRAY['one_time','returning','regular','in_negotiation','uninterested','refused'])[(1 + g % 6)::int], g % 9 = 0,
            ((g * 13) % 100) / 100.0, ((g * 17) % 50000)::numeric,
            CASE g % 4 WHEN 0 THEN ARRAY['bikes','tents'] WHEN 1 THEN ARRAY['bikes'] WHEN 2 THEN ARRAY['kayaks'] ELSE '{}'::text[] END,
            jsonb_build_object('revenue', (g * 7907) % 100000)
       FROM generate_series(1::bigint, $3::bigint) g`,
    [portalId, runId, N],
  );
  await db.exec('ANALYZE contacts; ANALYZE contact_labels;');
  console.log(`seeded ${N.toLocaleString()} contacts + labels in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { portalId, runId };
}

const { portalId, runId } = await seed();
if (args['no-index']) await db.exec('DROP INDEX IF EXISTS contact_labels_run_cover');
else await db.exec(PROPOSED_INDEX);
await db.exec('VACUUM (ANALYZE) contact_labels');
await db.exec('VACUUM (ANALYZE) contacts');
const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
const filters: Record<string, unknown> = {
  'everyone': { all: [] },
  'segment ∈ {champions, loyal}': { all: [{ field: 'segment', values: ['champions', 'loyal'] }] },
  'segment + sleeping': { all: [{ field: 'segment', values: ['at_risk', 'cant_lose'] }, { field: 'sleeping', value: true }] },
  'revenue 10k–50k, P(alive) ≥ 0.5': { all: [{ field: 'range', key: 'monetary', min: 10000, max: 50000 }, { field: 'range', key: 'p_alive', min: 0.5 }] },
  'interests all {bikes, tents}': { all: [{ field: 'interests', mode: 'all', values: ['bikes', 'tents'] }] },
  'RFM cells 555, 554, 545': { all: [{ field: 'rfm', values: ['555', '554', '545'] }] },
  'last purchase in 2025': { all: [{ field: 'last_purchase', from: '2025-01-01', to: '2025-12-31' }] },
  'city + reachable (join)': { all: [{ field: 'city', op: 'in', values: ['Berlin', 'Kyiv'] }, { field: 'reachable', value: true }] },
  'segment minus source (join)': { all: [{ field: 'segment', values: ['loyal'] }], exclude: { all: [{ field: 'source', values: ['WEB'] }] } },
  'UF_CRM_TIER = gold (join)': { all: [{ field: 'uf', key: 'UF_CRM_TIER', op: 'eq', value: 'gold' }] },
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
console.log(`\nPostgreSQL, ${N.toLocaleString()} contacts, ${REPS} reps each (count + revenue, as the UI's live count); covering index: ${args['no-index'] ? 'no' : 'yes'}; load average ${load}\n`);
console.log('filter'.padEnd(36), 'count'.padStart(9), 'p50 ms'.padStart(8), 'p95 ms'.padStart(8));
let worst = 0;
for (const [name, raw] of Object.entries(filters)) {
  const f: SegmentFilter = segmentFilterSchema.parse(raw);
  const ms: number[] = [];
  let count = 0;
  for (let i = 0; i < REPS + 2; i++) {
    const t = performance.now();
    count = (await countSegment(db, portalId, runId, f, {})).count;
    if (i >= 2) ms.push(performance.now() - t); // 2 warm-up runs
  }
  const p95 = pct(ms, 95);
  worst = Math.max(worst, p95);
  console.log(name.padEnd(36), count.toLocaleString().padStart(9), pct(ms, 50).toFixed(1).padStart(8), p95.toFixed(1).padStart(8));
}
console.log(`\nworst p95: ${worst.toFixed(1)} ms (target < 100 ms)`);
await db.close();
if (!args.keep) await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.end();
