/**
 * The client plans from what the portal reports (src/b24/limiter.ts, docs/rest-client.md "Planning"):
 *  - it learns each method's cost from the answers' `time.processing` (nothing in src/b24 knows the
 *    emulator's table), follows a cost that the emulator changes at runtime (POST /_emulator/limits),
 *    and knows that a lone cheap call is not charged (the 0.1 s floor);
 *  - a full app cycle (sync + scoring + write-back) against a portal whose update cost goes from
 *    0.3 s to 0.5 s in the middle of the write-back ends with zero 429 and zero 503, and with a store
 *    and CRM fields identical to the same cycle without the change.
 * Budgets are scaled down (operating limit 20 s per 10 min) so the limits bind on a small portal;
 * the portal clock runs ×200, so several 10-minute windows pass in seconds.
 */
import axios from 'axios';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { axiosTransport, type Transport } from '../../src/b24/transport.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { runScoring } from '../../src/pipeline/score.js';
import { createTokenCipher, setTokenCipher } from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { eachDb, type Db } from '../helpers/db.js';
import { emulatorStats, startTestPortal, type TestPortal } from './b24-helpers.js';
import { createPortalRow, dumpCrm } from './helpers/sync-env.js';

const TS = 200;
const LIMIT = 20;
const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const AS_OF = '2026-11-20';

beforeAll(() => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
});

/** A portal generated while its clock stands still at T0 (identical data for the same seed), then running ×TS. */
async function portal(o: { contacts: number; deals: number; operatingLimit?: number }): Promise<TestPortal> {
  let base: number | null = null;
  const clock = new PortalClock(T0, TS, () => (base === null ? 0 : performance.now() - base));
  const tp = await startTestPortal({ ...o, seed: 5, clock });
  base = performance.now();
  return tp;
}

const admin = (tp: TestPortal, body: unknown) => axios.post(`${tp.emu.url}_emulator/limits`, body);

describe('learning', () => {
  let tp: TestPortal;
  beforeAll(async () => { tp = await portal({ contacts: 120, deals: 0 }); });
  afterAll(async () => { await tp?.emu.close(); });

  it('learns costs from time.processing, follows a runtime change, knows the floor', async () => {
    const c = new B24Client({ tokens: tp.tokens, limiter: { timeScale: TS } });
    const lim = c.limiter;
    expect(lim.costLearned('crm.contact.get')).toBe(false);
    for (const id of [1, 2, 3]) await c.call('crm.contact.get', { id });
    expect(lim.costPerCall('crm.contact.get')).toBeCloseTo(0.15, 6);

    const updates = (name: string) => Array.from({ length: 10 }, (_, i) => ['crm.contact.update', { id: i + 1, fields: { NAME: `${name}${i}` } }] as const);
    await c.batch(updates('a'));
    expect(lim.costPerCall('crm.contact.update')).toBeCloseTo(0.3, 6);
    // the mirror agrees with the portal's own window for the method
    const win = async () => (await axios.get(`${tp.emu.url}_emulator/limits`)).data.windows[`app:${tp.clientId}|crm.contact.update`].operating as number;
    expect(lim.projected('crm.contact.update')).toBeCloseTo(await win(), 6);

    await admin(tp, { costs: { classes: { update: 0.5 } } });
    await c.batch(updates('b'));
    expect(lim.costPerCall('crm.contact.update')).toBeCloseTo(0.5, 6); // a rise is taken at once
    expect(lim.projected('crm.contact.update')).toBeCloseTo(await win(), 6);
    await admin(tp, { costs: { classes: { update: 0.3 } } });
    await c.batch(updates('c'));
    expect(lim.costPerCall('crm.contact.update')).toBeCloseTo(0.5 * 0.8 + 0.3 * 0.2, 6); // a fall slowly (EWMA 0.2)

    // a full list page alone (0.03 + 50 × 0.0007 = 0.065 s) is under the floor: free, and planned so
    const before = (await emulatorStats(tp.emu)).methods['crm.contact.list'];
    await c.callRaw('crm.contact.list', { select: ['ID'], order: { ID: 'ASC' }, start: -1 });
    expect(lim.costPerCall('crm.contact.list')).toBeCloseTo(0.065, 6);
    expect(lim.freeCalls('crm.contact.list')).toBe(1);
    expect(lim.chargeFor('crm.contact.list', 1)).toBe(0);
    expect(lim.chargeFor('crm.contact.list', 50)).toBeCloseTo(3.25, 6);
    expect(lim.projected('crm.contact.list')).toBe(0);
    expect(before).toBeUndefined();
    expect((await emulatorStats(tp.emu)).methods['crm.contact.list']).toMatchObject({ calls: 1, operatingSeconds: 0 });
    expect(lim.freeCalls('crm.contact.update')).toBe(0); // an update alone is charged
  });
});

/** Sends requests as usual; after the `after`-th batch of contact updates, changes the emulator's update cost. */
function switchingTransport(tp: TestPortal, after: number, body: unknown): Transport & { switched: () => boolean } {
  const base = axiosTransport();
  let seen = 0;
  let done = false;
  const t = async (req: Parameters<Transport>[0]) => {
    const res = await base(req);
    const cmd = (req.body as { cmd?: Record<string, string> }).cmd;
    if (!done && cmd && Object.values(cmd).some((x) => x.startsWith('crm.contact.update')) && ++seen >= after) {
      done = true;
      await admin(tp, body);
    }
    return res;
  };
  return Object.assign(t, { switched: () => done });
}

interface CycleOutcome { store: Record<string, string[]>; written: string[]; crm: string[]; stats: Awaited<ReturnType<typeof emulatorStats>>; c: B24Client }

eachDb('a full cycle while the update cost changes', (getDb) => {
  let db: Db;
  const portals: TestPortal[] = [];
  beforeAll(() => { db = getDb(); });
  afterAll(async () => { await Promise.all(portals.map((p) => p.emu.close())); });

  async function cycle(change: boolean): Promise<CycleOutcome & { switched: boolean }> {
    const tp = await portal({ contacts: 300, deals: 1200, operatingLimit: LIMIT });
    portals.push(tp);
    const transport = switchingTransport(tp, 2, { costs: { classes: { update: 0.5 } } });
    const c = new B24Client({
      tokens: tp.tokens, limiter: { plan: 'standard', timeScale: TS, operatingLimitSec: LIMIT }, retryBaseMs: 20,
      transport: change ? transport : axiosTransport(),
    });
    const pid = await createPortalRow(db);
    const s = await runSync({ db, portalId: pid, client: c }, { kind: 'full' });
    expect(s.kind).toBe('full');
    await runScoring(db, pid, AS_OF);
    const w = await runWriteBack(db, pid, c);
    expect(w.failed).toBe(0);
    expect(w.errors).toEqual([]);
    expect(w.written).toBeGreaterThan(100);
    const { rows } = await db.query<{ entity_id: string; values: unknown }>(`SELECT entity_id, "values" FROM written_values WHERE portal_id = $1 ORDER BY entity_id`, [pid]);
    const crm = [...tp.emu.portal.contacts.values()].sort((a, b) => a.id - b.id).map((ct) => JSON.stringify([ct.id, Object.entries(ct.uf).filter(([k]) => k.startsWith('UF_CRM_SEG_')).sort()]));
    return { store: await dumpCrm(db, pid), written: rows.map((r) => JSON.stringify(r)), crm, stats: await emulatorStats(tp.emu), c, switched: transport.switched() };
  }

  it('zero 429/503 and the same store and CRM as without the change', async () => {
    const plain = await cycle(false);
    const changed = await cycle(true);
    expect(changed.switched).toBe(true);
    for (const r of [plain, changed]) {
      expect(r.stats.rejected429).toBe(0);
      expect(r.stats.rejected503).toBe(0);
      expect(r.c.counters.operatingLimited429).toBe(0);
      expect(r.c.counters.rateLimited503).toBe(0);
    }
    // the limits did bind: more update time than one window allows
    const upd = (r: CycleOutcome) => (r.stats.methods['crm.contact.update']?.operatingSeconds ?? 0) + (r.stats.methods['crm.item.update']?.operatingSeconds ?? 0);
    expect(upd(plain)).toBeGreaterThan(2 * LIMIT);
    expect(r6(upd(changed) / callsOf(changed))).toBeGreaterThan(0.3); // part of the updates cost 0.5 s
    expect(plain.c.limiter.costPerCall('crm.contact.update')).toBeCloseTo(0.3, 6);
    expect(changed.c.limiter.costPerCall('crm.contact.update')).toBeCloseTo(0.5, 6);
    // identical outcome
    expect(changed.store).toEqual(plain.store);
    expect(changed.written).toEqual(plain.written);
    expect(changed.crm).toEqual(plain.crm);
    expect(plain.crm.filter((x) => x.includes('UF_CRM_SEG_SEGMENT')).length).toBeGreaterThan(100);
  });
});

function callsOf(r: CycleOutcome): number {
  return (r.stats.methods['crm.contact.update']?.calls ?? 0) + (r.stats.methods['crm.item.update']?.calls ?? 0);
}

function r6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

describe('failing commands are charged', () => {
  let tp: TestPortal;
  beforeAll(async () => { tp = await portal({ contacts: 20, deals: 0, operatingLimit: LIMIT }); });
  afterAll(async () => { await tp?.emu.close(); });

  it('updates of missing contacts (deleted after the sync) are counted against the budget: no 429, none lost to it', async () => {
    const c = new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: TS, operatingLimitSec: LIMIT }, retryBaseMs: 20 });
    // 20 s per 10 min at 0.3 s per update (the emulator charges a failing call its class's base): ~66 per window.
    // 200 updates of ids the portal does not hold need three windows; every answer is "not found", none a 429.
    const cmds = Array.from({ length: 200 }, (_, i) => [`u${i}`, ['crm.contact.update', { id: 100_000 + i, fields: { NAME: 'x' } }]] as const);
    const r = await c.batch(Object.fromEntries(cmds));
    const answers = Object.values(r.errors).map((e) => `${e.code}|${e.description}`);
    expect(answers.length).toBe(200);
    expect(new Set(answers)).toEqual(new Set(['|Contact is not found']));
    const stats = await emulatorStats(tp.emu);
    expect(stats.rejected429).toBe(0);
    expect(c.counters.operatingLimited429).toBe(0);
    expect(stats.methods['crm.contact.update']?.operatingSeconds).toBeCloseTo(200 * 0.3, 6);
    // the mirror agrees with the portal's window for the method
    const win = (await axios.get(`${tp.emu.url}_emulator/limits`)).data.windows[`app:${tp.clientId}|crm.contact.update`].operating as number;
    expect(c.limiter.projected('crm.contact.update')).toBeCloseTo(win, 1);
    // a lone call that fails inside its method keeps its charge too; an unknown method is free
    const before = c.limiter.projected('crm.contact.update');
    await expect(c.call('crm.contact.update', { id: 999_999, fields: { NAME: 'x' } })).rejects.toMatchObject({ description: 'Contact is not found' });
    expect(c.limiter.projected('crm.contact.update') - before).toBeCloseTo(0.3, 1);
    await expect(c.call('crm.contact.nosuchmethod', {})).rejects.toMatchObject({ code: 'ERROR_METHOD_NOT_FOUND' });
    expect(c.limiter.projected('crm.contact.nosuchmethod')).toBe(0);
  });
});
