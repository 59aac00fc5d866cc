/**
 * Rate limits on the endpoints anyone can call (src/server/rate-limit.ts): /install, /events and
 * POST /api/ui/session, per client address and per member_id, 429 with Retry-After, counted in the
 * database so that two app processes on one database share the counters.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { createTokenCipher, openDb, setTokenCipher, type Db } from '../../src/store/index.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { startApp, type RunningApp } from '../../src/app.js';
import { silentLogger } from '../../src/server/log.js';
import { DEFAULT_LIMITS } from '../../src/server/rate-limit.js';
import { postForm, startPortal, startTestApp, oauthOf, type TestApp } from './server-harness.js';
import { dumpStore, forgedCallback } from './helpers/attack.js';
import axios from 'axios';

setTokenCipher(createTokenCipher(randomBytes(32)));

const big = { points: 10_000, seconds: 60 };

eachDb('security: rate limits', (getDb, ctx) => {
  let emu: RunningEmulator;
  let t: TestApp;
  let first: RunningApp | null = null;
  let second: RunningApp | null = null;
  let db2: Db | null = null;

  beforeAll(async () => {
    emu = await startPortal();
    t = await startTestApp(getDb(), {
      accept: [emu],
      rateLimits: {
        install: { perAddress: { points: 5, seconds: 600 }, perMember: big },
        events: { perAddress: big, perMember: { points: 4, seconds: 60 } },
        session: { perAddress: { points: 6, seconds: 60 }, perMember: { points: 3, seconds: 60 } },
      },
    });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await db2?.close();
    await t?.app.close();
    await emu?.close();
  });

  const forged = (member: string) => forgedCallback({ memberId: member, host: emu.portal.domain, server: oauthOf(emu) });

  it('defaults are set for every limited endpoint', () => {
    for (const k of ['install', 'events', 'session'] as const) {
      expect(DEFAULT_LIMITS[k].perAddress.points).toBeGreaterThan(0);
      expect(DEFAULT_LIMITS[k].perMember.points).toBeGreaterThan(0);
    }
  });

  it('/install per address: the 6th request in the window gets 429 with Retry-After; nothing is stored', async () => {
    const before = await dumpStore(getDb());
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof postForm>> | undefined;
    for (let i = 0; i < 6; i++) {
      last = await postForm(t.http, '/install', forged(`${i}`.repeat(32).slice(0, 32)));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect(last!.data).toEqual({ error: 'RATE_LIMITED', reason: expect.stringMatching(/^too many requests; retry after \d+ s$/) });
    const retry = Number(last!.headers['retry-after']);
    expect(retry).toBeGreaterThan(500);
    expect(retry).toBeLessThanOrEqual(600);
    expect(await dumpStore(getDb())).toEqual(before);
  });

  it('/events per member_id: the 5th event of one member_id in a minute gets 429; another member_id still passes', async () => {
    const ev = (member: string) => ({ event: 'ONCRMDEALUPDATE', data: { FIELDS: { ID: '1' } }, auth: { member_id: member, application_token: 'not-the-token' } });
    const a: number[] = [];
    for (let i = 0; i < 5; i++) a.push((await postForm(t.http, '/events', ev('m'.repeat(32)))).status);
    expect(a).toEqual([401, 401, 401, 401, 429]);
    expect((await postForm(t.http, '/events', ev('n'.repeat(32)))).status).toBe(401);
  });

  it('/api/ui/session: per member_id (3) and per address (6); unknown and known member_ids are counted alike', async () => {
    const post = (member: string) => t.http.post('/api/ui/session', { member_id: member, auth_id: 'x'.repeat(32) });
    const byMember: number[] = [];
    for (let i = 0; i < 4; i++) byMember.push((await post('p'.repeat(32))).status);
    expect(byMember).toEqual([401, 401, 401, 429]);
    // 4 requests so far from this address; 2 more pass, the 7th is over the address limit
    const byAddress = [(await post('q'.repeat(32))).status, (await post('r'.repeat(32))).status, (await post('s'.repeat(32))).status];
    expect(byAddress).toEqual([401, 401, 429]);
  });

  it('two app processes on one database share the counters', async () => {
    const limits = { install: { perAddress: big, perMember: { points: 4, seconds: 600 } } };
    const mk = (db: Db) => startApp({
      db, env: {}, log: silentLogger, workers: false, rateLimits: limits,
      config: { port: 0, host: '127.0.0.1', clientId: t.clientId, clientSecret: t.clientSecret, logLevel: 'error', oauthServerEndpoints: [oauthOf(emu)] },
    });
    // a second process: its own pool on the same database (PGlite: a second handle of its one connection)
    const url = ctx.url();
    db2 = url ? await openDb({ databaseUrl: url, poolMax: 2 }) : null;
    first = await mk(getDb());
    second = await mk(db2 ?? { ...getDb(), close: async () => {} });
    const h1 = axios.create({ baseURL: first.url, validateStatus: () => true });
    const h2 = axios.create({ baseURL: second.url, validateStatus: () => true });
    const body = forged('z'.repeat(32));
    const statuses: number[] = [];
    for (const h of [h1, h2, h1, h2, h1, h2]) statuses.push((await postForm(h, '/install', body)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    const { rows } = await getDb().query<{ points: number }>(`SELECT points FROM rate_limits WHERE key = $1`, [`install:m:${'z'.repeat(32)}`]);
    expect(rows[0]!.points).toBe(6);
  });
});
