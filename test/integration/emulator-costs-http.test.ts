/**
 * The cost model over real HTTP (src/emulator/costs.ts, limits.ts, http/rest.ts, /_emulator/limits):
 * what each answer's `time` block says and what the operating budget charges, one test per rule.
 * Expected seconds are written from the evidence's numbers (docs/emulator.md "Limits") and the
 * emulated portal's own rows (how many contacts exist, how many a filter matches), never from the
 * model's code. The portal clock is frozen (time moves only by `clock.advance`).
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { PortalClock } from '../../src/emulator/clock.js';
import type { LimitsOptions } from '../../src/emulator/limits.js';
import { addContact } from '../../src/emulator/methods/index.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { issueTokens } from '../../src/emulator/tokens.js';

const T0 = Date.UTC(2025, 5, 2, 9, 0, 0);
const NAMES = ['Alexander', 'Boris', 'Clara', 'Dmitry', 'Elena', 'Fedor', 'Galina'];
const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

interface Setup { emu: RunningEmulator; portal: Portal; token: string; rest: string; admin: string }

async function setup(contacts = 7, limits: LimitsOptions = { noRateLimit: true }): Promise<Setup> {
  const portal = new Portal({ clock: new PortalClock(T0, 1, () => 0) });
  const emu = await startEmulator({ hostPage: false, portal, limits, log: () => undefined });
  running.push(emu);
  for (let i = 0; i < contacts; i++) addContact(portal, { name: NAMES[i % NAMES.length]!, lastName: `L${i + 1}` }, 1);
  const res = await post(`${emu.url}_emulator/apps/install`, { appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user'], mode: 'wizard', clientId: 'local.costs', clientSecret: 's' });
  expect(res.status).toBe(201);
  await post(`${emu.url}_emulator/apps/local.costs/install-finish`, {});
  const tok = issueTokens(portal, 'local.costs', 1);
  return { emu, portal, token: tok.accessToken, rest: `${emu.url}rest/`, admin: `${emu.url}_emulator/` };
}

async function send(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}
const post = (url: string, body: unknown): Promise<{ status: number; body: any }> =>
  send(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const call = (s: Setup, method: string, params: Record<string, unknown> = {}): Promise<{ status: number; body: any }> =>
  post(`${s.rest}${method}`, { auth: s.token, ...params });
async function methodStats(s: Setup, m: string): Promise<any> {
  return (await send(`${s.admin}stats`)).body.limits.methods[m];
}

describe('time block', () => {
  it('every answer: processing by the model, duration = processing + overhead >= processing, operating as charged, reset at a minute', async () => {
    const s = await setup(7);
    s.portal.clock.advance(90_000); // 09:01:30
    const upd = await call(s, 'crm.contact.update', { id: 1, fields: { NAME: 'Z' } });
    const t = upd.body.time;
    expect(Object.keys(t).sort()).toEqual(['date_finish', 'date_start', 'duration', 'finish', 'operating', 'operating_reset_at', 'processing', 'start']);
    expect(t.processing).toBe(0.3);
    expect(t.duration).toBeCloseTo(0.31, 9);
    expect(t.duration).toBeGreaterThanOrEqual(t.processing);
    expect(t.finish - t.start).toBeCloseTo(t.duration, 6);
    expect(t.start).toBe((T0 + 90_000) / 1000);
    expect(t.operating).toBe(0.3);
    expect(t.operating_reset_at).toBe(T0 / 1000 + 60 + 600); // minute 09:01 drops at 09:11:00
    const again = (await call(s, 'crm.contact.update', { id: 2, fields: { NAME: 'Y' } })).body.time;
    expect(again.operating).toBeCloseTo(0.6, 9);
    // batch: the outer block's processing is the commands' sum; batch itself is never charged
    const b = await call(s, 'batch', { cmd: { a: 'crm.contact.get?id=1', b: 'crm.contact.update?id=3&fields[NAME]=X' } });
    expect(b.body.time.processing).toBeCloseTo(0.45, 9);
    expect(b.body.time.operating).toBe(0);
    expect(b.body.result.result_time.b.operating).toBeCloseTo(0.9, 9);
    expect(b.body.result.result_time.a.processing).toBe(0.15);
    expect((await methodStats(s, 'batch')).operatingSeconds).toBe(0);
  });
});

describe('operating charges', () => {
  it('floor: a single small list is not counted', async () => {
    const s = await setup(7);
    const r = await call(s, 'crm.contact.list', { select: ['ID'], start: -1 });
    expect(r.body.result).toHaveLength(7);
    expect(r.body.time.processing).toBeCloseTo(0.03 + 0.0007 * 7, 9);
    expect(r.body.time.operating).toBe(0);
    expect(await methodStats(s, 'crm.contact.list')).toMatchObject({ calls: 1, operatingSeconds: 0, uncharged: 1 });
  });

  it('the same page 50 times in a batch is counted 50 times', async () => {
    const s = await setup(60);
    const cmd = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`p${i}`, 'crm.contact.list?select[]=ID&start=-1']));
    const b = await call(s, 'batch', { cmd });
    const page = 0.03 + 0.0007 * 50; // 50 rows, no count
    expect(b.body.result.result_time.p0.processing).toBeCloseTo(page, 9);
    expect(b.body.result.result_time.p49.operating).toBeCloseTo(50 * page, 6);
    expect((await methodStats(s, 'crm.contact.list')).operatingSeconds).toBeCloseTo(50 * page, 6);
    const alone = await call(s, 'crm.contact.list', { select: ['ID'], start: -1 });
    expect(alone.body.time.operating).toBeCloseTo(50 * page, 6); // the lone page adds nothing
  });

  it('sums per method within one batch: each method against the floor on its own', async () => {
    const s = await setup(3);
    const b = await call(s, 'batch', { cmd: { l: 'crm.contact.list?start=-1', c: 'crm.company.list?start=-1', c2: 'crm.company.list?start=-1', c3: 'crm.company.list?start=-1', c4: 'crm.company.list?start=-1', s: 'crm.status.list', s2: 'crm.status.list' } });
    expect(b.body.result.result_error).toEqual([]);
    expect((await methodStats(s, 'crm.contact.list')).operatingSeconds).toBe(0); // 0.0321 alone
    expect((await methodStats(s, 'crm.company.list')).operatingSeconds).toBeCloseTo(4 * 0.03, 9); // no companies: 4 × 0.03 > 0.1
    expect((await methodStats(s, 'crm.status.list')).operatingSeconds).toBe(0); // 2 × 0.01
    const windows = (await send(`${s.admin}limits`)).body.windows;
    expect(Object.keys(windows)).toEqual(['app:local.costs|crm.company.list']);
    expect(windows['app:local.costs|crm.company.list'].operating).toBeCloseTo(0.12, 9);
    // three pages (0.09 s) in one request stay under the floor
    await call(s, 'batch', { cmd: { a: 'crm.company.list?start=-1', b: 'crm.company.list?start=-1', c: 'crm.company.list?start=-1' } });
    expect((await methodStats(s, 'crm.company.list')).operatingSeconds).toBeCloseTo(0.12, 9);
  });

  it('count cost only with start >= 0, proportional to the matching rows', async () => {
    const s = await setup(700);
    const counted = await call(s, 'crm.contact.list', { select: ['ID'], start: 0 });
    const uncounted = await call(s, 'crm.contact.list', { select: ['ID'], start: -1 });
    expect(counted.body.total).toBe(s.portal.contacts.size);
    expect(uncounted.body.total).toBe(0);
    expect(counted.body.time.processing - uncounted.body.time.processing).toBeCloseTo(2.1e-5 * s.portal.contacts.size, 9);
    // a filter matching 100 contacts (every 7th is Alexander) counts 100 rows
    const alex = [...s.portal.contacts.values()].filter((c) => c.name === 'Alexander').length;
    expect(alex).toBe(100);
    const some = await call(s, 'crm.contact.list', { select: ['ID'], filter: { NAME: 'Alexander' }, start: 0 });
    expect(some.body.total).toBe(alex);
    expect(some.body.time.processing).toBeCloseTo(0.03 + 0.0007 * 50 + 2.1e-5 * alex, 9);
  });

  it('complex filter: +0.2 s for LIKE, logic groups or three conditions', async () => {
    const s = await setup(14);
    const like = await call(s, 'crm.contact.list', { select: ['ID'], filter: { '%NAME': 'ar' }, start: -1 });
    const likeRows = [...s.portal.contacts.values()].filter((c) => c.name.toLowerCase().includes('ar')).length;
    expect(like.body.result).toHaveLength(likeRows);
    expect(like.body.time.processing).toBeCloseTo(0.03 + 0.0007 * likeRows + 0.2, 9);
    const three = await call(s, 'crm.contact.list', { select: ['ID'], filter: { '>ID': 0, '<ID': 100, NAME: 'Boris' }, start: -1 });
    expect(three.body.time.processing).toBeCloseTo(0.03 + 0.0007 * 2 + 0.2, 9);
    const two = await call(s, 'crm.contact.list', { select: ['ID'], filter: { '>ID': 0, NAME: 'Boris' }, start: -1 });
    expect(two.body.time.processing).toBeCloseTo(0.03 + 0.0007 * 2, 9);
    // the surcharge lifts a lone page above the floor: it is charged
    expect(three.body.time.operating).toBeCloseTo(like.body.time.processing + three.body.time.processing, 6);
  });

  it('write classes: add 0.3, update 0.3, delete 0.5, user-field add 0.2, get 0.15, dictionaries 0.01', async () => {
    const s = await setup(3);
    const p = async (m: string, params: Record<string, unknown>): Promise<number> => {
      const r = await call(s, m, params);
      expect(r.status, `${m}: ${JSON.stringify(r.body)}`).toBe(200);
      return r.body.time.processing as number;
    };
    expect(await p('crm.contact.add', { fields: { NAME: 'New' } })).toBe(0.3);
    expect(await p('crm.contact.update', { id: 1, fields: { NAME: 'U' } })).toBe(0.3);
    expect(await p('crm.contact.delete', { id: 2 })).toBe(0.5);
    expect(await p('crm.contact.userfield.add', { fields: { FIELD_NAME: 'SEG_COST', USER_TYPE_ID: 'string', EDIT_FORM_LABEL: 'x' } })).toBe(0.2);
    expect(await p('crm.contact.get', { id: 1 })).toBe(0.15);
    expect(await p('crm.status.list', {})).toBe(0.01);
    expect(await p('crm.contact.fields', {})).toBe(0.01);
    expect((await methodStats(s, 'crm.contact.delete')).operatingSeconds).toBe(0.5);
    expect((await methodStats(s, 'crm.contact.userfield.add')).operatingSeconds).toBe(0.2);
    expect((await methodStats(s, 'crm.status.list')).operatingSeconds).toBe(0);
  });
});

describe('window and limit', () => {
  it('calendar-minute buckets roll off exactly; "sum > limit": equal passes, above blocks', async () => {
    const s = await setup(1, { noRateLimit: true, costs: { methods: { 'crm.contact.get': 160 } } });
    const get = (): Promise<{ status: number; body: any }> => call(s, 'crm.contact.get', { id: 1 });
    s.portal.clock.advance(59_000); // 09:00:59
    expect((await get()).body.time.operating).toBe(160);
    s.portal.clock.advance(1_000); // 09:01:00
    expect((await get()).body.time.operating).toBe(320);
    expect((await get()).body.time.operating).toBe(480);
    const atLimit = await get(); // 480 is not above 480
    expect(atLimit.status).toBe(200);
    expect(atLimit.body.time.operating).toBe(640);
    const blocked = await get();
    expect(blocked.status).toBe(429);
    expect(blocked.body).toEqual({ error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' });
    s.portal.clock.advance(9 * 60_000 - 1); // 09:09:59.999: 640 in the window
    expect((await get()).status).toBe(429);
    s.portal.clock.advance(1); // 09:10:00: minute 09:00 (160) drops, 480 remain: not above
    const back = await get();
    expect(back.status).toBe(200);
    expect(back.body.time.operating).toBe(640);
    expect(back.body.time.operating_reset_at).toBe(T0 / 1000 + 660);
  });

  it('480 s on cloud, 420 s self-hosted (option and runtime switch)', async () => {
    const self = await setup(1, { noRateLimit: true, selfHosted: true, costs: { methods: { 'crm.contact.get': 210 } } });
    expect((await send(`${self.admin}limits`)).body.operatingLimit).toBe(420);
    const get = (s: Setup): Promise<number> => call(s, 'crm.contact.get', { id: 1 }).then((r) => r.status);
    expect([await get(self), await get(self), await get(self), await get(self)]).toEqual([200, 200, 200, 429]); // 420 passes, 630 blocks
    const cloud = await setup(1, { noRateLimit: true, costs: { methods: { 'crm.contact.get': 240 } } });
    expect((await send(`${cloud.admin}limits`)).body.operatingLimit).toBe(480);
    expect([await get(cloud), await get(cloud), await get(cloud), await get(cloud)]).toEqual([200, 200, 200, 429]);
    const switched = await post(`${cloud.admin}limits`, { selfHosted: true });
    expect(switched.body.operatingLimit).toBe(420);
    expect((await post(`${cloud.admin}limits`, { selfHosted: false })).body.operatingLimit).toBe(480);
  });

  it('POST /_emulator/limits changes the model at runtime; GET shows model and window sums', async () => {
    const s = await setup(3);
    expect((await call(s, 'crm.contact.update', { id: 1, fields: { NAME: 'A' } })).body.time.processing).toBe(0.3);
    const changed = await post(`${s.admin}limits`, { costs: { classes: { update: 0.5 }, perRow: 0.001, methods: { 'CRM.Deal.List': 0.25 } } });
    expect(changed.status).toBe(200);
    expect(changed.body.costs.classes.update).toBe(0.5);
    expect(changed.body.costs.methods).toEqual({ 'crm.deal.list': 0.25 });
    const r = await call(s, 'crm.contact.update', { id: 1, fields: { NAME: 'B' } });
    expect(r.body.time.processing).toBe(0.5);
    expect(r.body.time.operating).toBeCloseTo(0.8, 9);
    expect((await call(s, 'crm.contact.list', { start: -1, select: ['ID'] })).body.time.processing).toBeCloseTo(0.03 + 0.001 * 3, 9);
    const removed = await post(`${s.admin}limits`, { costs: { methods: { 'crm.deal.list': null } } });
    expect(removed.body.costs.methods).toEqual({}); // null removes an override
    const got = (await send(`${s.admin}limits`)).body;
    expect(got.costs.minimalFixTime).toBe(0.1);
    expect(got.limits).toEqual({ cloud: 480, selfHosted: 420 });
    expect(got.windows['app:local.costs|crm.contact.update']).toMatchObject({ operating: 0.8, resetAt: T0 / 1000 + 600 });
  });

  it('refuses bad POST /_emulator/limits bodies with 400 and a reason, leaving the model as it was', async () => {
    const s = await setup(1);
    const before = (await send(`${s.admin}limits`)).body;
    const bad: unknown[] = [
      { costs: { classes: { update: -1 } } },
      { costs: { classes: { teleport: 1 } } },
      { costs: { perRow: 'fast' } },
      { costs: { update: 0.5 } },
      { operatingLimit: 0 },
      { operatingLimit: 1e12 },
      { selfHosted: 'yes' },
      { costs: { methods: { 'crm.deal.list': { nested: { deeper: 1 } } } } },
      { costs: { methods: { '<script>': 1 } } },
      { costs: { methods: Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`m.x${i}`, 1])) } },
      { costs: { minimalFixTime: 1e9 } },
      [1, 2, 3],
      { __proto__: { operatingLimit: 1 }, extra: true },
    ];
    for (const b of bad) {
      const r = await post(`${s.admin}limits`, b);
      expect(r.status, JSON.stringify(b).slice(0, 80)).toBe(400);
      expect(r.body.error).toBe('INVALID_REQUEST');
      expect(typeof r.body.error_description).toBe('string');
    }
    const notJson = await send(`${s.admin}limits`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"costs":' });
    expect(notJson.status).toBe(400);
    expect(typeof notJson.body.error).toBe('string');
    const after = (await send(`${s.admin}limits`)).body;
    expect(after).toEqual(before);
  });
});

/** Runs the emulator CLI; `probe` gets its base URL once it is up, then the process is stopped. */
function runCli(args: string[], probe?: (url: string) => Promise<void>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/cli.ts', '--port', '0', ...args], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let probing = false;
    child.stdout.on('data', (d) => {
      stdout += String(d);
      const m = /^Emulator: (\S+)$/m.exec(stdout);
      if (m && probe && !probing) {
        probing = true;
        probe(m[1]!).then(() => child.kill('SIGTERM'), (e: unknown) => { child.kill('SIGTERM'); reject(e); });
      }
    });
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('CLI flags', () => {
  it('--self-hosted, --operating-limit and --costs set the model; bad values exit 2 with a reason', async () => {
    let seen: any = null;
    await runCli(['--self-hosted', '--costs', 'update=0.5,perRow=0.001,crm.deal.list=0.2', '--no-rate-limit'], async (url) => {
      seen = (await send(`${url}_emulator/limits`)).body;
    });
    expect(seen.operatingLimit).toBe(420);
    expect(seen.rateLimit).toBe(false);
    expect(seen.costs).toMatchObject({ perRow: 0.001, methods: { 'crm.deal.list': 0.2 } });
    expect(seen.costs.classes).toMatchObject({ update: 0.5, add: 0.3, list: 0.03 });
    let limit: any = null;
    await runCli(['--self-hosted', '--operating-limit', '100'], async (url) => { limit = (await send(`${url}_emulator/limits`)).body; });
    expect(limit.operatingLimit).toBe(100);
    const bad = await runCli(['--costs', 'update=fast']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--costs: "update=fast" is not name=seconds');
    const unknown = await runCli(['--costs', 'teleport=1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown name "teleport"');
    const lim = await runCli(['--operating-limit', 'lots']);
    expect(lim.code).toBe(2);
    expect(lim.stderr).toContain('--operating-limit must be a positive number');
  }, 60_000);
});
