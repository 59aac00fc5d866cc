/**
 * The benches' store: a fresh PostgreSQL database (DATABASE_URL, else the local server), dropped
 * afterwards, or an in-memory PGlite. `auto` takes PostgreSQL when it answers within 2 s.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Db } from '../../src/store/index.js';

export type BenchDbKind = 'postgres' | 'pglite' | 'auto';

export interface BenchDb {
  db: Db;
  kind: string;
  /** The server's URL and the database's name, for PostgreSQL. */
  pg?: { base: string; name: string };
  cleanup: () => Promise<void>;
}

export async function openBenchDb(want: BenchDbKind): Promise<BenchDb> {
  const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  if (want !== 'pglite') {
    const c = new pg.Client({ connectionString: base, connectionTimeoutMillis: 2000 });
    c.on('error', () => {});
    try {
      await c.connect();
      const name = `b24seg_bench_${randomBytes(4).toString('hex')}`;
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      const u = new URL(base);
      u.pathname = `/${name}`;
      const db = await openStore({ databaseUrl: u.toString(), poolMax: 4 });
      return {
        db, kind: 'postgres', pg: { base, name },
        cleanup: async () => {
          await db.close();
          const a = new pg.Client({ connectionString: base });
          await a.connect();
          await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await a.end();
        },
      };
    } catch (e) {
      await c.end().catch(() => {});
      if (want === 'postgres') throw e;
    }
  }
  const db = await openStore({ dataDir: 'memory://', databaseUrl: '' });
  return { db, kind: 'pglite (memory)', cleanup: () => db.close() };
}
