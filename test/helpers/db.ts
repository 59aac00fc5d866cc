/**
 * Test databases of each kind, for any test that needs the store.
 *
 *   import { eachDb } from '../helpers/db.js';
 *   eachDb('my feature', (getDb, kind) => {
 *     beforeEach(() => resetDb(getDb()));          // optional: empty tables between tests
 *     it('works', async () => { const db = getDb(); ... });
 *   });
 *
 * Each eachDb() block gets, per kind, its own fresh migrated database for the whole block:
 *  - pglite:   in memory, cloned from a migrated template (cached in os.tmpdir(), ~1 s).
 *  - postgres: `CREATE DATABASE b24seg_test_<random>` on DATABASE_URL, else
 *              postgres://postgres@127.0.0.1:5432/test; dropped (WITH FORCE) afterwards,
 *              so parallel test files never collide.
 * No reachable PostgreSQL: the postgres block FAILS (never a silent skip). TEST_DB_KINDS=pglite
 * (or postgres) limits the kinds run, by name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { dumpPgliteDataDir, migrate, migrations, openDb, type Db, type DbKind } from '../../src/store/index.js';

export type { Db, DbKind };

export const POSTGRES_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

async function probePostgres(): Promise<string | null> {
  const c = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await c.end().catch(() => {});
  }
}

/** null when PostgreSQL is reachable, else why not. */
export const postgresUnavailable: string | null = await probePostgres();

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

export function kindsWanted(): DbKind[] {
  const v = (process.env.TEST_DB_KINDS ?? '').trim();
  if (!v || v === 'both' || v === 'all') return ['pglite', 'postgres'];
  return v.split(',').map((s) => s.trim()).filter((s): s is DbKind => s === 'pglite' || s === 'postgres');
}

// ---- PGlite template -----------------------------------------------------------------

let templatePromise: Promise<Blob> | undefined;

function templateKey(): string {
  const require = createRequire(import.meta.url);
  let version = 'unknown';
  try {
    const pkgPath = path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json');
    version = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
  } catch {
    /* resolve layout changed: key on migrations only */
  }
  const h = createHash('sha256').update(version);
  for (const m of migrations) h.update(`${m.version}\0${m.sql}\0`);
  return h.digest('hex').slice(0, 16);
}

async function buildTemplate(): Promise<Blob> {
  const file = path.join(os.tmpdir(), `b24seg-pglite-template-${templateKey()}.tar`);
  if (existsSync(file)) {
    try {
      return new Blob([readFileSync(file)]);
    } catch {
      /* fall through and rebuild */
    }
  }
  const db = await openDb({ dataDir: 'memory://', databaseUrl: '' });
  try {
    await migrate(db);
    const blob = await dumpPgliteDataDir(db);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
    renameSync(tmp, file); // atomic: concurrent workers never read a half-written file
    return blob;
  } finally {
    await db.close();
  }
}

// ---- fresh databases -----------------------------------------------------------------

export interface TestDb {
  db: Db;
  /** PostgreSQL only: the URL of the fresh database (for pg-boss, child processes). */
  url?: string;
  cleanup(): Promise<void>;
}

/** A fresh, migrated database of the given kind. Call cleanup() when done. */
export async function createTestDb(kind: DbKind): Promise<TestDb> {
  if (kind === 'pglite') {
    templatePromise ??= buildTemplate();
    let template: Blob;
    try {
      template = await templatePromise;
    } catch (err) {
      templatePromise = undefined;
      throw err;
    }
    const db = await openDb({ dataDir: 'memory://', databaseUrl: '', pgliteLoadDataDir: template });
    await migrate(db); // no-op on the template; applies anything newer
    return { db, cleanup: () => db.close() };
  }
  if (postgresUnavailable) throw new Error(`PostgreSQL not reachable at ${redact(POSTGRES_URL)}: ${postgresUnavailable}`);
  const name = `b24seg_test_${process.pid}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(POSTGRES_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = await openDb({ databaseUrl: url, poolMax: 5 });
  await migrate(db);
  return {
    db,
    url,
    async cleanup() {
      await db.close();
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Empties every table (portals cascade to all tenant tables) and resets sequences. */
export async function resetDb(db: Db): Promise<void> {
  await db.exec('TRUNCATE portals RESTART IDENTITY CASCADE');
}


export interface EachDbContext {
  kind: DbKind;
  /** PostgreSQL only: URL of this block's database. */
  url(): string | undefined;
}

/**
 * Registers `describe(name [kind])` once per kind, each with its own fresh database
 * (created in beforeAll, dropped in afterAll). `getDb()` is valid inside hooks and tests.
 */
export function eachDb(name: string, fn: (getDb: () => Db, ctx: EachDbContext) => void): void {
  for (const kind of kindsWanted()) {
    if (kind === 'postgres' && postgresUnavailable) {
      // never a silent skip: without a server the PostgreSQL run fails (npm test's pretest,
      // scripts/test-prereqs.mjs, installs one or says how; TEST_DB_KINDS=pglite opts out by name)
      const why = `PostgreSQL not reachable at ${redact(POSTGRES_URL)} (${postgresUnavailable})`;
      describe(`${name} [postgres]`, () => {
        it('needs a PostgreSQL server', () => {
          throw new Error(`${why}. Start one (see scripts/test-prereqs.mjs) or run TEST_DB_KINDS=pglite.`);
        });
      });
      continue;
    }
    describe(`${name} [${kind}]`, () => {
      let t: TestDb | undefined;
      beforeAll(async () => {
        t = await createTestDb(kind);
      });
      afterAll(async () => {
        await t?.cleanup();
      });
      fn(
        () => {
          if (!t) throw new Error('getDb() called before beforeAll created the database');
          return t.db;
        },
        { kind, url: () => t?.url },
      );
    });
  }
}
