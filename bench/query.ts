/**
 * `npm run bench -- query [--contacts 1000000] [--reps 30] [--runs 2] [--keep] [--no-check] [--only REGEX] [--interleave] [--db NAME]`
 *
 * The segment filter builder's live count over N contacts on PostgreSQL (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres; a scratch database b24seg_bench_query is created
 * and dropped unless --keep). Each sample is what POST /api/ui/segments/count does for an admin:
 * countSegment (count + revenue of the filter) and runTotals (for the shares), side by side.
 * Prints p50/p95 per filter, one filter per kind the UI offers. Target: p95 < 100 ms at 1M.
 *
 * Seed, through the app's own code where it has any: contacts and label rows are written with SQL
 * (same tables and columns as upsertContacts / insertContactLabels write, millions of rows in
 * seconds); each score run is opened with createScoreRun (status running) and closed with
 * finishScoreRun (done), which rebuilds the count tables (label_facts, label_cube: migration 005),
 * then vacuumLabelFacts, as runScoring does. --runs 2 (default) scores twice, so the store also
 * holds a previous run, as a live portal does. The seed ends with a CHECKPOINT (its writes are not
 * timed with the counts). Unless --no-check, every count is compared with the plain join over
 * contact_labels and contacts.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { vacuumLabelFacts, createScoreRun, finishScoreRun, openStore, BOUNDED_SESSION, type Db } from '../src/store/index.js';
import { UI_STATEMENT_TIMEOUT_MS } from '../src/server/ui-api/limits.js';
import { countSegment, runTotals } from '../src/server/ui-api/queries.js';
import { companyCubeAnswers, compileFilter, cubeAnswers, REVENUE_SQL, segmentFilterSchema, type SegmentFilter } from '../src/segments/index.js';

const { values: args } = parseArgs({
  options: {
    contacts: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '30' },
    runs: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
    'no-check': { type: 'boolean', default: false },
    /** only the filters whose name matches this regular expression */
    only: { type: 'string' },
    /** rep after rep, each round running every filter once (else filter after filter) */
    interleave: { type: 'boolean', default: false },
    /** the scratch database (two benches at once need two) */
    db: { type: 'string', default: 'b24seg_bench_query' },
  },
});

const N = Number(args.contacts);
const REPS = Number(args.reps);
const RUNS = Math.max(1, Number(args.runs));
const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = args.db;
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(dbName)) throw new Error(`--db: not a plain database name: ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount;
if (!exists || !args.keep) {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
}
const db: Db = await openStore({ databaseUrl: url.toString() });

const SEGMENTS = ['champions', 'loyal', 'potential_loyalist', 'new', 'promising', 'need_attention', 'about_to_sleep', 'at_risk', 'cant_lose', 'hibernating', 'lost', 'no_purchases'];
const LIFECYCLES = ['one_time', 'returning', 'regular', 'in_negotiation', 'uninterested', 'refused'];

/** One run's labels for contact g (shifted per run, so runs differ). */
async function insertLabels(portalId: number, runId: number, shift: number) {
  await db.query(
    `INSERT INTO contact_labels (portal_id, run_id, contact_id, segment, rfm, r, f, m, recency_days, frequency, monetary,
                                 first_purchase, last_purchase, lifecycle, sleeping, p_alive, clv, next_purchase, interests, extra)
     SELECT $1, $2, g, ($4::text[])[(1 + ((g + $5) * 7919) % 12)::int],
            (1 + g % 5)::text || (1 + (g / 5) % 5)::text || (1 + (g / 25) % 5)::text, 1 + g % 5, 1 + (g / 5) % 5, 1 + (g / 25) % 5,
            ((g + $5) * 31) % 1000, 1 + g % 12, ((g * 7907) % 100000)::numeric,
            date '2022-01-01' + (g % 700)::int, date '2026-01-01' - (((g + $5) * 31) % 1000)::int,
            ($6::text[])[(1 + g % 6)::int], (g + $5) % 11 = 0,
            ((g * 13 + $5) % 100) / 100.0, ((g * 17) % 50000)::numeric, date '2026-03-01' + (g % 90)::int,
            CASE g % 4 WHEN 0 THEN ARRAY['bikes','tents'] WHEN 1 THEN ARRAY['bikes'] WHEN 2 THEN ARRAY['kayaks'] ELSE '{}'::text[] END,
            jsonb_build_object('revenue', (g * 7907) % 100000, 'prevSegment', ($4::text[])[(1 + (g * 7919) % 12)::int], 'changedAt', '2026-01-01T00:00:00.000Z')
       FROM generate_series(1::bigint, $3::bigint) g`,
    [portalId, runId, N, SEGMENTS, shift, LIFECYCLES],
  );
}

async function seed(): Promise<{ portalId: number; runId: number }> {
  const have = await db.query<{ id: number; run: number; n: number }>(
    `SELECT p.id, t.run_id AS run, (SELECT count(*) FROM label_facts f WHERE f.portal_id = p.id)::int AS n
       FROM portals p JOIN label_facts_run t ON t.portal_id = p.id WHERE p.member_id = 'bench-query'`,
  );
  if (have.rows[0] && have.rows[0].n === N) return { portalId: have.rows[0].id, runId: have.rows[0].run };
  await db.query(`DELETE FROM portals WHERE member_id = 'bench-query'`);
  if (!(await db.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'contacts' AND column_name = 'std'`)).rows.length) {
    throw new Error('the store lacks migration 012 (contacts.birthdate, post, std)');
  }
  const t0 = performance.now();
  const p = await db.query<{ id: number }>(`INSERT INTO portals (member_id, domain, status) VALUES ('bench-query', 'bench.test', 'active') RETURNING id`);
  const portalId = p.rows[0]!.id;
  // companies (one per 20 contacts) with an industry, a size and a revenue, as the sync stores them
  await db.query(
    `INSERT INTO companies (portal_id, id, title, industry, employees, revenue, assigned_by_id)
     SELECT $1, k, 'Co ' || k, (ARRAY['IT','MANUFACTURING','BANKING','RETAIL',NULL])[1 + k % 5], 'EMPLOYEES_' || (1 + k % 4), (k::bigint * 7919) % 5000000, 1 + k % 40
       FROM generate_series(1, $2) k`,
    [portalId, Math.max(1, Math.floor(N / 20))],
  );
  // contacts as upsertContacts writes them; uf like a portal's: every UF field present, most empty;
  // two in three have a birth date, one in two a job title and a company, std the other standard fields
  await db.query(
    `INSERT INTO contacts (portal_id, id, name, last_name, source_id, assigned_by_id, city, has_email, has_phone, date_create, date_modify, uf,
                           birthdate, post, company_id, std)
     SELECT $1, g, 'N' || g, 'L' || g, (ARRAY['WEB','CALL','EMAIL','ADVERTISING','PARTNER'])[1 + g % 5], 1 + g % 40,
            (ARRAY['Berlin','Kyiv','Warsaw','Moscow','Almaty','Munich','Lviv'])[1 + g % 7], g % 3 <> 0, g % 4 = 0,
            timestamptz '2020-01-01' + (g % 2000) * interval '1 day', timestamptz '2026-01-01' - (g % 300) * interval '1 day',
            jsonb_build_object('UF_CRM_TIER', CASE WHEN g % 10 = 0 THEN 'gold' WHEN g % 10 < 3 THEN 'silver' ELSE '' END,
                               'UF_CRM_BIRTHDAY', CASE WHEN g % 6 = 0 THEN '1990-05-01T03:00:00+03:00' END,
                               'UF_CRM_HOBBIES', CASE WHEN g % 8 = 0 THEN jsonb_build_array('ski', 'chess') ELSE '[]'::jsonb END),
            CASE WHEN g % 3 <> 0 THEN date '1950-01-01' + ((g::bigint * 7919) % 20000)::int END,
            CASE WHEN g % 2 = 0 THEN (ARRAY['Sales manager','Director','Accountant','Engineer','Buyer','Office manager'])[1 + (g / 2) % 6] END,
            CASE WHEN g % 2 = 1 THEN 1 + (g / 2) % GREATEST(1, $2 / 20) END,
            jsonb_strip_nulls(jsonb_build_object('HONORIFIC', (ARRAY['HNR_EN_1','HNR_EN_2','HNR_EN_3',NULL])[1 + g % 4], 'OPENED', 'Y', 'EXPORT', 'Y',
                               'COMMENTS', CASE WHEN g % 9 = 0 THEN 'met at the fair' END, 'UTM_SOURCE', CASE WHEN g % 5 = 0 THEN 'google' END))
       FROM generate_series(1, $2) g`,
    [portalId, N],
  );
  const t1 = performance.now();
  let runId = 0;
  const perRun: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r0 = performance.now();
    const run = await createScoreRun(db, portalId, { asOf: new Date(Date.UTC(2026, 0, 1 + i)), status: 'running', settings: { rfm: { scale: 5 } } });
    runId = run.id;
    await insertLabels(portalId, runId, RUNS - 1 - i);
    const r1 = performance.now();
    await finishScoreRun(db, portalId, runId, { status: 'done' }); // rebuilds label_facts + label_cube
    const r2 = performance.now();
    await vacuumLabelFacts(db, portalId);
    perRun.push(`labels ${((r1 - r0) / 1000).toFixed(1)} s, finish (count tables) ${((r2 - r1) / 1000).toFixed(1)} s, VACUUM ${((performance.now() - r2) / 1000).toFixed(1)} s`);
  }
  await db.exec('ANALYZE contacts; ANALYZE companies; ANALYZE contact_labels;');
  // the seed dirtied ~1 GB (tables, WAL): flush it now, so the counts are not timed against the
  // checkpointer and the kernel's writeback of the seed (a scoring run is long over when users count)
  await db.exec('CHECKPOINT').catch((err: Error) => console.warn(`CHECKPOINT skipped: ${err.message}`));
  console.log(`seeded ${N.toLocaleString()} contacts in ${((t1 - t0) / 1000).toFixed(1)} s; ${RUNS} score run(s) of ${N.toLocaleString()} labels:`);
  for (const [i, s] of perRun.entries()) console.log(`  run ${i + 1}: ${s}`);
  return { portalId, runId };
}

const { portalId, runId } = await seed();

const saved = new Map<string, SegmentFilter>([
  ['vip', segmentFilterSchema.parse({ all: [{ field: 'segment', values: ['champions', 'loyal'] }, { field: 'range', key: 'monetary', min: 20000 }] })],
  ['no-contact', segmentFilterSchema.parse({ all: [{ field: 'reachable', value: false }] })],
  ['sleepers', segmentFilterSchema.parse({ all: [{ field: 'sleeping', value: true }] })],
]);
/** One filter per kind the UI offers (filterModel.ts), plus the combinations it builds. */
const filters: Record<string, unknown> = {
  'everyone': { all: [] },
  'segment ∈ {champions, loyal}': { all: [{ field: 'segment', values: ['champions', 'loyal'] }] },
  'segment + sleeping': { all: [{ field: 'segment', values: ['at_risk', 'cant_lose'] }, { field: 'sleeping', value: true }] },
  'lifecycle ∈ {returning, regular}': { all: [{ field: 'lifecycle', values: ['returning', 'regular'] }] },
  'RFM cells 555, 554, 545': { all: [{ field: 'rfm', values: ['555', '554', '545'] }] },
  'R ≥ 4 and F ≤ 2': { all: [{ field: 'range', key: 'r', min: 4 }, { field: 'range', key: 'f', max: 2 }] },
  'saved minus saved (sleepers)': { all: [{ field: 'saved', id: 'vip' }], exclude: { all: [{ field: 'saved', id: 'sleepers' }] } },
  'revenue 10k–50k, P(alive) ≥ 0.5': { all: [{ field: 'range', key: 'monetary', min: 10000, max: 50000 }, { field: 'range', key: 'p_alive', min: 0.5 }] },
  'CLV ≥ 20k, recency ≤ 180 d': { all: [{ field: 'range', key: 'clv', min: 20000 }, { field: 'range', key: 'recency_days', max: 180 }] },
  'frequency ≥ 6': { all: [{ field: 'range', key: 'frequency', min: 6 }] },
  'last purchase in 2025': { all: [{ field: 'last_purchase', from: '2025-01-01', to: '2025-12-31' }] },
  'interests all {bikes, tents}': { all: [{ field: 'interests', mode: 'all', values: ['bikes', 'tents'] }] },
  'interests any {tents, kayaks}': { all: [{ field: 'interests', mode: 'any', values: ['tents', 'kayaks'] }] },
  'city ∈ {Berlin, Kyiv} + reachable': { all: [{ field: 'city', op: 'in', values: ['Berlin', 'Kyiv'] }, { field: 'reachable', value: true }] },
  'city contains "ber"': { all: [{ field: 'city', op: 'contains', values: ['ber'] }] },
  'responsible ∈ {3, 7}': { all: [{ field: 'responsible', values: [3, 7] }] },
  'has phone + segment cant_lose': { all: [{ field: 'has_phone', value: true }, { field: 'segment', values: ['cant_lose'] }] },
  'source ∈ {WEB, CALL}, no email': { all: [{ field: 'source', values: ['WEB', 'CALL'] }, { field: 'has_email', value: false }] },
  'segment minus source WEB': { all: [{ field: 'segment', values: ['loyal'] }], exclude: { all: [{ field: 'source', values: ['WEB'] }] } },
  'UF_CRM_TIER = gold': { all: [{ field: 'uf', key: 'UF_CRM_TIER', op: 'eq', value: 'gold' }] },
  'UF_CRM_HOBBIES not empty': { all: [{ field: 'uf', key: 'UF_CRM_HOBBIES', op: 'not_empty' }] },
  'UF_CRM_TIER contains "ilv"': { all: [{ field: 'uf', key: 'UF_CRM_TIER', op: 'contains', value: 'ilv' }] },
  'saved minus saved (unreachable)': { all: [{ field: 'saved', id: 'vip' }], exclude: { all: [{ field: 'saved', id: 'no-contact' }] } },
  // what the customer is (src/segments/customer.ts: over the contacts of label_facts' rows)
  'age 30–45': { all: [{ field: 'age', min: 30, max: 45 }] },
  'job title contains "manager"': { all: [{ field: 'post', op: 'contains', values: ['manager'] }] },
  'created in the last 365 days': { all: [{ field: 'created', days: 365 }] },
  'responsible none of {3, 7}': { all: [{ field: 'responsible', op: 'not_in', values: [3, 7] }] },
  'company industry IT + segment': { all: [{ field: 'company_industry', values: ['IT'] }, { field: 'segment', values: ['champions', 'loyal'] }] },
  'company size ∈ {2, 3}': { all: [{ field: 'company_size', values: ['EMPLOYEES_2', 'EMPLOYEES_3'] }] },
  'company revenue ≥ 1M': { all: [{ field: 'company_revenue', min: 1_000_000 }] },
  'any field HONORIFIC ∈ {Mr.}': { all: [{ field: 'crm', key: 'HONORIFIC', op: 'in', values: ['HNR_EN_1'] }] },
  'any field COMMENTS contains "fair"': { all: [{ field: 'crm', key: 'COMMENTS', op: 'contains', value: 'fair' }] },
  'any field UF_CRM_TIER ∈ {gold}': { all: [{ field: 'crm', key: 'UF_CRM_TIER', op: 'in', values: ['gold'] }] },
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const setting = async (n: string) => (await db.query<{ v: string }>(`SELECT current_setting($1) AS v`, [n])).rows[0]!.v;
const version = (await db.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
const facts = (await db.query<{ s: string; n: number }>(
  `SELECT pg_size_pretty(pg_relation_size(t.tbl::regclass)) || ' + indexes ' || pg_size_pretty(pg_indexes_size(t.tbl::regclass)) AS s,
          (SELECT count(*)::int FROM label_cube c WHERE c.portal_id = t.portal_id) AS n
     FROM label_facts_run t WHERE t.portal_id = $1`, [portalId])).rows[0]!;
const load0 = os.loadavg()[0]!;
/**
 * The machine's speed now: the fastest of 5 runs of a fixed integer loop of 2e8 steps, ms (~60 ms on
 * an unthrottled core here; the first runs are slower until V8 optimises the loop). A shared VM's CPU
 * can run several times slower for minutes: printed at the start and the end so that a reader can
 * tell a slow run from a slow machine.
 */
const cpuRef = (): number => {
  let best = Infinity;
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    let s = 0;
    for (let i = 0; i < 2e8; i++) s = (s + i) | 0;
    if (s === 42) console.log('');
    best = Math.min(best, performance.now() - t);
  }
  return best;
};
const cpu0 = cpuRef();
/** the handle POST /segments/count uses: the bounded pool, with its session settings (src/store/db.ts BOUNDED_SESSION) */
const ui = db.withStatementTimeout(UI_STATEMENT_TIMEOUT_MS);
console.log(
  `\nPostgreSQL ${version} (shared_buffers ${await setting('shared_buffers')}, max_parallel_workers_per_gather ${await setting('max_parallel_workers_per_gather')}, jit ${await setting('jit')}), ` +
    `${os.cpus().length} cores; ${N.toLocaleString()} contacts, ${RUNS} score runs stored; label_facts partition ${facts.s}, label_cube ${facts.n.toLocaleString()} cells`,
);
console.log(`the UI pool's session: statement_timeout ${UI_STATEMENT_TIMEOUT_MS} ms, ${Object.entries(BOUNDED_SESSION).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`${REPS} reps per filter after 2 warm-ups${args.interleave ? ", interleaved (each round runs every filter once)" : ""}; a rep = countSegment + runTotals in parallel (POST /segments/count); load average ${load0.toFixed(2)}; CPU reference loop ${cpu0.toFixed(0)} ms\n`);
console.log('filter'.padEnd(34), 'from'.padEnd(7), 'count'.padStart(9), 'p50 ms'.padStart(8), 'p95 ms'.padStart(8), args['no-check'] ? '' : ' = join over contact_labels?');
let worst = 0;
let mismatches = 0;
const opts = { saved };
const only = args.only ? new RegExp(args.only, 'i') : null;
const chosen = Object.entries(filters).filter(([name]) => !only || only.test(name)).map(([name, raw]) => ({ name, f: segmentFilterSchema.parse(raw) as SegmentFilter }));
const samples = new Map<string, number[]>(chosen.map((c) => [c.name, []]));
const answers = new Map<string, { count: number; revenue: number }>();
/** one rep of a filter: what POST /segments/count does */
async function rep(c: (typeof chosen)[number], keep: boolean) {
  const t = performance.now();
  const [r] = await Promise.all([countSegment(ui, portalId, runId, c.f, opts), runTotals(ui, portalId, runId)]);
  if (keep) samples.get(c.name)!.push(performance.now() - t);
  answers.set(c.name, r);
}
if (args.interleave) {
  // a round runs every filter once: a VM whose speed drifts slows all filters alike
  for (let i = 0; i < REPS + 2; i++) for (const c of chosen) await rep(c, i >= 2);
} else {
  for (const c of chosen) for (let i = 0; i < REPS + 2; i++) await rep(c, i >= 2);
}
for (const { name, f } of chosen) {
  const ms = samples.get(name)!;
  const { count, revenue } = answers.get(name)!;
  const p95 = pct(ms, 95);
  worst = Math.max(worst, p95);
  let check = '';
  if (!args['no-check']) {
    const q = compileFilter(portalId, runId, f, opts);
    const { rows } = await db.query<{ count: number; revenue: number }>(
      `SELECT count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue ${q.fromWhere}`, q.params);
    const ok = rows[0]!.count === count && Math.abs(rows[0]!.revenue - revenue) <= 1e-9 * Math.max(1, Math.abs(revenue));
    if (!ok) mismatches++;
    check = ok ? 'yes' : `NO (join: ${rows[0]!.count}, ${rows[0]!.revenue})`;
  }
  // label_cube, label_company_cube (migration 030), or a scan of label_facts
  const from = cubeAnswers(f, saved) ? 'cube' : companyCubeAnswers(f, saved) ? 'co-cube' : 'facts';
  console.log(name.padEnd(34), from.padEnd(7), count.toLocaleString().padStart(9), pct(ms, 50).toFixed(1).padStart(8), p95.toFixed(1).padStart(8), '', check);
}
console.log(`\nworst p95: ${worst.toFixed(1)} ms (target < 100 ms); load average ${load0.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end; CPU reference loop ${cpu0.toFixed(0)} ms at start, ${cpuRef().toFixed(0)} ms at end`);
if (mismatches) console.log(`${mismatches} filter(s) counted differently from the join over contact_labels`);
await db.close();
if (!args.keep) await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.end();
if (mismatches) process.exitCode = 1;
