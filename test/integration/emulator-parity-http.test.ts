// Parity rules of the emulator's HTTP face (docs/emulator-parity.md): over-long URLs (rule 8)
// and the three ways to pass an OAuth access token (rule 9).
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PortalClock } from '../../src/emulator/clock.js';
import { installApp, finishInstall } from '../../src/emulator/apps.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { issueTokens } from '../../src/emulator/tokens.js';

const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function start(): Promise<{ emu: RunningEmulator; token: string; port: number }> {
  const portal = new Portal({ clock: new PortalClock(Date.UTC(2025, 5, 2, 9), 1, () => 0) });
  const emu = await startEmulator({ hostPage: false, portal, log: () => undefined });
  running.push(emu);
  const { app } = installApp(portal, emu.runtime.delivery, { appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user'], mode: 'wizard' });
  finishInstall(portal, app.clientId);
  return { emu, token: issueTokens(portal, app.clientId, 1).accessToken, port: Number(new URL(emu.url).port) };
}

/** Sends raw HTTP bytes and returns the whole answer (the server closes the connection). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => { out += d; });
    sock.on('end', () => resolve(out));
    sock.on('close', () => resolve(out));
    sock.on('error', (e) => (out ? resolve(out) : reject(e)));
    sock.write(text);
  });
}

describe('emulator parity over HTTP', () => {
  it("rule 8: an over-long URL gets nginx's 414 Request-URI Too Large page; oversized headers 431", async () => {
    const { emu, port } = await start();
    const long = `${emu.webhookUrl}crm.contact.list?filter[%NAME]=${'a'.repeat(9000)}`;
    const r = await fetch(long);
    expect(r.status).toBe(414);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    expect(await r.text()).toContain('<title>414 Request-URI Too Large</title>');
    // far longer, up to the server's parser limit (8 MiB)
    for (const n of [100_000, 1_100_000]) {
      const huge = await raw(port, `GET /rest/crm.contact.list?x=${'b'.repeat(n)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(huge).toMatch(/^HTTP\/1\.1 414 /);
      expect(huge).toContain('414 Request-URI Too Large');
    }
    // header fields over 16 KiB keep their 431 (with a body now)
    for (const n of [20_000, 1_100_000]) {
      const headers = await raw(port, `GET /rest/profile HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nCookie: ${'c'.repeat(n)}\r\n\r\n`);
      expect(headers).toMatch(/^HTTP\/1\.1 431 /);
    }
    // a URL just under the limit still reaches the REST face
    const ok = await fetch(`${emu.webhookUrl}crm.contact.list?filter[%NAME]=${'a'.repeat(7000)}`);
    expect(ok.status).toBe(200);
  });

  it('rule 9: the access token is accepted as auth, as access_token and as Authorization: Bearer (Bearer, then auth, wins)', async () => {
    const { emu, token } = await start();
    const url = `${emu.url}rest/profile`;
    const id = async (init: RequestInit, query = ''): Promise<[number, unknown]> => {
      const r = await fetch(`${url}${query}`, init);
      const b = (await r.json()) as { result?: { ID?: string }; error?: string };
      return [r.status, b.result?.ID ?? b.error];
    };
    expect(await id({}, `?auth=${token}`)).toEqual([200, '1']);
    expect(await id({}, `?access_token=${token}`)).toEqual([200, '1']);
    expect(await id({ headers: { Authorization: `Bearer ${token}` } })).toEqual([200, '1']);
    expect(await id({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ access_token: token }) })).toEqual([200, '1']);
    // precedence: the header first, then auth, then access_token
    expect(await id({ headers: { Authorization: 'Bearer nope' } }, `?auth=${token}`)).toEqual([401, 'NO_AUTH_FOUND']);
    expect(await id({}, `?auth=nope&access_token=${token}`)).toEqual([401, 'NO_AUTH_FOUND']);
    expect(await id({ headers: { Authorization: `Bearer ${token}` } }, '?auth=nope')).toEqual([200, '1']);
    // neither token parameter reaches the method
    const b = await fetch(`${emu.url}rest/batch`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ cmd: { a: `crm.contact.list?access_token=${token}&auth=${token}` } }),
    });
    expect(b.status).toBe(200);
    expect(((await b.json()) as { result: { result_error: unknown } }).result.result_error).toEqual([]);
  });

  it('rule 10f: batch gives result_time only for executed commands and an empty description for a scope refusal (batch.md)', async () => {
    const { emu, token } = await start();
    const r = await fetch(`${emu.url}rest/batch`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ auth: token, halt: 0, cmd: { ok: 'profile', scope: 'bizproc.workflow.template.list', none: 'no.such.method' } }),
    });
    expect(r.status).toBe(200);
    const b = ((await r.json()) as { result: Record<string, Record<string, unknown>> }).result;
    expect(Object.keys(b['result_time']!)).toEqual(['ok']);
    expect(b['result_error']).toEqual({
      scope: { error: 'insufficient_scope', error_description: '' },
      none: { error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' },
    });
  });
});
