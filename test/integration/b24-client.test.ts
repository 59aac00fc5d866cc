/**
 * B24Client against the real emulator: calls and typed errors, batch encoding and
 * splitting, 503/429/5xx/network faults, tight operating budgets, token refresh (proactive,
 * reactive) and dead refresh tokens.
 */
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MemoryTokenSource, refreshAccessToken } from '../../src/b24/auth.js';
import { B24Client } from '../../src/b24/client.js';
import { B24Error, DeadRefreshTokenError } from '../../src/b24/errors.js';
import { exportList } from '../../src/b24/export.js';
import { emulatorStats, resetStats, startTestPortal, type TestPortal } from './b24-helpers.js';

async function exportIds(c: B24Client, entity: 'contact' | 'deal', batchSize?: number): Promise<Set<number>> {
  const s = new Set<number>();
  for await (const p of exportList(c, { entity, select: ['ID'], batchSize })) for (const r of p.rows) s.add(Number(r.ID));
  return s;
}

describe('calls, batches and errors', () => {
  let tp: TestPortal;
  beforeAll(async () => { tp = await startTestPortal({ contacts: 500, deals: 1500, timeScale: 100 }); });
  afterAll(async () => { await tp?.emu.close(); });

  it('call validates the result with zod and reports typed errors', async () => {
    const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: 100 } });
    const p = await c.call('profile', {}, z.object({ ID: z.coerce.number(), ADMIN: z.boolean() }));
    expect(p.ID).toBe(1);
    await expect(c.call('no.such.method')).rejects.toMatchObject({ code: 'ERROR_METHOD_NOT_FOUND', status: 404 });
    const e = await c.call('crm.contact.get', { id: 999999 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(B24Error);
    expect((e as B24Error).status).toBe(400);
    await expect(c.call('profile', {}, z.object({ NOPE: z.string() }))).rejects.toMatchObject({ code: 'BAD_RESULT' });
  });

  it('nested filter/select params mean the same inside a batch as in a direct JSON call', async () => {
    const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: 100 } });
    const params = { filter: { '@ID': [3, 5, 8, 13, 21], '>=ID': 4 }, select: ['ID', 'NAME', 'LAST_NAME', 'PHONE'], order: { ID: 'DESC' }, start: -1 };
    const direct = await c.call<Array<Record<string, unknown>>>('crm.contact.list', params);
    const b = await c.batch({ a: ['crm.contact.list', params] });
    expect(b.errors).toEqual({});
    expect(b.results.a).toEqual(direct);
    expect(direct.map((r) => r.ID)).toEqual(['21', '13', '8', '5']);
  });

  it('splits more than 50 commands into several requests and reports per-command errors', async () => {
    const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: 100 } });
    const cmds = Array.from({ length: 120 }, (_, i) => ['crm.contact.get', { id: i === 70 ? 999999 : i + 1 }] as const);
    const r = await c.batch(cmds);
    expect(c.counters.batches).toBe(3);
    expect(Object.keys(r.results)).toHaveLength(119);
    expect(r.errors['70']).toBeInstanceOf(B24Error);
    expect((r.results['0'] as { ID: string }).ID).toBe('1');
    // halt stops at the first failure and sends no further chunks
    const h = await c.batch(cmds, { halt: true });
    expect(Object.keys(h.results)).toHaveLength(50 + 20);
    expect(c.counters.batches).toBe(5);
  });

  it('$result references between commands work through the client', async () => {
    const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: 100 } });
    const r = await c.batch({
      first: ['crm.contact.list', { order: { ID: 'ASC' }, select: ['ID'], start: -1 }],
      second: ['crm.contact.list', { order: { ID: 'ASC' }, select: ['ID'], start: -1, filter: { '>ID': '$result[first][49][ID]' } }],
    });
    expect((r.results.second as Array<{ ID: string }>)[0]?.ID).toBe('51');
  });
});

describe('faults and limits', () => {
  let tp: TestPortal;
  const TS = 1000;
  beforeAll(async () => { tp = await startTestPortal({ contacts: 2000, deals: 6000, timeScale: TS, accessTokenTtl: 10 * 86400 }); });
  afterAll(async () => { await tp?.emu.close(); });
  const faults = (spec: string) => axios.post(`${tp.emu.url}_emulator/faults`, { spec });

  it('injected 503s are absorbed by the bucket backoff', async () => {
    await faults('503=0.3,seed=3');
    try {
      const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: TS } });
      expect((await exportIds(c, 'deal', 10)).size).toBe(tp.emu.portal.deals.size);
      expect(c.counters.rateLimited503).toBeGreaterThan(0);
      expect(c.limiter.stats.waitedBucketMs).toBeGreaterThan(0);
    } finally { await faults('off'); }
  });

  it('injected 429s make the method wait for its reset and retry', async () => {
    await faults('429=0.2,seed=5');
    try {
      const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: TS }, maxOperatingRetries: 6 });
      expect((await exportIds(c, 'contact', 10)).size).toBe(tp.emu.portal.contacts.size);
      expect(c.counters.operatingLimited429).toBeGreaterThan(0);
      expect(c.limiter.stats.waitedOperatingMs).toBeGreaterThan(0);
    } finally { await faults('off'); }
  });

  it('500s and dropped connections on reads are retried with backoff', async () => {
    await faults('500=0.15,reset=0.1,seed=9');
    try {
      const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: TS }, retryBaseMs: 5, maxRetries: 8 });
      expect((await exportIds(c, 'contact', 10)).size).toBe(tp.emu.portal.contacts.size);
      expect(c.counters.serverErrors + c.counters.networkErrors).toBeGreaterThan(0);
    } finally { await faults('off'); }
  });

  it('a write is not retried after the connection dropped once the request was sent', async () => {
    await faults('reset=1,method=crm.contact.update');
    try {
      const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: TS }, retryBaseMs: 1 });
      const e = await c.call('crm.contact.update', { id: 1, fields: { POST: 'x' } }).catch((x: unknown) => x);
      expect(e).toMatchObject({ name: 'B24NetworkError', maybeSent: true });
      expect(c.counters.requests).toBe(1);
    } finally { await faults('off'); }
  });

  it('a tight operating budget mirrored by the client: free single pages past it, zero 429', async () => {
    await axios.post(`${tp.emu.url}_emulator/limits`, { operatingLimit: 1 });
    await resetStats(tp.emu, true);
    try {
      // ~30 ID pages of 0.065 s (≈ 2 s) against a 1 s budget per 10 min: once the budget is used,
      // a page alone is under the 0.1 s floor, so the client goes on with free requests
      const pages = Math.ceil(tp.emu.portal.deals.size / 50);
      expect(pages * (0.03 + 0.0007 * 50)).toBeGreaterThan(1.5);
      const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: TS, operatingLimitSec: 1 } });
      expect((await exportIds(c, 'deal')).size).toBe(tp.emu.portal.deals.size);
      const s = await emulatorStats(tp.emu);
      expect(s.rejected429).toBe(0);
      expect(s.rejected503).toBe(0);
      // pages went out alone, under the floor (the portal clock runs ×1000 here, so windows also pass)
      const m = s.methods['crm.deal.list'] as { operatingSeconds: number; uncharged?: number };
      expect(m.uncharged).toBeGreaterThan(0);
      // learned from the answers: between an empty page (0.03 s) and a full one (0.065 s)
      expect(c.limiter.costPerCall('crm.deal.list')).toBeGreaterThan(0.03);
      expect(c.limiter.costPerCall('crm.deal.list')).toBeLessThanOrEqual(0.03 + 0.0007 * 50 + 1e-9);
    } finally { await axios.post(`${tp.emu.url}_emulator/limits`, { operatingLimit: 480 }); }
  });

  it('a tight budget and calls above the floor: the client waits for the reset, zero 429', async () => {
    await axios.post(`${tp.emu.url}_emulator/limits`, { operatingLimit: 2, costs: { methods: { 'crm.deal.list': 0.15 } } });
    await resetStats(tp.emu, true);
    try {
      // ~30 pages × 0.15 s ≈ 4.5 s against 2 s per 10 min: no page is free, so windows must pass
      expect(Math.ceil(tp.emu.portal.deals.size / 50) * 0.15).toBeGreaterThan(4);
      const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: TS, operatingLimitSec: 2 } });
      expect((await exportIds(c, 'deal')).size).toBe(tp.emu.portal.deals.size);
      const s = await emulatorStats(tp.emu);
      expect(s.rejected429).toBe(0);
      expect(s.rejected503).toBe(0);
      expect(c.limiter.stats.waitedOperatingMs).toBeGreaterThan(0);
      // the 10-minute windows really passed on the portal clock
      expect(s.clock.elapsedSeconds).toBeGreaterThan(600);
    } finally { await axios.post(`${tp.emu.url}_emulator/limits`, { operatingLimit: 480, costs: { methods: { 'crm.deal.list': null } } }); }
  });

  it('a budget the client does not know about: the 429s inside batches are waited out', async () => {
    await axios.post(`${tp.emu.url}_emulator/limits`, { operatingLimit: 5 });
    await resetStats(tp.emu, true);
    try {
      const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: TS }, maxOperatingRetries: 10 });
      expect((await exportIds(c, 'deal')).size).toBe(tp.emu.portal.deals.size);
      const s = await emulatorStats(tp.emu);
      expect(s.rejected429).toBeGreaterThan(0);
      expect(c.counters.operatingLimited429).toBeGreaterThan(0);
    } finally { await axios.post(`${tp.emu.url}_emulator/limits`, { operatingLimit: 480 }); }
  });
});

describe('tokens', () => {
  let tp: TestPortal;
  const TS = 100;
  // access tokens live 60 portal seconds; the portal clock is frozen (moves only when a test
  // advances it), so when a token expires is decided by the test, not by the machine's speed
  beforeAll(async () => { tp = await startTestPortal({ contacts: 2000, deals: 8000, timeScale: TS, accessTokenTtl: 60, frozenClock: true }); });
  afterAll(async () => { await tp?.emu.close(); });

  async function freshTokens(o: { knownExpiry: boolean }): Promise<MemoryTokenSource> {
    // a new pair through the refresh grant (rotates tp's refresh token)
    const t = await refreshAccessToken({ serverEndpoint: `${tp.emu.url}rest/`, clientId: tp.clientId, clientSecret: tp.clientSecret, refreshToken: tp.refreshToken });
    tp.refreshToken = t.refreshToken;
    return new MemoryTokenSource({
      accessToken: t.accessToken, refreshToken: t.refreshToken, clientEndpoint: t.clientEndpoint, clientId: tp.clientId, clientSecret: tp.clientSecret,
      serverEndpoint: t.serverEndpoint, expiresAt: o.knownExpiry ? t.expiresAt : undefined,
      onRefresh: (n) => { tp.refreshToken = n.refreshToken; },
    });
  }

  it('a token that expires mid-export is refreshed before expiry and the export completes', async () => {
    const tokens = await freshTokens({ knownExpiry: true });
    const events: string[] = [];
    const c = new B24Client({ tokens, limiter: { timeScale: TS }, refreshLeadSec: 10, log: (e) => { if (e.startsWith('token.')) events.push(e); } });
    const ids = new Set<number>();
    const JUMPS_AFTER_PAGE = [1, 5, 9]; // the export has ~33 pages (8000 deals, 5 × 50 rows per batch)
    let page = 0;
    for await (const p of exportList(c, { entity: 'deal', select: ['ID'], batchSize: 5 })) {
      for (const r of p.rows) ids.add(Number(r.ID));
      page++;
      if (JUMPS_AFTER_PAGE.includes(page)) {
        // between two batches (none in flight): the token in use now has 5 portal seconds
        // left, less than the 10 s lead. The next batch still goes out with it and tells the
        // client the portal's time; the one after must refresh first.
        const left = (await tokens.get()).expiresAt - tp.emu.portal.clock.now();
        expect(left).toBeGreaterThan(5000);
        tp.emu.portal.clock.advance(left - 5000);
      }
    }
    expect(page).toBeGreaterThan(JUMPS_AFTER_PAGE.at(-1)! + 2);
    expect(ids.size).toBe(tp.emu.portal.deals.size);
    // one refresh per jump at least (the client's own estimate of portal time runs on wall
    // time, so a long stall of this process may make it refresh once more, early: harmless)
    expect(tokens.refreshCount).toBeGreaterThanOrEqual(JUMPS_AFTER_PAGE.length);
    // refreshed before expiry: proactively, the portal never answered expired_token
    expect(events.filter((e) => e === 'token.refresh-proactive').length).toBeGreaterThanOrEqual(JUMPS_AFTER_PAGE.length);
    expect(events).not.toContain('token.refresh-reactive');
  });

  it('without a known expiry the 401 expired_token triggers one refresh and a retry', async () => {
    const tokens = await freshTokens({ knownExpiry: false });
    const c = new B24Client({ tokens, limiter: { timeScale: TS } });
    await axios.post(`${tp.emu.url}_emulator/clock/advance`, { seconds: 120 }); // the token is dead now
    expect((await exportIds(c, 'contact', 5)).size).toBe(tp.emu.portal.contacts.size);
    expect(tokens.refreshCount).toBeGreaterThan(0);
  });

  it('concurrent 401s share one refresh', async () => {
    const tokens = await freshTokens({ knownExpiry: false });
    const c = new B24Client({ tokens, limiter: { timeScale: TS }, log: (e, d) => { if (process.env.B24_DEBUG) console.log(e, d); } });
    await axios.post(`${tp.emu.url}_emulator/clock/advance`, { seconds: 120 });
    await Promise.all(Array.from({ length: 5 }, () => c.call('profile')));
    expect(tokens.refreshCount).toBe(1);
  });

  it('a dead (rotated) refresh token surfaces as DeadRefreshTokenError', async () => {
    const used = tp.refreshToken;
    const t = await refreshAccessToken({ serverEndpoint: `${tp.emu.url}rest/`, clientId: tp.clientId, clientSecret: tp.clientSecret, refreshToken: used });
    tp.refreshToken = t.refreshToken;
    await expect(refreshAccessToken({ serverEndpoint: `${tp.emu.url}rest/`, clientId: tp.clientId, clientSecret: tp.clientSecret, refreshToken: used }))
      .rejects.toBeInstanceOf(DeadRefreshTokenError);
    // through the client: expired access token + dead refresh token
    const tokens = new MemoryTokenSource({ accessToken: t.accessToken, refreshToken: used, clientEndpoint: t.clientEndpoint, clientId: tp.clientId, clientSecret: tp.clientSecret, serverEndpoint: t.serverEndpoint });
    await axios.post(`${tp.emu.url}_emulator/clock/advance`, { seconds: 120 });
    const c = new B24Client({ tokens, limiter: { timeScale: TS } });
    await expect(c.call('profile')).rejects.toBeInstanceOf(DeadRefreshTokenError);
  });
});
