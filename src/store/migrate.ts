/**
 * Versioned migrations: schema_migrations(version, name, checksum, applied_at).
 * Each pending migration runs in its own transaction that first takes a transaction-level
 * advisory lock, so concurrent migrators (several app processes starting at once on one
 * PostgreSQL) queue up and the later ones see the migration already applied.
 */
import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';

/** Arbitrary constant for pg_advisory_xact_lock: "b24seg" migrations. */
export const MIGRATION_LOCK_KEY = 724_240_001;

export interface MigrateResult {
  applied: number[];
  current: number;
}

const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex').slice(0, 16);

export async function migrate(db: Db, migrations: readonly Migration[] = allMigrations): Promise<MigrateResult> {
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    const did = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      // Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can still collide.
      await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await tx.query<{ checksum: string }>(
        'SELECT checksum FROM schema_migrations WHERE version = $1',
        [m.version],
      );
      const sum = checksum(m.sql);
      if (rows[0]) {
        if (rows[0].checksum !== sum) {
          console.warn(`[store] migration ${m.version}_${m.name} changed after it was applied (checksum differs)`);
        }
        return false;
      }
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        sum,
      ]);
      return true;
    });
    if (did) applied.push(m.version);
  }
  const { rows } = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return { applied, current: rows[0]?.v ?? 0 };
}
