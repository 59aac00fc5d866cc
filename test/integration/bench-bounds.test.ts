/**
 * The benches' lower bounds hold against the emulator: a client cannot get the calls done faster
 * than the bound says. 3,600 contact updates at 0.3 s (the calibrated model's update cost) are
 * 1,080 operating-s of crm.contact.update; one group of ten calendar minutes holds at most
 * 480 + 50 × 0.3 = 495 s, so three groups are needed and no schedule finishes before 1,140 portal s.
 * The portal clock runs at real speed and the client's waits are fast-forwarded (bench/lib/wait-clock.ts).
 */
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { boundModel, methodUse, runBounds } from '../../bench/lib/bounds.js';
import { movable, waitClock } from '../../bench/lib/wait-clock.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';

const N = 3600;
let tp: TestPortal;

beforeAll(async () => { tp = await startTestPortal({ contacts: N, deals: 10, timeScale: 1 }); });
afterAll(async () => { await tp?.emu.close(); });

describe('bench bounds against the emulator', () => {
  it('3,600 updates take at least the bound (≥ 1,140 portal s), and the bound is what the rules give', async () => {
    const portal = tp.emu.portal;
    const admin = axios.create({ baseURL: `${tp.emu.url}_emulator/` });
    const limits = (await admin.get('limits')).data as { costs: { classes: { update: number } } };
    expect(limits.costs.classes.update).toBe(0.3);
    const client = new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', clock: waitClock(movable(portal.clock), 1000) } });
    const ids = [...portal.contacts.keys()];
    expect(ids).toHaveLength(N);
    await admin.post('stats/reset', { counters: true });
    const t0 = portal.clock.elapsedSeconds();
    for (let i = 0; i < ids.length; i += 50) {
      const cmds = ids.slice(i, i + 50).map((id) => ['crm.contact.update', { id, fields: { COMMENTS: `bench ${id}` } }] as [string, Record<string, unknown>]);
      const r = await client.batch(cmds);
      expect(Object.keys(r.errors)).toEqual([]);
    }
    const took = portal.clock.elapsedSeconds() - t0;
    // every update reached the portal
    expect(ids.filter((id) => portal.contacts.get(id)!.comments !== `bench ${id}`)).toEqual([]);
    const s = (await admin.get('stats')).data.limits as { requests: number; methods: Record<string, { calls: number; operatingSeconds: number; processingSeconds?: number }> };
    const b = runBounds(s.requests, methodUse(s.methods), boundModel(limits));
    const upd = b.methods.find((x) => x.method === 'crm.contact.update')!;
    expect(upd.calls).toBe(N);
    expect(upd.chargedSeconds).toBeCloseTo(N * 0.3, 6);
    expect(upd.freePerRequest).toBe(0);
    expect(b.largest.bound).toBeGreaterThanOrEqual(1139.9);
    expect(b.largest.bound).toBeLessThan(1141);
    expect(took).toBeGreaterThanOrEqual(b.largest.bound);
  });
});
