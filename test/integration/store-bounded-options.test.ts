/**
 * The UI's bounded pool (src/store/db.ts withStatementTimeout) keeps the session settings a
 * DATABASE_URL gives in its own `options` parameter, and adds its own (BOUNDED_SESSION); the
 * main pool has the URL's only. Read back from PostgreSQL's pg_settings.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BOUNDED_SESSION, boundedConnection, openDb, type Db } from '../../src/store/index.js';
import { POSTGRES_URL } from '../helpers/db.js';

let db: Db;

beforeAll(async () => {
  const u = new URL(POSTGRES_URL);
  u.searchParams.set('options', '-c work_mem=7MB -c jit_above_cost=12345');
  u.searchParams.set('application_name', 'b24seg-options-test');
  db = await openDb({ databaseUrl: u.toString(), poolMax: 2 });
});
afterAll(async () => {
  await db?.close();
});

const settings = async (d: Db) => {
  const { rows } = await d.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name`, [['work_mem', ...Object.keys(BOUNDED_SESSION)]]);
  return Object.fromEntries(rows.map((r) => [r.name, r.setting + (r.unit ?? '')]));
};

it('the URL\'s options reach both pools; the bounded pool\'s own settings follow them and win on a shared name', async () => {
  expect(await settings(db.withStatementTimeout(5_000))).toEqual({
    work_mem: '7168kB', jit_above_cost: '20000', jit_inline_above_cost: '-1', jit_optimize_above_cost: '-1', max_parallel_workers_per_gather: '0',
  });
  const main = await settings(db);
  expect(main.work_mem).toBe('7168kB');
  expect(main.jit_above_cost).toBe('12345');
  expect(main.max_parallel_workers_per_gather).toBe('2'); // the server's default
  const { rows } = await db.withStatementTimeout(5_000).query<{ t: string }>(`SELECT current_setting('statement_timeout') AS t`);
  expect(rows[0]!.t).toBe('5s');
});

it('boundedConnection: no options, empty options, a socket path', () => {
  const own = Object.entries(BOUNDED_SESSION).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  expect(boundedConnection('postgres://u@h:5432/d?sslmode=disable')).toEqual({ connectionString: 'postgres://u@h:5432/d?sslmode=disable', options: own });
  expect(boundedConnection('postgres://u@h:5432/d?options=')).toEqual({ connectionString: 'postgres://u@h:5432/d', options: own });
  expect(boundedConnection('postgres://u@h/d?options=-c%20search_path%3Dapp&sslmode=require'))
    .toEqual({ connectionString: 'postgres://u@h/d?sslmode=require', options: `-c search_path=app ${own}` });
  expect(boundedConnection('/var/run/postgresql d')).toEqual({ connectionString: '/var/run/postgresql d', options: own });
});
