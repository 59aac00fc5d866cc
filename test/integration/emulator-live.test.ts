/**
 * The living portal (src/emulator/live/): the generated customers go on buying as portal time
 * passes, a workflow start raises a customer's purchase rate by 1 + R, the new deals fire their
 * events, and the process is the same whatever steps time is advanced in.
 *
 * Every number here is counted from the portal's deal table (or read back over HTTP), not from the
 * process's own counters. Treated customers are picked by a hash of the contact ID, independent of
 * the hidden purchase model.
 */
import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import qs from 'qs';
import { afterEach, describe, expect, it } from 'vitest';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { advanceLive, startLive, UPLIFT_MS } from '../../src/emulator/live/index.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { savePortal, loadPortal } from '../../src/emulator/state.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const DAY = 86_400_000;
const TEMPLATE = 77;

const running: RunningEmulator[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
});

function livePortal(contacts: number, seed: number): Portal {
  const p = new Portal({ clock: new PortalClock(T0, 1, () => 0) });
  generatePortal(p, { contacts, seed, live: true });
  p.bizprocTemplates.push({ id: TEMPLATE, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Promo', autoExecute: 0 });
  return p;
}

/** A fixed half of the contacts, by a multiplicative hash of the ID (nothing to do with the purchase model). */
function treated(contactId: number): boolean {
  return ((Math.imul(contactId, 0x9e3779b1) >>> 0) / 2 ** 32) < 0.5;
}

async function emulatorFor(p: Portal): Promise<RunningEmulator> {
  // thousands of workflow starts in a few seconds: the request bucket and operating budget are not under test here
  const emu = await startEmulator({ portal: p, hostPage: false, log: () => undefined, limits: { noRateLimit: true, operatingLimit: 1e7 } });
  running.push(emu);
  return emu;
}

async function post(url: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

/** Starts the workflow on each contact among `ids` through REST (`batch` of bizproc.workflow.start on the admin's webhook). */
async function startWorkflows(emu: RunningEmulator, ids: number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 50) {
    const cmd = Object.fromEntries(ids.slice(i, i + 50).map((id) => [`c${id}`, `bizproc.workflow.start?${qs.stringify({ TEMPLATE_ID: TEMPLATE, DOCUMENT_ID: ['crm', 'CCrmDocumentContact', `CONTACT_${id}`] })}`]));
    const r = await post(`${emu.webhookUrl}batch`, { halt: 1, cmd });
    expect(r.status).toBe(200);
    expect(r.body.result.result_error).toEqual([]);
  }
}

/** Deals begun per customer in [from, to), counted from the deal table by primary contact. */
function purchasesPerCustomer(p: Portal, ids: number[], from: number, to: number): Map<number, number> {
  const n = new Map(ids.map((id) => [id, 0]));
  for (const d of p.deals.values()) {
    const c = d.contactIds[0];
    if (c === undefined || !n.has(c) || d.dateCreate < from || d.dateCreate >= to) continue;
    n.set(c, (n.get(c) ?? 0) + 1);
  }
  return n;
}

function meanVar(xs: number[]): { mean: number; v: number; n: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, v, n: xs.length };
}

/**
 * Runs one 13-week campaign on a fresh living portal: workflows on the treated half of the live
 * customers, then the uplift period. Returns the per-customer purchase counts of both halves.
 */
const memo = new Map<string, ReturnType<typeof runCampaign>>();
function campaign(uplift: number, seed: number, contacts: number): ReturnType<typeof runCampaign> {
  const key = `${uplift}:${seed}:${contacts}`;
  if (!memo.has(key)) memo.set(key, runCampaign(uplift, seed, contacts));
  return memo.get(key)!;
}

async function runCampaign(uplift: number, seed: number, contacts: number) {
  const p = livePortal(contacts, seed);
  const emu = await emulatorFor(p);
  expect((await post(`${emu.url}_emulator/live`, { uplift })).status).toBe(200);
  const ids = [...p.liveCustomers.keys()];
  const t = ids.filter(treated);
  const u = ids.filter((id) => !treated(id));
  await startWorkflows(emu, t);
  const start = p.clock.now();
  const adv = await post(`${emu.url}_emulator/live/advance`, { seconds: UPLIFT_MS / 1000 });
  expect(adv.status).toBe(200);
  const counts = purchasesPerCustomer(p, ids, start, start + UPLIFT_MS);
  return { p, emu, t, u, counts, T: meanVar(t.map((id) => counts.get(id) ?? 0)), U: meanVar(u.map((id) => counts.get(id) ?? 0)) };
}

describe('living portal: purchase rates', () => {
  it('with uplift 0, customers a workflow was started on buy at the rate of the others', async () => {
    const { T, U } = await campaign(0, 11, 8000);
    // Welch z on the per-customer counts (variances measured, so the customers' different rates are
    // accounted for): |z| < 3 holds with probability 0.997 when the rates agree.
    const z = (T.mean - U.mean) / Math.sqrt(T.v / T.n + U.v / U.n);
    expect(T.n + U.n).toBeGreaterThan(3000);
    expect(U.mean).toBeGreaterThan(0.1); // the process does produce purchases
    expect(Math.abs(z)).toBeLessThan(3);
  });

  it('with uplift 1.0, they buy about twice as often; the others are untouched (same seed, uplift 0 vs 1)', async () => {
    const one = await campaign(1, 11, 8000);
    // delta method on the ratio of means: SE(r)/r = sqrt(vT/(nT mT²) + vU/(nU mU²)); 3 SE ↔ 99.7%
    const r = one.T.mean / one.U.mean;
    const se = r * Math.sqrt(one.T.v / (one.T.n * one.T.mean ** 2) + one.U.v / (one.U.n * one.U.mean ** 2));
    expect(se).toBeLessThan(0.3);
    expect(Math.abs(r - 2)).toBeLessThan(3 * se);
    const zero = await campaign(0, 11, 8000);
    // the same untreated customers make the same purchases at the same moments
    const begun = (x: typeof one) => [...x.p.deals.values()].filter((d) => d.dateCreate >= T0 && x.u.includes(d.contactIds[0] ?? -1)).map((d) => [d.contactIds[0], d.dateCreate, d.opportunity]);
    expect(begun(one)).toEqual(begun(zero));
    // the treated ones, on the same random stream, make close to twice as many (coupled: tighter than across groups)
    const sum = (x: typeof one) => x.t.reduce((a, id) => a + (x.counts.get(id) ?? 0), 0);
    expect(sum(one) / sum(zero)).toBeGreaterThan(1.8);
    expect(sum(one) / sum(zero)).toBeLessThan(2.2);
  });
});

describe('living portal: deals, stage moves and events', () => {
  async function receiver(): Promise<{ url: string; got: any[] }> {
    const got: any[] = [];
    const app = express();
    app.use(express.text({ type: () => true }));
    app.post(/.*/, (req, res) => { got.push(qs.parse(req.body as string)); res.status(200).send('ok'); });
    const server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    servers.push(server);
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
  }

  it('new deals fire ONCRMDEALADD online and their stage moves queue ONCRMDEALUPDATE offline; closes are won or lost', async () => {
    const p = livePortal(1500, 5);
    const emu = await emulatorFor(p);
    const recv = await receiver();
    const inst = await post(`${emu.url}_emulator/apps/install`, {
      clientId: 'local.live.app', clientSecret: 's', appUrl: `${recv.url}/app`, installUrl: `${recv.url}/install`, scopes: ['crm'], mode: 'callback',
    });
    expect(inst.status).toBe(201);
    let token = recv.got[0].auth.access_token as string;
    const refresh = recv.got[0].auth.refresh_token as string;
    await post(`${emu.url}_emulator/apps/local.live.app/install-finish`);
    expect((await post(`${emu.url}rest/event.bind`, { auth: token, event: 'ONCRMDEALADD', handler: `${recv.url}/events` })).status).toBe(200);
    expect((await post(`${emu.url}rest/event.bind`, { auth: token, event: 'ONCRMDEALUPDATE', event_type: 'offline' })).status).toBe(200);
    recv.got.length = 0;
    const before = new Set(p.deals.keys());
    const adv = await post(`${emu.url}_emulator/live/advance`, { days: 30 });
    expect(adv.status).toBe(200);
    await post(`${emu.url}_emulator/events/flush`);
    const fresh = [...p.deals.values()].filter((d) => !before.has(d.id));
    expect(fresh.length).toBeGreaterThan(10);
    expect(adv.body.created).toBe(fresh.length);
    expect(adv.body.now).toBe(T0 + 30 * DAY);
    // every new deal was announced, with its ID, at the moment it began
    const added = recv.got.filter((g) => g.event === 'ONCRMDEALADD');
    expect(added.map((g) => Number(g.data.FIELDS.ID)).sort((a, b) => a - b)).toEqual(fresh.map((d) => d.id).sort((a, b) => a - b));
    for (const g of added) expect(Number(g.ts) * 1000).toBe(Math.floor(p.deals.get(Number(g.data.FIELDS.ID))!.dateCreate / 1000) * 1000);
    // deals closed in the month: WON or a lost stage, and each has an update event in the offline queue (read over REST)
    const closed = fresh.filter((d) => d.closed);
    expect(closed.length).toBeGreaterThan(5);
    for (const d of closed) expect(d.stageId).toMatch(/^(C1:)?(WON|LOSE|APOLOGY|UC_\w+)$/);
    const won = closed.filter((d) => /WON$/.test(d.stageId));
    expect(won.length).toBe(adv.body.won);
    for (const d of won) expect(p.productRows.get(d.id)?.length ?? 0).toBeGreaterThan(0);
    // a month later the access token has expired: the app refreshes it, as it would
    const tok = await post(`${emu.url}oauth/token/`, { grant_type: 'refresh_token', client_id: 'local.live.app', client_secret: 's', refresh_token: refresh });
    expect(tok.status).toBe(200);
    token = tok.body.access_token;
    const off = await post(`${emu.url}rest/event.offline.get`, { auth: token, clear: 0, limit: 1000 });
    expect(off.status).toBe(200);
    const updated = new Set(off.body.result.events.filter((e: any) => e.EVENT_NAME === 'ONCRMDEALUPDATE').map((e: any) => Number(e.EVENT_DATA.FIELDS.ID)));
    for (const d of closed) expect(updated.has(d.id)).toBe(true);
    // the deals read back over REST as CRM deals of the customer
    const one = closed[0]!;
    const got = await post(`${emu.url}_emulator/call/crm.deal.get`, { id: one.id });
    expect(got.body.result.STAGE_ID).toBe(one.stageId);
    expect(got.body.result.CONTACT_ID).toBe(String(one.contactIds[0]));
    expect(got.body.result.CLOSED).toBe('Y');
  });

  it('refuses bad advance and uplift bodies with a JSON reason and changes nothing', async () => {
    const p = livePortal(200, 3);
    const emu = await emulatorFor(p);
    const deals = p.deals.size;
    for (const body of [{ days: -1 }, { days: 5000 }, { days: 'x' }, { days: 1, extra: 1 }, { days: 1000, hours: 24_000 }]) {
      const r = await post(`${emu.url}_emulator/live/advance`, body);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('INVALID_REQUEST');
    }
    for (const body of [{ uplift: -0.5 }, { uplift: 'big' }, { uplift: 1e9 }, { seed: 1 }]) {
      const r = await post(`${emu.url}_emulator/live`, body);
      expect(r.status).toBe(400);
    }
    expect(p.deals.size).toBe(deals);
    expect(p.clock.now()).toBe(T0);
    expect((await (await fetch(`${emu.url}_emulator/live`)).json()).uplift).toBe(0);
  });
});

describe('living portal: determinism', () => {
  function dealTable(p: Portal): unknown[] {
    return [...p.deals.values()].map((d) => [d.id, d.contactIds, d.companyId, d.categoryId, d.stageId, d.opportunity, d.currencyId, d.dateCreate, d.dateModify, d.closed, p.productRows.get(d.id)?.map((r) => [r.productId, r.quantity, r.price])]);
  }

  it('same seed → the same deals, whatever steps time is advanced in, across a state file round trip', async () => {
    const run = async (steps: number[], saveAfter = -1): Promise<unknown[]> => {
      let p = livePortal(1200, 9);
      startLive(p, { uplift: 0.5 });
      const ids = [...p.liveCustomers.keys()].filter(treated).slice(0, 200);
      for (const id of ids) p.workflowStarts.push({ id: `w${id}`, templateId: TEMPLATE, documentId: ['crm', 'CCrmDocumentContact', `CONTACT_${id}`], parameters: {}, startedBy: 1, at: p.clock.now() });
      for (const [i, days] of steps.entries()) {
        advanceLive(p, days * DAY);
        if (i === saveAfter) {
          const dir = mkdtempSync(join(tmpdir(), 'live-state-'));
          await savePortal(p, join(dir, 's.json'));
          p = await loadPortal(join(dir, 's.json'), { wallNow: () => 0 });
          rmSync(dir, { recursive: true, force: true });
        }
      }
      return dealTable(p);
    };
    const once = await run([60]);
    expect(await run([60])).toEqual(once);
    expect(await run([1, 9, 20, 0.5, 29.5])).toEqual(once);
    expect(await run([10, 50], 0)).toEqual(once);
    const other = livePortal(1200, 10);
    advanceLive(other, 60 * DAY);
    expect(dealTable(other)).not.toEqual(once);
  });

  it('the generated history is the same with or without the live model', () => {
    const a = new Portal({ clock: new PortalClock(T0, 1, () => 0) });
    const b = new Portal({ clock: new PortalClock(T0, 1, () => 0) });
    generatePortal(a, { contacts: 800, seed: 4 });
    generatePortal(b, { contacts: 800, seed: 4, live: true });
    expect(dealTable(b)).toEqual(dealTable(a));
    expect(a.liveCustomers.size).toBe(0);
    expect(b.liveCustomers.size).toBeGreaterThan(100);
  });
});

describe('living portal: real time from the CLI', () => {
  it('--live with a fast clock begins deals on its own; --uplift needs --live and a number', async () => {
    // a portal day per wall second: within a few seconds the portal begins new deals by itself
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/cli.ts', '--port', '0', '--contacts', '1500', '--seed', '2', '--live', '--uplift', '0.5', '--time-scale', '86400'], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += String(d)));
      const deadline = Date.now() + 45_000;
      while (!/^Emulator: (\S+)$/m.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const url = /^Emulator: (\S+)$/m.exec(stdout)?.[1];
      expect(url).toBeDefined();
      const first = await (await fetch(`${url}_emulator/live`)).json();
      expect(first.started).toBe(true);
      expect(first.uplift).toBe(0.5);
      expect(first.customers).toBeGreaterThan(100);
      const deals0 = (await (await fetch(`${url}_emulator/portal`)).json()).counts.deals;
      let deals = deals0;
      while (deals === deals0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        deals = (await (await fetch(`${url}_emulator/portal`)).json()).counts.deals;
      }
      expect(deals).toBeGreaterThan(deals0);
      const later = await (await fetch(`${url}_emulator/live`)).json();
      expect(later.cursor).toBeGreaterThan(first.cursor);
    } finally {
      child.kill('SIGTERM');
    }
    for (const [args, msg] of [[['--uplift', '0.5'], '--uplift needs --live'], [['--live', '--uplift=-1'], '--uplift must be'], [['--live', '--uplift', 'x'], '--uplift must be']] as const) {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/cli.ts', ...args], { cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        c.stderr.on('data', (d) => (stderr += String(d)));
        c.on('exit', (code) => resolve({ code, stderr }));
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(msg);
    }
  });
});
