/**
 * Install flow, event delivery and uninstall over real HTTP: the emulator POSTs to a tiny
 * express receiver. Also state save/load and the CLI's flag handling.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import qs from 'qs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PortalClock } from '../../src/emulator/clock.js';
import { addContact } from '../../src/emulator/methods/index.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { loadPortal, savePortal } from '../../src/emulator/state.js';

const T0 = Date.UTC(2025, 5, 2, 9, 0, 0);

interface Received {
  path: string;
  contentType: string;
  raw: string;
  body: any;
}

const running: RunningEmulator[] = [];
const servers: Server[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'emu-events-'));

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function receiver(): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const app = express();
  app.use(express.text({ type: () => true }));
  app.post(/.*/, (req, res) => {
    got.push({ path: req.path, contentType: String(req.headers['content-type']), raw: req.body as string, body: qs.parse(req.body as string) });
    res.status(200).send('ok');
  });
  const server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

async function emulator(portal?: Portal): Promise<RunningEmulator> {
  const p = portal ?? new Portal({ clock: new PortalClock(T0, 1, () => 0) });
  const emu = await startEmulator({ portal: p, hostPage: false, log: () => undefined });
  running.push(emu);
  return emu;
}

async function post(url: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

async function install(emu: RunningEmulator, recv: string, extra: Record<string, unknown> = {}): Promise<any> {
  const r = await post(`${emu.url}_emulator/apps/install`, {
    clientId: 'local.evt.app', clientSecret: 'secret', appUrl: `${recv}/app`, installUrl: `${recv}/install`, scopes: ['crm', 'user'], mode: 'callback', ...extra,
  });
  expect(r.status).toBe(201);
  return r.body;
}

describe('install flow', () => {
  it('POSTs ONAPPINSTALL form-encoded with a refresh token; the app stays not installed until installFinish', async () => {
    const recv = await receiver();
    const emu = await emulator();
    const out = await install(emu, recv.url);
    expect(out.delivery.ok).toBe(true);
    expect(recv.got).toHaveLength(1);
    const ev = recv.got[0]!;
    expect(ev.path).toBe('/install');
    expect(ev.contentType).toBe('application/x-www-form-urlencoded');
    expect(ev.raw).toContain('auth%5Brefresh_token%5D=');
    expect(ev.body.event).toBe('ONAPPINSTALL');
    expect(ev.body.data).toEqual({ VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'en' });
    expect(ev.body.ts).toBe(String(T0 / 1000));
    const a = ev.body.auth;
    expect(Object.keys(a).sort()).toEqual(['access_token', 'application_token', 'client_endpoint', 'domain', 'expires', 'expires_in', 'member_id', 'refresh_token', 'scope', 'server_endpoint', 'status', 'user_id'].sort());
    expect(a).toMatchObject({
      expires: String(T0 / 1000 + 3600), expires_in: '3600', scope: 'crm,user', domain: emu.portal.domain,
      server_endpoint: `${emu.url}rest/`, client_endpoint: `${emu.url}rest/`, status: 'L', member_id: emu.portal.memberId, user_id: '1',
      application_token: out.app.applicationToken,
    });
    // the tokens work at once, the app reports INSTALLED false until installFinish
    const info = await (await fetch(`${emu.url}rest/app.info?auth=${a.access_token}`)).json();
    expect(info.result.INSTALLED).toBe(false);
    const fin = await post(`${emu.url}_emulator/apps/local.evt.app/install-finish`);
    expect(fin.body.app.installed).toBe(true);
    const info2 = await (await fetch(`${emu.url}rest/app.info?auth=${a.access_token}`)).json();
    expect(info2.result.INSTALLED).toBe(true);
    // refresh_token from the install event works at the OAuth server
    const ref = await fetch(`${emu.url}oauth/token/?grant_type=refresh_token&client_id=local.evt.app&client_secret=secret&refresh_token=${a.refresh_token}`);
    expect(ref.status).toBe(200);
  });

  it('wizard mode posts nothing; installing twice is refused', async () => {
    const recv = await receiver();
    const emu = await emulator();
    const out = await install(emu, recv.url, { mode: 'wizard' });
    expect(out.delivery).toBeNull();
    expect(recv.got).toHaveLength(0);
    const again = await post(`${emu.url}_emulator/apps/install`, { clientId: 'local.evt.app', appUrl: `${recv.url}/app`, scopes: [], mode: 'wizard' });
    expect(again.status).toBe(409);
    const bad = await post(`${emu.url}_emulator/apps/install`, { appUrl: 'not a url', scopes: [], mode: 'wizard' });
    expect(bad.status).toBe(400);
    const list = (await (await fetch(`${emu.url}_emulator/apps`)).json()).apps;
    expect(list.map((x: any) => [x.clientId, x.installed])).toEqual([['local.evt.app', false]]);
  });
});

describe('event delivery', () => {
  it('delivers nothing before installFinish, then form-encoded events with application_token', async () => {
    const recv = await receiver();
    const emu = await emulator();
    const out = await install(emu, recv.url);
    const token = recv.got[0]!.body.auth.access_token as string;
    recv.got.length = 0;
    const bind = await post(`${emu.url}rest/event.bind`, { auth: token, event: 'ONCRMCONTACTUPDATE', handler: `${recv.url}/events` });
    expect(bind.status).toBe(200);
    const c = addContact(emu.portal, { name: 'Ann', lastName: 'Lee' }, 1);

    await post(`${emu.url}_emulator/call/crm.contact.update`, { id: c.id, fields: { NAME: 'Anna' } });
    await post(`${emu.url}_emulator/events/flush`);
    expect(recv.got).toHaveLength(0);
    const skipped = (await (await fetch(`${emu.url}_emulator/stats`)).json()).events.skippedNotInstalled;
    expect(skipped).toBeGreaterThan(0);

    await post(`${emu.url}_emulator/apps/local.evt.app/install-finish`);
    const upd = await post(`${emu.url}_emulator/call/crm.contact.update?userId=1`, { id: c.id, fields: { NAME: 'Anne' } });
    expect(upd.body.result).toBe(true);
    const flushed = await post(`${emu.url}_emulator/events/flush`);
    expect(flushed.body.stats.delivered).toBe(2); // ONAPPINSTALL + this one
    expect(recv.got).toHaveLength(1);
    const ev = recv.got[0]!;
    expect(ev.path).toBe('/events');
    expect(ev.contentType).toBe('application/x-www-form-urlencoded');
    expect(ev.body.event).toBe('ONCRMCONTACTUPDATE');
    expect(ev.body.data).toEqual({ FIELDS: { ID: String(c.id) } });
    expect(ev.body.event_handler_id).toMatch(/^\d+$/);
    expect(ev.body.ts).toBe(String(T0 / 1000));
    expect(ev.body.auth.application_token).toBe(out.app.applicationToken);
    expect(ev.body.auth.refresh_token).toBeUndefined();
    expect(Object.keys(ev.body.auth).sort()).toEqual(['access_token', 'application_token', 'client_endpoint', 'domain', 'expires_in', 'member_id', 'scope', 'server_endpoint', 'status'].sort());
    const prof = await (await fetch(`${emu.url}rest/profile?auth=${ev.body.auth.access_token}`)).json();
    expect(prof.result.ID).toBe('1');
    const log = (await (await fetch(`${emu.url}_emulator/events`)).json()).deliveries;
    expect(log.map((d: any) => [d.event, d.ok])).toEqual([['ONAPPINSTALL', true], ['ONCRMCONTACTUPDATE', true]]);
  });

  it('counts failed deliveries (no retry) and keeps one offline record per object and event', async () => {
    const recv = await receiver();
    const emu = await emulator();
    await install(emu, recv.url);
    await post(`${emu.url}_emulator/apps/local.evt.app/install-finish`);
    const p = emu.portal;
    p.eventBindings.push({ id: p.nextId('eventBinding'), clientId: 'local.evt.app', event: 'ONCRMCONTACTUPDATE', handler: 'http://127.0.0.1:9/dead', authType: 0, eventType: 'online', options: {} });
    p.eventBindings.push({ id: p.nextId('eventBinding'), clientId: 'local.evt.app', event: 'ONCRMCONTACTUPDATE', handler: '', authType: 0, eventType: 'offline', options: {} });
    const a = addContact(p, { name: 'A', lastName: 'A' }, 1);
    const b = addContact(p, { name: 'B', lastName: 'B' }, 1);
    for (const [id, name] of [[a.id, 'A1'], [a.id, 'A2'], [b.id, 'B1']] as const) {
      await post(`${emu.url}_emulator/call/crm.contact.update`, { id, fields: { NAME: name } });
    }
    const stats = (await post(`${emu.url}_emulator/events/flush`)).body.stats;
    expect(stats.failed).toBe(3);
    expect(stats.offlineQueued).toBe(3);
    const offline = p.offlineEvents.filter((e) => e.eventName === 'ONCRMCONTACTUPDATE');
    expect(offline).toHaveLength(2);
    expect(offline.map((e) => (e.eventData as any).FIELDS.ID).sort()).toEqual([a.id, b.id].sort());
  });
});

describe('uninstall', () => {
  it('POSTs ONAPPUNINSTALL without tokens, removes bindings, revokes tokens, keeps options unless clean', async () => {
    const recv = await receiver();
    const emu = await emulator();
    const out = await install(emu, recv.url);
    const auth = recv.got[0]!.body.auth;
    await post(`${emu.url}_emulator/apps/local.evt.app/install-finish`);
    expect((await post(`${emu.url}rest/event.bind`, { auth: auth.access_token, event: 'ONAPPUNINSTALL', handler: `${recv.url}/uninstall` })).status).toBe(200);
    expect((await post(`${emu.url}rest/app.option.set`, { auth: auth.access_token, options: { keep: 'me' } })).status).toBe(200);
    recv.got.length = 0;

    const un = await post(`${emu.url}_emulator/apps/local.evt.app/uninstall`, { clean: false });
    expect(un.status).toBe(200);
    expect(un.body.deliveries).toHaveLength(1);
    expect(recv.got).toHaveLength(1);
    const ev = recv.got[0]!;
    expect(ev.body.event).toBe('ONAPPUNINSTALL');
    expect(ev.body.data).toEqual({ LANGUAGE_ID: 'en', CLEAN: '0' });
    expect(Object.keys(ev.body.auth).sort()).toEqual(['application_token', 'client_endpoint', 'domain', 'member_id', 'server_endpoint']);
    expect(ev.body.auth.application_token).toBe(out.app.applicationToken);
    expect(ev.raw).not.toContain('access_token');

    expect(emu.portal.eventBindings.filter((b) => b.clientId === 'local.evt.app')).toHaveLength(0);
    expect((await fetch(`${emu.url}rest/profile?auth=${auth.access_token}`)).status).toBe(401);
    const ref = await (await fetch(`${emu.url}oauth/token/?grant_type=refresh_token&client_id=local.evt.app&client_secret=secret&refresh_token=${auth.refresh_token}`)).json();
    expect(ref.error).toBe('invalid_client');
    expect(emu.portal.apps.get('local.evt.app')?.options).toEqual({ keep: 'me' });

    // reinstall sees the options again, with a new application token
    const again = await install(emu, recv.url);
    expect(again.app.applicationToken).not.toBe(out.app.applicationToken);
    const tok2 = recv.got.at(-1)!.body.auth.access_token;
    const opt = await (await fetch(`${emu.url}rest/app.option.get?auth=${tok2}&option=keep`)).json();
    expect(opt.result).toBe('me');

    // clean uninstall: CLEAN=1 and the record is gone
    await post(`${emu.url}_emulator/apps/local.evt.app/install-finish`);
    await post(`${emu.url}rest/event.bind`, { auth: tok2, event: 'ONAPPUNINSTALL', handler: `${recv.url}/uninstall` });
    await post(`${emu.url}_emulator/apps/local.evt.app/uninstall`, { clean: true });
    expect(recv.got.at(-1)!.body.data.CLEAN).toBe('1');
    expect(emu.portal.apps.has('local.evt.app')).toBe(false);
  });
});

describe('state file', () => {
  it('saves and loads a portal: data, apps, tokens, sequences, clock', async () => {
    const recv = await receiver();
    const emu = await emulator();
    await install(emu, recv.url);
    const token = recv.got[0]!.body.auth.access_token as string;
    for (let i = 0; i < 120; i++) addContact(emu.portal, { name: `N${i}`, lastName: 'X' }, 1);
    emu.portal.clock.advance(12_345);
    const file = join(tmp, 'portal.json');
    const saved = await post(`${emu.url}_emulator/state/save`, { path: file });
    expect(saved.status).toBe(200);
    expect(saved.body.rows).toBeGreaterThan(120);

    const loaded = await loadPortal(file, { wallNow: () => 0 });
    expect(loaded.memberId).toBe(emu.portal.memberId);
    expect(loaded.contacts.size).toBe(120);
    expect(loaded.contacts.get(7)).toEqual(emu.portal.contacts.get(7));
    expect(loaded.clock.now()).toBe(T0 + 12_345);
    expect(loaded.nextId('contact')).toBe(121);
    expect(loaded.tokens.get(token)).toBe(loaded.refreshTokens.get(loaded.tokens.get(token)!.refreshToken));
    expect(loaded.webhooks).toEqual(emu.portal.webhooks);
    const emu2 = await emulator(loaded);
    expect(emu2.webhookUrl.split('/').slice(4).join('/')).toBe(emu.webhookUrl.split('/').slice(4).join('/'));
    const list = await (await fetch(`${emu2.url}rest/crm.contact.list?auth=${token}&start=100`)).json();
    expect(list.total).toBe(120);
    expect(list.result).toHaveLength(20);
    // round trip is stable
    const file2 = join(tmp, 'portal2.json');
    await savePortal(loaded, file2);
    const again = await loadPortal(file2, { wallNow: () => 0 });
    expect([...again.contacts.values()]).toEqual([...loaded.contacts.values()]);
  });
});

function runCli(args: string[], untilLines = 0): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/cli.ts', ...args], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += String(d);
      if (untilLines && stdout.split('\n').filter(Boolean).length >= untilLines) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('CLI', () => {
  it('prints the base URL and the webhook URL, one labelled line each', async () => {
    const r = await runCli(['--port', '0', '--contacts', '30', '--seed', '3'], 2);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Emulator: http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(lines[1]).toMatch(/^Webhook: http:\/\/127\.0\.0\.1:\d+\/rest\/1\/[0-9a-f]{16}\/$/);
    expect(r.stderr).toContain('generated 30 contacts');
  });

  it('rejects bad flags with exit code 2 and a message', async () => {
    const plan = await runCli(['--plan', 'gold']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain('--plan must be standard or enterprise');
    const faults = await runCli(['--faults', '503=2']);
    expect(faults.code).toBe(2);
    expect(faults.stderr).toContain('fault spec');
    const unknown = await runCli(['--nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--nope'");
  });
});
