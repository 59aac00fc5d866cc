import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate, migrations, openDb, openStore, resolveDbTarget, type Db } from '../../src/store/index.js';
import { createTestDb, eachDb, kindsWanted } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('resolveDbTarget', () => {
  it('DATABASE_URL wins, else DATA_DIR, else ./data', () => {
    expect(resolveDbTarget({}, { DATABASE_URL: 'postgres://x/y' })).toEqual({ kind: 'postgres', databaseUrl: 'postgres://x/y' });
    expect(resolveDbTarget({}, { DATA_DIR: '/tmp/abc' })).toEqual({ kind: 'pglite', dataDir: '/tmp/abc' });
    expect(resolveDbTarget({}, {})).toEqual({ kind: 'pglite', dataDir: path.resolve('./data') });
    expect(resolveDbTarget({ dataDir: 'memory://' }, { DATA_DIR: '/tmp/abc' })).toEqual({ kind: 'pglite', dataDir: 'memory://' });
    // an explicit empty URL forces PGlite even when the env has one
    expect(resolveDbTarget({ databaseUrl: '' }, { DATABASE_URL: 'postgres://x/y' }).kind).toBe('pglite');
  });
});

describe('PGlite on disk', () => {
  it('creates missing parent dirs, persists across reopen', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'b24seg-store-'));
    const dir = path.join(root, 'a', 'b', 'data');
    try {
      let db = await openStore({ dataDir: dir, databaseUrl: '' });
      expect(db.kind).toBe('pglite');
      await db.query(`INSERT INTO portals (member_id, domain) VALUES ('m1', 'a.bitrix24.ru')`);
      await db.close();
      db = await openStore({ dataDir: dir, databaseUrl: '' });
      const { rows } = await db.query<{ member_id: string }>('SELECT member_id FROM portals');
      expect(rows).toEqual([{ member_id: 'm1' }]);
      await db.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

eachDb('Db adapter', (getDb, { kind }) => {
  it('reports its kind', () => {
    expect(getDb().kind).toBe(kind);
  });

  it('normalises value types identically on both kinds', async () => {
    const { rows } = await getDb().query(
      `SELECT 9007199254740991::bigint AS big, 12.50::numeric AS num, '2024-02-29'::date AS d,
              '2024-02-29T10:00:00Z'::timestamptz AS ts, '{"a":[1,"x"]}'::jsonb AS j, ARRAY['a','b']::text[] AS arr,
              true AS b, NULL::bigint AS n, 3::int AS i`,
    );
    expect(rows[0]).toEqual({
      big: 9007199254740991,
      num: 12.5,
      d: '2024-02-29',
      ts: new Date('2024-02-29T10:00:00Z'),
      j: { a: [1, 'x'] },
      arr: ['a', 'b'],
      b: true,
      n: null,
      i: 3,
    });
  });

  it('refuses int8 beyond 2^53 instead of silently rounding', async () => {
    await expect(getDb().query(`SELECT 9007199254740993::bigint AS x`)).rejects.toThrow(/MAX_SAFE_INTEGER/);
  });

  it('rowCount counts affected rows', async () => {
    const db = getDb();
    await db.exec('CREATE TEMP TABLE IF NOT EXISTS t_rc (id int primary key); DELETE FROM t_rc;');
    const ins = await db.query('INSERT INTO t_rc SELECT generate_series(1, 5)');
    expect(ins.rowCount).toBe(5);
    const upd = await db.query('UPDATE t_rc SET id = id + 10 WHERE id > 2');
    expect(upd.rowCount).toBe(3);
    const sel = await db.query('SELECT id FROM t_rc WHERE id > 10');
    expect(sel.rowCount).toBe(3);
    const del = await db.query('DELETE FROM t_rc WHERE id = 999');
    expect(del.rowCount).toBe(0);
  });

  it('transaction commits, rolls back on throw, nests as savepoints', async () => {
    const db = getDb();
    await db.exec('CREATE TABLE IF NOT EXISTS t_tx (v text); DELETE FROM t_tx;');
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO t_tx VALUES ('committed')`);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO t_tx VALUES ('rolled back')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO t_tx VALUES ('outer')`);
      await expect(
        tx.transaction(async (inner) => {
          await inner.query(`INSERT INTO t_tx VALUES ('inner undone')`);
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
      await tx.transaction(async (inner) => {
        await inner.query(`INSERT INTO t_tx VALUES ('inner kept')`);
      });
    });
    const { rows } = await db.query<{ v: string }>('SELECT v FROM t_tx ORDER BY v');
    expect(rows.map((r) => r.v)).toEqual(['committed', 'inner kept', 'outer']);
  });

  it('a concurrent caller never lands inside another caller\'s transaction', async () => {
    const db = getDb();
    await db.exec('CREATE TABLE IF NOT EXISTS t_iso (v text); DELETE FROM t_iso;');
    const order: string[] = [];
    const txP = db
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO t_iso VALUES ('in tx')`);
        order.push('tx wrote');
        await sleep(150);
        order.push('tx throws');
        throw new Error('rollback me');
      })
      .catch((e: Error) => e.message);
    await sleep(20);
    const outside = db.query(`INSERT INTO t_iso VALUES ('outside')`).then(() => order.push('outside done'));
    // and a second transaction started meanwhile
    const tx2 = db.transaction(async (tx) => {
      await tx.query(`INSERT INTO t_iso VALUES ('tx2')`);
    });
    expect(await txP).toBe('rollback me');
    await Promise.all([outside, tx2]);
    const { rows } = await db.query<{ v: string }>('SELECT v FROM t_iso ORDER BY v');
    expect(rows.map((r) => r.v)).toEqual(['outside', 'tx2']);
    if (kind === 'pglite') {
      // single connection: the outside statement waited for the transaction to end
      expect(order).toEqual(['tx wrote', 'tx throws', 'outside done']);
    }
  });

  it('migrate() is idempotent and records every version', async () => {
    const db = getDb();
    const again = await migrate(db);
    expect(again.applied).toEqual([]);
    expect(again.current).toBe(migrations.at(-1)!.version);
    const { rows } = await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
  });

  it('concurrent migrators apply each migration exactly once', async () => {
    const db = getDb();
    await db.exec('CREATE TABLE IF NOT EXISTS t_mig_count (n int)');
    const extra = [
      ...migrations,
      { version: 900, name: 'test_counter', sql: 'INSERT INTO t_mig_count VALUES (1);' },
    ];
    const results = await Promise.all([migrate(db, extra), migrate(db, extra), migrate(db, extra)]);
    expect(results.flatMap((r) => r.applied)).toEqual([900]);
    const { rows } = await db.query<{ c: number }>('SELECT count(*)::int AS c FROM t_mig_count');
    expect(rows[0]!.c).toBe(1);
    await db.exec('DELETE FROM schema_migrations WHERE version = 900; DROP TABLE t_mig_count;');
  });

  it('a failing migration rolls back completely and is not recorded', async () => {
    const db = getDb();
    const bad = [...migrations, { version: 901, name: 'bad', sql: 'CREATE TABLE t_half (id int); SELECT 1/0;' }];
    await expect(migrate(db, bad)).rejects.toThrow(/division by zero/);
    const { rows } = await db.query(`SELECT 1 FROM schema_migrations WHERE version = 901`);
    expect(rows).toEqual([]);
    const t = await db.query(`SELECT to_regclass('t_half') AS r`);
    expect(t.rows[0]).toEqual({ r: null });
  });
});

describe.runIf(kindsWanted().includes('postgres'))('PostgreSQL: separate processes migrating at once', () => {
  it('three pools racing on a fresh database apply everything exactly once', async () => {
    // A fresh database without the schema: create one, then drop its tables to start empty.
    const t = await createTestDb('postgres');
    try {
      await t.db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
      const dbs: Db[] = await Promise.all([1, 2, 3].map(() => openDb({ databaseUrl: t.url!, poolMax: 2 })));
      try {
        const res = await Promise.all(dbs.map((d) => migrate(d)));
        expect(res.flatMap((r) => r.applied).sort((a, b) => a - b)).toEqual(migrations.map((m) => m.version));
        const { rows } = await t.db.query<{ c: number }>('SELECT count(*)::int AS c FROM schema_migrations');
        expect(rows[0]!.c).toBe(migrations.length);
      } finally {
        await Promise.all(dbs.map((d) => d.close()));
      }
    } finally {
      await t.cleanup();
    }
  });
});
