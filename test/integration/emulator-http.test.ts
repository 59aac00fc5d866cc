/**
 * The emulator's HTTP face over real HTTP on 127.0.0.1: routing, auth, CORS, OAuth,
 * envelopes, batch, leaky bucket, operating budget, faults.
 *
 * Most tests use a portal clock whose wall source is frozen (time only moves by
 * `clock.advance`), so the limit arithmetic is exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PortalClock } from '../../src/emulator/clock.js';
import { FaultSpecError, parseFaultSpec } from '../../src/emulator/faults.js';
import { substituteMacros } from '../../src/emulator/http/rest.js';
import { addContact } from '../../src/emulator/methods/index.js';
import type { LimitsOptions } from '../../src/emulator/limits.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator, type StartOptions } from '../../src/emulator/server.js';
import { issueTokens } from '../../src/emulator/tokens.js';

const T0 = Date.UTC(2025, 5, 2, 9, 0, 0);
const running: RunningEmulator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

interface Setup {
  emu: RunningEmulator;
  portal: Portal;
  clientId: string;
  clientSecret: string;
  token: string;
  refresh: string;
  rest: string; // http://127.0.0.1:PORT/rest/
}

const NAMES = ['Alexander', 'Boris', 'Clara', 'Dmitry', 'Elena', 'Fedor', 'Galina'];

async function setup(opts: Partial<StartOptions> & { contacts?: number; limits?: LimitsOptions } = {}): Promise<Setup> {
  const portal = opts.portal ?? new Portal({ clock: new PortalClock(T0, 1, () => 0) });
  const emu = await startEmulator({ hostPage: false, ...opts, portal, log: () => undefined });
  running.push(emu);
  for (let i = 0; i < (opts.contacts ?? 7); i++) {
    addContact(portal, { name: NAMES[i % NAMES.length] ?? 'X', lastName: `L${i + 1}` }, 1);
  }
  const res = await fetch(`${emu.url}_emulator/apps/install`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user'], mode: 'wizard', clientId: 'local.test.app', clientSecret: 'sekret' }),
  });
  expect(res.status).toBe(201);
  await fetch(`${emu.url}_emulator/apps/local.test.app/install-finish`, { method: 'POST' });
  const tok = issueTokens(portal, 'local.test.app', 1);
  return { emu, portal, clientId: 'local.test.app', clientSecret: 'sekret', token: tok.accessToken, refresh: tok.refreshToken, rest: `${emu.url}rest/` };
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, headers: r.headers };
}

function postJson(url: string, body: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  return getJson(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

function postForm(url: string, body: string): Promise<{ status: number; body: any; headers: Headers }> {
  return getJson(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
}

describe('routing', () => {
  it('serves /rest/m, .json, //, case-insensitive names and the webhook form', async () => {
    const s = await setup();
    const hook = s.emu.webhookUrl;
    expect(hook).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/rest\/1\/[0-9a-f]{16}\/$/);
    const urls = [
      `${s.rest}profile?auth=${s.token}`,
      `${s.rest}profile.json?auth=${s.token}`,
      `${s.emu.url}rest//profile?auth=${s.token}`,
      `${s.rest}PROFILE.JSON?auth=${s.token}`,
      `${hook}profile`,
      `${hook}Profile.json`,
      `${hook.replace(/\/$/, '')}//profile`,
    ];
    for (const u of urls) {
      const r = await getJson(u);
      expect(r.status, u).toBe(200);
      expect(r.body.result.ID, u).toBe('1');
      expect(r.body.result.ADMIN, u).toBe(true);
    }
  });

  it('answers unknown methods with 404 ERROR_METHOD_NOT_FOUND', async () => {
    const s = await setup();
    const r = await getJson(`${s.emu.webhookUrl}crm.nothing.here`);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' });
    const r2 = await getJson(`${s.emu.url}rest/`);
    expect(r2.status).toBe(404);
  });

  it('wraps results in the envelope with a full time block; lists carry total and next', async () => {
    const s = await setup({ contacts: 60 });
    const r = await getJson(`${s.rest}crm.contact.list?auth=${s.token}&select[]=ID`);
    expect(r.status).toBe(200);
    expect(r.body.result).toHaveLength(50);
    expect(r.body.total).toBe(60);
    expect(r.body.next).toBe(50);
    const t = r.body.time;
    expect(Object.keys(t).sort()).toEqual(['date_finish', 'date_start', 'duration', 'finish', 'operating', 'operating_reset_at', 'processing', 'start']);
    expect(t.start).toBe(T0 / 1000);
    // list cost model: 0.03 s + 0.0007 s × 50 rows + 2.1e-5 s × 60 counted rows (no start: a counted page)
    const processing = 0.03 + 0.0007 * 50 + 2.1e-5 * 60;
    expect(t.processing).toBeCloseTo(processing, 9);
    expect(t.duration).toBeCloseTo(processing + 0.01, 9); // + the request's overhead
    expect(t.finish).toBeCloseTo(T0 / 1000 + processing + 0.01, 6);
    expect(t.date_start).toBe('2025-06-02T09:00:00+00:00');
    expect(t.operating).toBe(0); // 0.066 s <= 0.1 s: not counted
    expect(t.operating_reset_at).toBe(T0 / 1000 + 600);
    const last = await getJson(`${s.rest}crm.contact.list?auth=${s.token}&start=50`);
    expect(last.body.result).toHaveLength(10);
    expect(last.body.total).toBe(60);
    expect('next' in last.body).toBe(false);
    const one = await getJson(`${s.rest}profile?auth=${s.token}`);
    expect('total' in one.body).toBe(false);
  });
});

describe('auth and parameters', () => {
  it('takes auth from the query, a JSON body and a form body; merges query and body', async () => {
    const s = await setup();
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).status).toBe(200);
    expect((await postJson(`${s.rest}profile`, { auth: s.token })).status).toBe(200);
    expect((await postForm(`${s.rest}profile`, `auth=${s.token}`)).status).toBe(200);
    // PHP brackets in a form body
    const f = await postForm(`${s.rest}crm.contact.list`, `auth=${s.token}&filter%5BID%5D=2&select[]=ID&select[]=NAME`);
    expect(f.status).toBe(200);
    expect(f.body.result).toEqual([{ ID: '2', NAME: 'Boris' }]);
    // query (select, auth) merged with JSON body (filter)
    const m = await postJson(`${s.rest}crm.contact.list?auth=${s.token}&select[]=ID`, { filter: { '>ID': 5 } });
    expect(m.status).toBe(200);
    expect(m.body.result).toEqual([{ ID: '6' }, { ID: '7' }]);
    // a JSON-looking body without the JSON content type is form-parsed, so auth is not found
    const notJson = await getJson(`${s.rest}profile`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ auth: s.token }) });
    expect(notJson.status).toBe(401);
  });

  it('answers CORS preflights and adds Access-Control-Allow-Origin', async () => {
    const s = await setup();
    const pre = await fetch(`${s.rest}profile`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://127.0.0.1:5173', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    expect(pre.headers.get('access-control-allow-headers')).toBe('content-type');
    const r = await postJson(`${s.rest}profile`, { auth: s.token });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const err = await getJson(`${s.rest}profile?auth=nope`);
    expect(err.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('rejects unknown tokens and webhook secrets with 401 NO_AUTH_FOUND', async () => {
    const s = await setup();
    const noAuth = { error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' };
    for (const u of [`${s.rest}profile?auth=deadbeef`, `${s.rest}profile`, `${s.emu.url}rest/1/wrongsecret/profile`, `${s.emu.url}rest/2/${s.emu.webhookUrl.split('/')[5]}/profile`]) {
      const r = await getJson(u);
      expect(r.status, u).toBe(401);
      expect(r.body, u).toEqual(noAuth);
    }
  });

  it('expires access tokens on the portal clock (expired_token after the TTL)', async () => {
    const s = await setup();
    s.portal.clock.advance(3599_000);
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).status).toBe(200);
    s.portal.clock.advance(1_000);
    const r = await getJson(`${s.rest}profile?auth=${s.token}`);
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: 'expired_token', error_description: 'The access token provided has expired' });
  });

  it('honours a configurable access-token TTL', async () => {
    const portal = new Portal({ clock: new PortalClock(T0, 1, () => 0), accessTokenTtl: 60 });
    const s = await setup({ portal });
    s.portal.clock.advance(60_000);
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).body.error).toBe('expired_token');
  });

  it('stops accepting tokens of an uninstalled app', async () => {
    const s = await setup();
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).status).toBe(200);
    const u = await postJson(`${s.emu.url}_emulator/apps/${s.clientId}/uninstall`, { clean: false });
    expect(u.status).toBe(200);
    const r = await getJson(`${s.rest}profile?auth=${s.token}`);
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('NO_AUTH_FOUND');
  });
});

describe('OAuth server', () => {
  it('refreshes with rotation over GET; the old refresh token is dead afterwards', async () => {
    const s = await setup();
    s.portal.clock.advance(5000_000);
    const q = (rt: string): string => `${s.emu.url}oauth/token/?grant_type=refresh_token&client_id=${s.clientId}&client_secret=${s.clientSecret}&refresh_token=${rt}`;
    const r = await getJson(q(s.refresh));
    expect(r.status).toBe(200);
    const now = s.portal.clock.now();
    expect(r.body).toEqual({
      access_token: expect.stringMatching(/^[0-9a-f]{48}$/),
      refresh_token: expect.stringMatching(/^[0-9a-f]{48}$/),
      expires: Math.floor(now / 1000) + 3600,
      expires_in: 3600,
      scope: 'crm,user',
      domain: 'oauth.bitrix.info',
      server_endpoint: s.rest,
      status: 'L',
      client_endpoint: s.rest,
      member_id: s.portal.memberId,
      user_id: 1,
    });
    expect(r.body.refresh_token).not.toBe(s.refresh);
    expect((await getJson(`${s.rest}profile?auth=${r.body.access_token}`)).status).toBe(200);
    const again = await getJson(q(s.refresh));
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ error: 'invalid_grant', error_description: 'Invalid grant' });
    // the rotated one works once, over POST form (what the SDK sends)
    const viaPost = await postForm(`${s.emu.url}oauth/token/`, `grant_type=refresh_token&client_id=${s.clientId}&client_secret=${s.clientSecret}&refresh_token=${r.body.refresh_token}`);
    expect(viaPost.status).toBe(200);
    expect(viaPost.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('names the OAuth server the portal is set up with (portal.serverEndpoint) as server_endpoint, as a real portal names oauth.bitrix.info', async () => {
    const s = await setup();
    s.portal.serverEndpoint = 'https://oauth.bitrix.info/rest/';
    const r = await getJson(`${s.emu.url}oauth/token/?grant_type=refresh_token&client_id=${s.clientId}&client_secret=${s.clientSecret}&refresh_token=${s.refresh}`);
    expect(r.status).toBe(200);
    expect(r.body.server_endpoint).toBe('https://oauth.bitrix.info/rest/');
    expect(r.body.client_endpoint).toBe(s.rest);
  });

  it('answers invalid_client for a wrong secret or unknown client, invalid_request for missing fields', async () => {
    const s = await setup();
    const bad = await getJson(`${s.emu.url}oauth/token/?grant_type=refresh_token&client_id=${s.clientId}&client_secret=WRONG&refresh_token=${s.refresh}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_client');
    const unknown = await getJson(`${s.emu.url}oauth/token?grant_type=refresh_token&client_id=app.nope&client_secret=x&refresh_token=${s.refresh}`);
    expect(unknown.body.error).toBe('invalid_client');
    const missing = await getJson(`${s.emu.url}oauth/token/?grant_type=refresh_token`);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    // the refresh token was not consumed by the failed attempts
    const ok = await getJson(`${s.emu.url}oauth/token/?grant_type=refresh_token&client_id=${s.clientId}&client_secret=${s.clientSecret}&refresh_token=${s.refresh}`);
    expect(ok.status).toBe(200);
  });

  it('exchanges an authorization code once, within 30 portal seconds', async () => {
    const s = await setup();
    const mint = async (): Promise<string> => (await postJson(`${s.emu.url}_emulator/apps/${s.clientId}/auth-code`, {})).body.code;
    const code = await mint();
    const url = (c: string): string => `${s.emu.url}oauth/token/?grant_type=authorization_code&client_id=${s.clientId}&client_secret=${s.clientSecret}&code=${c}`;
    const r = await getJson(url(code));
    expect(r.status).toBe(200);
    expect(r.body.user_id).toBeUndefined();
    expect(r.body.expires).toBeUndefined();
    expect((await getJson(`${s.rest}profile?auth=${r.body.access_token}`)).status).toBe(200);
    expect((await getJson(url(code))).body.error).toBe('invalid_grant');
    const late = await mint();
    s.portal.clock.advance(30_000);
    expect((await getJson(url(late))).body.error).toBe('invalid_grant');
  });
});

describe('batch', () => {
  it('resolves $result macros: whole-value (array too) and inside a string only for strings', async () => {
    const s = await setup();
    const r = await postJson(`${s.rest}batch`, {
      auth: s.token,
      halt: 0,
      cmd: {
        u: 'user.current',
        g: 'crm.contact.get?id=1',
        byArray: 'crm.contact.list?select[]=ID&filter[@ID]=$result[u][UF_DEPARTMENT]',
        byScalar: 'crm.contact.list?select[]=ID&filter[ID]=$result[g][ID]',
        inString: 'crm.contact.list?select[]=ID&filter[=%NAME]=$result[g][NAME]%',
        nonString: 'crm.contact.list?select[]=ID&filter[=%NAME]=$result[u][UF_DEPARTMENT]%',
      },
    });
    expect(r.status).toBe(200);
    const b = r.body.result;
    expect(b.result_error).toEqual([]);
    expect(b.result.u.UF_DEPARTMENT).toEqual([1]);
    expect(b.result.byArray).toEqual([{ ID: '1' }]);
    expect(b.result.byScalar).toEqual([{ ID: '1' }]);
    expect(b.result.inString).toEqual([{ ID: '1' }]); // NAME LIKE 'Alexander%'
    expect(b.result.nonString).toEqual([]); // macro left as text: NAME LIKE '$result[u][UF_DEPARTMENT]%'
    expect(b.result_total).toEqual({ byArray: 1, byScalar: 1, inString: 1, nonString: 0 });
    expect(b.result_next).toEqual([]);
    expect(Object.keys(b.result_time)).toEqual(['u', 'g', 'byArray', 'byScalar', 'inString', 'nonString']);
    expect(b.result_time.byArray.processing).toBeCloseTo(0.03 + 0.0007 * 1 + 2.1e-5 * 1, 9); // one row, one counted
    expect(r.body.time.processing).toBeGreaterThan(0);
  });

  it('substituteMacros: exact replacement rules', () => {
    const res = new Map<string, unknown>([['a', { ID: '5', L: [1, 2], N: 7 }]]);
    expect(substituteMacros({ x: '$result[a][L]', y: 'id-$result[a][ID]-$result[a][N]', z: ['$result[a][ID]', '$result[b][ID]'] }, res))
      .toEqual({ x: [1, 2], y: 'id-5-$result[a][N]', z: ['5', '$result[b][ID]'] });
  });

  it('halt stops after the first failing command; without halt the rest runs', async () => {
    const s = await setup();
    const cmd = { a: 'profile', bad: 'crm.contact.get?id=99999', c: 'profile' };
    const on = (await postJson(`${s.rest}batch`, { auth: s.token, halt: 1, cmd })).body.result;
    expect(Object.keys(on.result)).toEqual(['a']);
    expect(Object.keys(on.result_error)).toEqual(['bad']);
    expect(on.result_error.bad.error_description).toBe('Not found');
    const off = (await postJson(`${s.rest}batch`, { auth: s.token, halt: 0, cmd })).body.result;
    expect(Object.keys(off.result)).toEqual(['a', 'c']);
    expect(Object.keys(off.result_error)).toEqual(['bad']);
    // halt as a form string "0" is false in PHP
    const form = (await postForm(`${s.rest}batch`, `auth=${s.token}&halt=0&cmd[a]=profile&cmd[bad]=crm.contact.get%3Fid%3D99999&cmd[c]=profile`)).body.result;
    expect(Object.keys(form.result)).toEqual(['a', 'c']);
  });

  it('gives commands 51+ ERROR_BATCH_LENGTH_EXCEEDED and keeps the first 50', async () => {
    const s = await setup();
    const cmd: Record<string, string> = {};
    for (let i = 0; i < 52; i++) cmd[`k${i}`] = 'profile';
    const r = await postJson(`${s.rest}batch`, { auth: s.token, cmd });
    expect(r.status).toBe(200);
    const b = r.body.result;
    expect(Object.keys(b.result)).toHaveLength(50);
    expect(b.result.k49.ID).toBe('1');
    expect(b.result_error).toEqual({
      k50: { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' },
      k51: { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' },
    });
    // array cmd: result is a JSON list when every command succeeded
    const arr = (await postJson(`${s.rest}batch`, { auth: s.token, cmd: Array.from({ length: 51 }, () => 'profile') })).body.result;
    expect(Array.isArray(arr.result)).toBe(true);
    expect(arr.result).toHaveLength(50);
    expect(arr.result_error).toEqual({ 50: { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' } });
  });

  it('refuses nested batch, serialises empty sections as [] and works over the webhook', async () => {
    const s = await setup();
    const r = await postJson(`${s.emu.webhookUrl}batch`, { cmd: { a: 'batch?cmd[x]=profile', b: 'profile' } });
    expect(r.status).toBe(200);
    expect(r.body.result.result_error.a.error).toBe('ERROR_BATCH_METHOD_NOT_ALLOWED');
    expect(r.body.result.result.b.ID).toBe('1');
    const empty = (await postJson(`${s.rest}batch`, { auth: s.token, cmd: {} })).body.result;
    expect(empty).toEqual({ result: [], result_error: [], result_total: [], result_next: [], result_time: [] });
  });
});

describe('leaky bucket (portal clock)', () => {
  it('lets 50 quick requests pass, refuses the 51st with 503, drains 2 per portal second', async () => {
    const s = await setup();
    for (let i = 0; i < 50; i++) {
      const r = await getJson(`${s.rest}profile?auth=${s.token}`);
      expect(r.status, `request ${i + 1}`).toBe(200);
    }
    const refused = await getJson(`${s.rest}profile?auth=${s.token}`);
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' });
    s.portal.clock.advance(1000);
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).status).toBe(200);
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).status).toBe(200);
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).status).toBe(503);
    // the webhook shares the portal's bucket
    expect((await getJson(`${s.emu.webhookUrl}profile`)).status).toBe(503);
    const st = (await getJson(`${s.emu.url}_emulator/stats`)).body;
    expect(st.limits.requests).toBe(55);
    expect(st.limits.rejected503).toBe(3);
    expect(st.limits.bucket).toEqual({ counter: 50, burst: 50, drain: 2 });
    expect(st.limits.methods.profile.calls).toBe(52);
    expect(st.clock.now).toBe(T0 + 1000);
  });

  it('counts a batch of 50 commands as one request', async () => {
    const s = await setup();
    for (let i = 0; i < 49; i++) expect((await getJson(`${s.rest}profile?auth=${s.token}`)).status).toBe(200);
    const b = await postJson(`${s.rest}batch`, { auth: s.token, cmd: Array.from({ length: 50 }, () => 'profile') });
    expect(b.status).toBe(200);
    expect(b.body.result.result).toHaveLength(50);
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).status).toBe(503);
  });

  it('uses the enterprise bucket (250 @ 5/s) for enterprise portals', async () => {
    const s = await setup({ plan: 'enterprise' });
    const st = (await getJson(`${s.emu.url}_emulator/stats`)).body;
    expect(st.limits.bucket).toEqual({ counter: 0, burst: 250, drain: 5 });
  });
});

describe('operating budget (portal clock)', () => {
  it('blocks one method × app past 480 s with 429 until its buckets expire', async () => {
    const s = await setup({ limits: { noRateLimit: true, costs: { methods: { 'crm.contact.list': 100 } } } });
    let last: any = null;
    for (let i = 1; i <= 5; i++) {
      const r = await getJson(`${s.rest}crm.contact.list?auth=${s.token}`);
      expect(r.status, `call ${i}`).toBe(200);
      expect(r.body.time.operating).toBe(100 * i);
      last = r.body;
    }
    expect(last.time.operating_reset_at).toBe(T0 / 1000 + 600);
    const blocked = await getJson(`${s.rest}crm.contact.list?auth=${s.token}`);
    expect(blocked.status).toBe(429);
    expect(blocked.body).toEqual({ error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' });
    // other methods of the same app, and the same method through the webhook, are unaffected
    expect((await getJson(`${s.rest}crm.contact.get?id=1&auth=${s.token}`)).status).toBe(200);
    expect((await getJson(`${s.emu.webhookUrl}crm.contact.list`)).status).toBe(200);
    // inside a batch the command gets the error, the batch itself is 200
    const b = await postJson(`${s.rest}batch`, { auth: s.token, cmd: { l: 'crm.contact.list', p: 'profile' } });
    expect(b.status).toBe(200);
    expect(b.body.result.result_error.l.error).toBe('OPERATION_TIME_LIMIT');
    expect(b.body.result.result.p.ID).toBe('1');
    s.portal.clock.advance(599_999);
    expect((await getJson(`${s.rest}crm.contact.list?auth=${s.token}`)).status).toBe(429);
    s.portal.clock.advance(1);
    const again = await getJson(`${s.rest}crm.contact.list?auth=${s.token}`);
    expect(again.status).toBe(200);
    expect(again.body.time.operating).toBe(100);
    const st = (await getJson(`${s.emu.url}_emulator/stats`)).body;
    expect(st.limits.rejected429).toBe(3);
    expect(st.limits.methods['crm.contact.list'].rejected429).toBe(3);
  });

  it('sums calendar-minute buckets: the current minute and the 9 before it', async () => {
    const s = await setup({ limits: { noRateLimit: true, costs: { methods: { 'crm.contact.list': 240 } } } });
    const call = (): Promise<{ status: number; body: any }> => getJson(`${s.rest}crm.contact.list?auth=${s.token}`);
    s.portal.clock.advance(30_000);
    expect((await call()).body.time.operating).toBe(240); // minute 09:00 (called at 09:00:30)
    s.portal.clock.advance(5 * 60_000);
    const second = await call(); // minute 09:05
    expect(second.body.time.operating).toBe(480);
    expect(second.body.time.operating_reset_at).toBe(T0 / 1000 + 600); // 09:00 drops at 09:10:00
    expect((await call()).body.time.operating).toBe(720); // 480 is not above 480: admitted
    expect((await call()).status).toBe(429);
    s.portal.clock.advance(4 * 60_000 + 29_999); // 09:09:59.999: minute 09:00 still counts
    expect((await call()).status).toBe(429);
    s.portal.clock.advance(1); // 09:10:00: minute 09:00 drops, 480 remain
    const third = await call();
    expect(third.status).toBe(200);
    expect(third.body.time.operating).toBe(720);
    expect(third.body.time.operating_reset_at).toBe(T0 / 1000 + 900);
  });

  it('charges the default cost model per request and method and reports it in /_emulator/stats; reset clears', async () => {
    const s = await setup({ contacts: 10 });
    await getJson(`${s.rest}crm.contact.list?auth=${s.token}`); // 0.03 + 10 × 0.0007 + 10 × 2.1e-5: under 0.1 s, not charged
    await getJson(`${s.rest}crm.contact.get?id=1&auth=${s.token}`); // 0.15
    await postJson(`${s.rest}crm.contact.update`, { auth: s.token, id: 1, fields: { NAME: 'Z' } }); // 0.3
    await postJson(`${s.rest}batch`, { auth: s.token, cmd: { a: 'crm.contact.get?id=2', b: 'crm.contact.get?id=3' } }); // 2 × 0.15
    const st = (await getJson(`${s.emu.url}_emulator/stats`)).body;
    const list = Math.round((0.03 + 10 * 0.0007 + 10 * 2.1e-5) * 1e6) / 1e6;
    expect(st.limits.methods['crm.contact.list']).toEqual({ requests: 1, calls: 1, operatingSeconds: 0, processingSeconds: list, uncharged: 1, errors: 0, rejected429: 0 });
    expect(st.limits.methods['crm.contact.get']).toEqual({ requests: 1, calls: 3, operatingSeconds: 0.45, processingSeconds: 0.45, uncharged: 0, errors: 0, rejected429: 0 });
    expect(st.limits.methods['crm.contact.update'].operatingSeconds).toBe(0.3);
    expect(st.limits.methods.batch).toEqual({ requests: 1, calls: 0, operatingSeconds: 0, processingSeconds: 0, uncharged: 0, errors: 0, rejected429: 0 });
    const reset = await postJson(`${s.emu.url}_emulator/stats/reset`, {});
    expect(reset.body.limits.methods).toEqual({});
    expect(reset.body.limits.requests).toBe(0);
  });
});

describe('faults', () => {
  async function statuses(spec: string, n: number): Promise<number[]> {
    const s = await setup({ limits: { noRateLimit: true } });
    const set = await postJson(`${s.emu.url}_emulator/faults`, { spec });
    expect(set.status).toBe(200);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await fetch(`${s.rest}profile?auth=${s.token}`)).status);
    return out;
  }

  it('is reproducible from a seed', async () => {
    const a = await statuses('503=0.3,500=0.2,expired=0.1,seed=7', 60);
    const b = await statuses('503=0.3,500=0.2,expired=0.1,seed=7', 60);
    const c = await statuses('503=0.3,500=0.2,expired=0.1,seed=8', 60);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a)).toEqual(new Set([200, 503, 500, 401]));
  });

  it('limits faults to the named methods and reports the kinds', async () => {
    const s = await setup({ faults: '500=1,method=crm.contact.list' });
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).status).toBe(200);
    const r = await getJson(`${s.rest}crm.contact.list?auth=${s.token}`);
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' });
    const e = await postJson(`${s.emu.url}_emulator/faults`, { spec: 'expired=1' });
    expect(e.status).toBe(200);
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).body.error).toBe('expired_token');
    const f = (await getJson(`${s.emu.url}_emulator/faults`)).body;
    expect(f.counts.expired).toBe(1);
    await fetch(`${s.emu.url}_emulator/faults`, { method: 'DELETE' });
    expect((await getJson(`${s.rest}profile?auth=${s.token}`)).status).toBe(200);
  });

  it('resets connections, holds timeouts and delays slow answers', async () => {
    const s = await setup({ faults: 'reset=1' });
    await expect(fetch(`${s.rest}profile?auth=${s.token}`)).rejects.toThrow();
    await postJson(`${s.emu.url}_emulator/faults`, { spec: 'timeout=1:300' });
    let t = performance.now();
    await expect(fetch(`${s.rest}profile?auth=${s.token}`)).rejects.toThrow();
    expect(performance.now() - t).toBeGreaterThanOrEqual(250);
    await postJson(`${s.emu.url}_emulator/faults`, { spec: 'timeout=1' });
    await expect(fetch(`${s.rest}profile?auth=${s.token}`, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    await postJson(`${s.emu.url}_emulator/faults`, { spec: 'slow=1:300' });
    t = performance.now();
    const r = await fetch(`${s.rest}profile?auth=${s.token}`);
    expect(r.status).toBe(200);
    expect(performance.now() - t).toBeGreaterThanOrEqual(280);
  });

  it('rejects bad specs with a clear message', async () => {
    expect(() => parseFaultSpec('foo=1')).toThrow(/unknown key "foo"/);
    expect(() => parseFaultSpec('503=2')).toThrow(/≤ 1/);
    expect(() => parseFaultSpec('503=0.6,500=0.6')).toThrow(/more than 1/);
    expect(() => parseFaultSpec('slow=0.1')).toThrow(FaultSpecError);
    expect(() => parseFaultSpec('503=abc')).toThrow(/not a number/);
    expect(parseFaultSpec('503=0.05,500=0.01,reset=0.01,slow=0.1:2000,expired=0.02,method=crm.deal.list,seed=7')).toMatchObject({
      '503': 0.05, '500': 0.01, reset: 0.01, slow: { rate: 0.1, ms: 2000 }, expired: 0.02, methods: ['crm.deal.list'], seed: 7,
    });
    const s = await setup();
    const r = await postJson(`${s.emu.url}_emulator/faults`, { spec: '503=x' });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('INVALID_FAULT_SPEC');
    expect(r.body.error_description).toContain('503=x');
  });
});

describe('several portals in one process', () => {
  it('keeps portals, tokens and buckets apart', async () => {
    const a = await setup();
    const b = await setup();
    expect(a.emu.url).not.toBe(b.emu.url);
    expect((await getJson(`${b.rest}profile?auth=${a.token}`)).status).toBe(401);
    for (let i = 0; i < 50; i++) await getJson(`${a.rest}profile?auth=${a.token}`);
    expect((await getJson(`${a.rest}profile?auth=${a.token}`)).status).toBe(503);
    expect((await getJson(`${b.rest}profile?auth=${b.token}`)).status).toBe(200);
  });
});
