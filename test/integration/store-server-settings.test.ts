/**
 * The PostgreSQL settings the app warns about at start (src/store/server-settings.ts, logged by
 * src/main.ts): autovacuum and track_counts off. Read against the real server (its answer must match
 * what pg_settings says, read here on its own), and the decision over both answers of a server.
 */
import { expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { serverWarnings, type Db } from '../../src/store/index.js';

eachDb('server settings checked at start', (getDb, { kind }) => {
  it('warns exactly for the settings the server has off (PGlite: none)', async () => {
    const db = getDb();
    const w = await serverWarnings(db);
    if (kind === 'pglite') {
      expect(w).toEqual([]);
      return;
    }
    const av = (await db.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]!.autovacuum;
    const tc = (await db.query<{ track_counts: string }>('SHOW track_counts')).rows[0]!.track_counts;
    expect(w.map((x) => `${x.setting}=${x.value}`)).toEqual([...(av === 'off' ? ['autovacuum=off'] : []), ...(tc === 'off' ? ['track_counts=off'] : [])]);
  });
});

it('a server with autovacuum off gets one warning that says why; one with it on gets none', async () => {
  const server = (autovacuum: string): Pick<Db, 'kind' | 'query'> => ({
    kind: 'postgres',
    query: (async () => ({ rows: [{ name: 'autovacuum', setting: autovacuum }, { name: 'track_counts', setting: 'on' }] })) as unknown as Db['query'],
  });
  const off = await serverWarnings(server('off'));
  expect(off.map((x) => [x.setting, x.value])).toEqual([['autovacuum', 'off']]);
  expect(off[0]!.why).toMatch(/statistics/);
  expect(await serverWarnings(server('on'))).toEqual([]);
});
