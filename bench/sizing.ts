/**
 * `npm run bench -- sizing [--contacts 20000] [--runs 3] [--keep] [--db NAME]`
 *
 * How much PostgreSQL a portal takes, for the deployment guide's sizing (docs/deploy.md): a
 * generated emulator portal (3 years of deals, products, companies) copied into the store as a full
 * sync leaves it (test/helpers/emulator-mirror.ts), scored `--runs` times a week apart through the
 * app's runScoring, then VACUUM ANALYZE. Prints each table's rows and total size (heap + indexes +
 * TOAST, pg_total_relation_size) and the figures per contact: CRM mirror, per score run kept,
 * and the whole database. Scratch database b24seg_bench_sizing on DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards unless --keep.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generatePortal } from '../src/emulator/generator.js';
import { Portal as EmuPortal } from '../src/emulator/portal.js';
import { runScoring } from '../src/pipeline/score.js';
import { openStore, upsertPortalOnInstall } from '../src/store/index.js';
import { mirrorEmulatorPortal } from '../test/helpers/emulator-mirror.js';

const { values: args } = parseArgs({
  options: {
    contacts: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    db: { type: 'string', default: 'b24seg_bench_sizing' },
  },
});
const N = Number(args.contacts);
const RUNS = Math.max(1, Number(args.runs));
const dbName = args.db;
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(dbName)) throw new Error(`--db: not a plain database name: ${dbName}`);
const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.query(`CREATE DATABASE ${dbName}`);
const db = await openStore({ databaseUrl: url.toString() });

const t0 = performance.now();
const emu = new EmuPortal({ language: 'en' });
generatePortal(emu, { contacts: N, seed: 7, years: 3 });
const portalId = (await upsertPortalOnInstall(db, { memberId: emu.memberId, domain: 'sizing.test', clientEndpoint: 'https://sizing.test/rest/', status: 'active' })).id;
await mirrorEmulatorPortal(emu, db, portalId);
const now = emu.clock.now();
for (let i = RUNS - 1; i >= 0; i--) await runScoring(db, portalId, new Date(now - i * 7 * 86_400_000));
await db.exec('VACUUM ANALYZE');
const seeded = (performance.now() - t0) / 1000;

const { rows } = await db.query<{ t: string; bytes: number }>(
  `SELECT c.relname AS t, pg_total_relation_size(c.oid)::bigint AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY bytes DESC`,
);
/** A partitioned table's size is its partitions' (label_facts: one partition per portal). */
async function sizeOf(t: string, own: number): Promise<number> {
  const { rows: parts } = await db.query<{ b: number }>(
    `SELECT COALESCE(sum(pg_total_relation_size(i.inhrelid)), 0)::bigint AS b FROM pg_inherits i WHERE i.inhparent = $1::regclass`, [t]);
  return Number(own) + Number(parts[0]?.b ?? 0);
}
const MB = (b: number) => (b / 1048576).toFixed(1);
const table: Array<{ table: string; rows: number; MB: string; 'bytes/contact': number }> = [];
let total = 0;
const sizes = new Map<string, number>();
for (const r of rows) {
  const bytes = await sizeOf(r.t, r.bytes);
  const n = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${r.t}`)).rows[0]!.n;
  total += bytes;
  sizes.set(r.t, bytes);
  if (bytes >= 64 * 1024) table.push({ table: r.t, rows: n, MB: MB(bytes), 'bytes/contact': Math.round(bytes / N) });
}
const deals = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM deals`)).rows[0]!.n;
const labels = sizes.get('contact_labels') ?? 0;
const facts = sizes.get('label_facts') ?? 0;
const dbBytes = Number((await db.query<{ b: number }>(`SELECT pg_database_size(current_database())::bigint AS b`)).rows[0]!.b);
console.log(`sizing: ${N} contacts, ${deals} deals (${(deals / N).toFixed(1)} per contact), ${RUNS} score runs; seeded in ${seeded.toFixed(0)} s\n`);
console.table(table);
console.log(`
per contact:
  everything in public           ${Math.round(total / N)} B  (${MB(total)} MB)
  one kept score run (labels)    ${Math.round(labels / RUNS / N)} B
  count tables of the latest run ${Math.round(facts / N)} B  (label_facts)
  whole database incl. catalogs  ${Math.round(dbBytes / N)} B  (${MB(dbBytes)} MB)
`);
await db.close();
if (!args.keep) await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.end();
