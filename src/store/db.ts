/**
 * One database interface, two adapters: a real PostgreSQL server (pg Pool) when
 * DATABASE_URL is set, else embedded PostgreSQL (PGlite, WASM) in ./data.
 * The same SQL runs on both (PostgreSQL 15+ dialect; PGlite is 18).
 *
 * Value types are normalised so both adapters return the same JS values:
 *   int8/bigint -> number (ids from Bitrix24 fit in 2^53), numeric -> number,
 *   date -> 'YYYY-MM-DD' string, timestamptz -> Date, jsonb -> parsed value, text[] -> string[].
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';

export type DbKind = 'pglite' | 'postgres';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Db {
  /** One statement, with $1..$n parameters. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** One or more statements without parameters (DDL, migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Runs fn inside BEGIN/COMMIT (ROLLBACK on throw). Use only `tx` inside fn: on PGlite
   * the outer handle waits for the transaction to end, so using it inside fn deadlocks.
   * Nested calls on `tx` become SAVEPOINTs.
   */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /**
   * A handle on the same database whose every statement is bounded by `ms` milliseconds (the UI
   * API's queries; src/server/ui-api/limits.ts). The same handle for the same `ms`.
   *
   *  - PostgreSQL: a second pool (same size, application_name "b24seg-bounded") whose connections
   *    start with `statement_timeout = ms`: the server cancels a statement that runs longer and it
   *    fails with SQLSTATE 57014 (query_canceled). Its own pool also means bounded work never
   *    takes the connections the workers and /healthz use.
   *  - PGlite: the same handle; NOTHING is bounded. PGlite runs PostgreSQL single-threaded in
   *    WASM with one connection and no timer interrupt: `SET statement_timeout` is accepted and
   *    ignored (a 22 s statement under a 200 ms timeout runs its 22 s), a running statement cannot
   *    be cancelled, and every other query of the process waits for it. What bounds work there is
   *    the size of what may be asked (the filter limits). Serve several tenants on PostgreSQL.
   *  - A transaction handle: throws (open the transaction on the bounded handle instead).
   */
  withStatementTimeout(ms: number): Db;
  close(): Promise<void>;
  readonly kind: DbKind;
}

export interface OpenDbOptions {
  /** postgres://... ; defaults to env DATABASE_URL. When set, PostgreSQL is used. */
  databaseUrl?: string;
  /** PGlite data directory; defaults to env DATA_DIR, else ./data. 'memory://' = in memory. */
  dataDir?: string;
  /** pg Pool size (PostgreSQL only). Default 10. */
  poolMax?: number;
  /**
   * PGlite only: start from a dumped data directory (PGlite.dumpDataDir()) instead of
   * running initdb (~1 s instead of ~5 s). Used by the test helper to clone a migrated template.
   */
  pgliteLoadDataDir?: Blob;
}

// ---- type normalisation --------------------------------------------------------------

const OID = { INT8: 20, NUMERIC: 1700, DATE: 1082 } as const;

function parseInt8(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${v} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}
const parseNumeric = (v: string): number => Number(v);
const parseDate = (v: string): string => v;

/** Private handles so pgBossOptions() can reach the underlying connection. */
const INTERNAL = Symbol('b24seg.db.internal');
interface Internal {
  connectionString?: string;
  pglite?: PGlite;
}
type DbWithInternal = Db & { [INTERNAL]?: Internal };

// ---- PostgreSQL adapter --------------------------------------------------------------

const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (format !== 'binary') {
      if (oid === OID.INT8) return parseInt8;
      if (oid === OID.NUMERIC) return parseNumeric;
      if (oid === OID.DATE) return parseDate;
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return (pg.types.getTypeParser as any)(oid, format);
  },
};

type Queryable = { query: (text: string, values?: unknown[]) => Promise<pg.QueryResult> };

function pgClientDb(client: Queryable, depth: number): Db {
  const db: Db = {
    kind: 'postgres',
    async query<T>(sql: string, params?: unknown[]) {
      const r = await client.query(sql, params);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(sql: string) {
      await client.query(sql);
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>) {
      return savepoint(db, depth, fn, pgClientDb(client, depth + 1));
    },
    withStatementTimeout(): Db {
      throw new Error('withStatementTimeout() called on a transaction handle');
    },
    async close() {
      throw new Error('close() called on a transaction handle');
    },
  };
  return db;
}

function checkTimeout(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`statement timeout must be a positive integer of ms, got ${ms}`);
}

/**
 * Session settings of the bounded (UI) pool besides its statement_timeout: the UI's statements are short
 * scans of one portal's count tables, many users' at once. Measured on PostgreSQL 15 at 1M contacts
 * (docs/ui.md, "Counts over 1M contacts: the UI pool's settings" and "no parallel worker"): JIT of the
 * expressions and tuple deforming, without inlining or optimisation (whose compile time outweighs a 100 ms
 * scan), took the serial scan from 125 to 77 ms. No parallel worker: a worker is a new server process per
 * statement that loads and runs the JIT compiler again; four alternating runs on one idle 2-core machine
 * (2026-12-03) put the count-table scans' p95 at 63-117 ms without a worker and 97-192 ms with one, and two
 * workers per statement made the count 1.8x slower before that (the request runs two statements at once).
 * The JIT threshold is a plan cost reached by scans of some 400k rows: smaller portals' counts never pay
 * for a compile.
 */
export const BOUNDED_SESSION: Readonly<Record<string, string | number>> = {
  max_parallel_workers_per_gather: 0,
  jit_above_cost: 20_000,
  jit_inline_above_cost: -1,
  jit_optimize_above_cost: -1,
};

/** How long an idle connection of the bounded pool is kept (see newPool). */
export const BOUNDED_IDLE_MS = 10 * 60_000;

const sessionOptions = (settings: Readonly<Record<string, string | number>>): string =>
  Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');

/**
 * The bounded pool's connection string and its session `options`: settings the URL gives in its own
 * `options` parameter (e.g. `?options=-c%20search_path%3Dapp`) are kept, the pool's follow them (the
 * later `-c` of a name wins). pg lets the URL's parameters override the pool's config, so the URL's
 * `options` is taken out of it. A string that is not a URL (a socket path) is left as it is.
 */
export function boundedConnection(connectionString: string): { connectionString: string; options: string } {
  const own = sessionOptions(BOUNDED_SESSION);
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return { connectionString, options: own };
  }
  const given = url.searchParams.get('options');
  if (given === null) return { connectionString, options: own };
  url.searchParams.delete('options');
  return { connectionString: url.toString(), options: given.trim() ? `${given.trim()} ${own}` : own };
}

function newPool(connectionString: string, poolMax: number, statementTimeoutMs?: number): pg.Pool {
  const bounded = statementTimeoutMs ? boundedConnection(connectionString) : null;
  const pool = new pg.Pool({
    connectionString: bounded?.connectionString ?? connectionString, max: poolMax, types: pgTypes,
    ...(bounded ? {
      statement_timeout: statementTimeoutMs, application_name: 'b24seg-bounded', options: bounded.options,
      // a server process loads the JIT compiler on its first JIT'd statement (~0.4 s measured): keep the
      // UI's connections for 10 idle minutes (pg's default is 10 s) so that a user's next click finds one warm
      idleTimeoutMillis: BOUNDED_IDLE_MS,
    } : {}),
  });
  // An idle client erroring (server restart) must not crash the process.
  pool.on('error', (err) => console.error('[store] idle PostgreSQL client error:', err.message));
  return pool;
}

function openPostgres(connectionString: string, poolMax: number): Db {
  const pool = newPool(connectionString, poolMax);
  /** withStatementTimeout: one pool per timeout, ended with the main pool */
  const bounded = new Map<number, { pool: pg.Pool; db: Db }>();
  const db: DbWithInternal = {
    ...poolDb(pool),
    withStatementTimeout(ms: number): Db {
      checkTimeout(ms);
      let b = bounded.get(ms);
      if (!b) {
        const p = newPool(connectionString, poolMax, ms);
        const bdb: Db = {
          ...poolDb(p),
          withStatementTimeout: (m: number) => db.withStatementTimeout(m),
          async close() {
            throw new Error('close() called on a bounded handle: close the Db returned by openDb()');
          },
        };
        bounded.set(ms, (b = { pool: p, db: bdb }));
      }
      return b.db;
    },
    async close() {
      const pools = [pool, ...[...bounded.values()].map((b) => b.pool)];
      bounded.clear();
      await Promise.all(pools.map((p) => p.end()));
    },
    [INTERNAL]: { connectionString },
  };
  return db;
}

/** query / exec / transaction over a pg Pool. */
function poolDb(pool: pg.Pool): Pick<Db, 'kind' | 'query' | 'exec' | 'transaction'> {
  return {
    kind: 'postgres',
    async query<T>(sql: string, params?: unknown[]) {
      const r = await pool.query(sql, params);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        try {
          const out = await fn(pgClientDb(client, 1));
          await client.query('COMMIT');
          return out;
        } catch (err) {
          try {
            await client.query('ROLLBACK');
          } catch {
            broken = true;
          }
          throw err;
        }
      } finally {
        client.release(broken);
      }
    },
  };
}

// ---- PGlite adapter ------------------------------------------------------------------

type PgliteQueryable = Pick<PGlite, 'query' | 'exec'>;

function pgliteTxDb(tx: PgliteQueryable, depth: number): Db {
  const db: Db = {
    kind: 'pglite',
    async query<T>(sql: string, params?: unknown[]) {
      const r = await tx.query<T>(sql, params);
      return { rows: r.rows, rowCount: r.rowCount ?? r.affectedRows ?? r.rows.length };
    },
    async exec(sql: string) {
      await tx.exec(sql);
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>) {
      return savepoint(db, depth, fn, pgliteTxDb(tx, depth + 1));
    },
    withStatementTimeout(): Db {
      throw new Error('withStatementTimeout() called on a transaction handle');
    },
    async close() {
      throw new Error('close() called on a transaction handle');
    },
  };
  return db;
}

async function openPglite(dataDir: string, loadDataDir?: Blob): Promise<Db> {
  let dir: string | undefined;
  if (dataDir.startsWith('memory://')) {
    dir = undefined; // in memory
  } else {
    dir = path.resolve(dataDir);
    // PGlite's own mkdir is not recursive: create the directory (and parents) first.
    mkdirSync(dir, { recursive: true });
  }
  const pglite = await PGlite.create({
    ...(dir ? { dataDir: dir } : {}),
    ...(loadDataDir ? { loadDataDir } : {}),
    parsers: { [OID.INT8]: parseInt8, [OID.NUMERIC]: parseNumeric, [OID.DATE]: parseDate },
  });
  // PGlite has a single connection. Its query()/exec()/transaction() all take one
  // transaction mutex, so a transaction runs alone: statements from other callers wait
  // until it commits or rolls back instead of interleaving inside it.
  const db: DbWithInternal = {
    kind: 'pglite',
    async query<T>(sql: string, params?: unknown[]) {
      const r = await pglite.query<T>(sql, params);
      return { rows: r.rows, rowCount: r.rowCount ?? r.affectedRows ?? r.rows.length };
    },
    async exec(sql: string) {
      await pglite.exec(sql);
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>) {
      return pglite.transaction((tx) => fn(pgliteTxDb(tx, 1)));
    },
    // PGlite cannot cancel a running statement (see Db.withStatementTimeout): the same handle
    withStatementTimeout(ms: number): Db {
      checkTimeout(ms);
      return db;
    },
    async close() {
      if (!pglite.closed) await pglite.close();
    },
    [INTERNAL]: { pglite },
  };
  return db;
}

async function savepoint<T>(db: Db, depth: number, fn: (tx: Db) => Promise<T>, inner: Db): Promise<T> {
  const name = `sp_${depth}`;
  await db.exec(`SAVEPOINT ${name}`);
  try {
    const out = await fn(inner);
    await db.exec(`RELEASE SAVEPOINT ${name}`);
    return out;
  } catch (err) {
    await db.exec(`ROLLBACK TO SAVEPOINT ${name}`);
    throw err;
  }
}

// ---- public --------------------------------------------------------------------------

/** Where openDb() would put data, for logs: 'postgres' or the resolved PGlite dir. */
export function resolveDbTarget(opts: OpenDbOptions = {}, env: NodeJS.ProcessEnv = process.env) {
  const url = opts.databaseUrl ?? (env.DATABASE_URL || undefined);
  if (url) return { kind: 'postgres' as const, databaseUrl: url };
  const dataDir = opts.dataDir ?? (env.DATA_DIR || './data');
  return { kind: 'pglite' as const, dataDir: dataDir.startsWith('memory://') ? dataDir : path.resolve(dataDir) };
}

/**
 * Opens the store: PostgreSQL when databaseUrl / env DATABASE_URL is set, else PGlite in
 * dataDir / env DATA_DIR / ./data. Does not run migrations (call migrate(db)).
 */
export async function openDb(opts: OpenDbOptions = {}): Promise<Db> {
  const t = resolveDbTarget(opts);
  if (t.kind === 'postgres') return openPostgres(t.databaseUrl, opts.poolMax ?? 10);
  return openPglite(t.dataDir, opts.pgliteLoadDataDir);
}

/** PGlite only: a tarball of the data directory (for templates / backups). */
export async function dumpPgliteDataDir(db: Db): Promise<Blob> {
  const pglite = (db as DbWithInternal)[INTERNAL]?.pglite;
  if (!pglite) throw new Error('dumpPgliteDataDir() needs a PGlite Db returned by openDb()');
  return pglite.dumpDataDir('none');
}

/** The pg-boss 10 executeSql adapter shape. */
export interface PgBossDbAdapter {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Constructor options that make pg-boss 10 run on the same database:
 * `{ connectionString }` on PostgreSQL (pg-boss opens its own pool), or
 * `{ db: { executeSql } }` on PGlite (pg-boss shares the single in-process connection).
 * Spread it into `new PgBoss({ ...pgBossOptions(db), ...yourOptions })`.
 */
export function pgBossOptions(db: Db): { connectionString: string } | { db: PgBossDbAdapter } {
  const internal = (db as DbWithInternal)[INTERNAL];
  if (!internal) throw new Error('pgBossOptions() needs the Db returned by openDb(), not a transaction handle');
  if (internal.connectionString) return { connectionString: internal.connectionString };
  const pglite = internal.pglite!;
  return {
    db: {
      async executeSql(text: string, values?: unknown[]) {
        if (values && values.length > 0) return pglite.query(text, values);
        // pg-boss sends multi-statement scripts without parameters (schema install,
        // maintenance): exec() runs them; pg-boss reads the last statement's rows.
        const results = await pglite.exec(text);
        return results.at(-1) ?? { rows: [] };
      },
    },
  };
}
