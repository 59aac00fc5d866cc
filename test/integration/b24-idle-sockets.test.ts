/**
 * The REST transport drops idle keep-alive sockets before a server with Node's 5 s keep-alive
 * timeout closes them (src/b24/transport.ts IDLE_SOCKET_MS), so no call is written on a socket the
 * server is closing (ECONNRESET, "maybe sent": a workflow start would end 'unknown').
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDLE_SOCKET_MS, axiosTransport, keepAliveAgents } from '../../src/b24/transport.js';

describe('b24 transport: idle keep-alive sockets', () => {
  let server: http.Server;
  let url = '';
  const closedByServer: number[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ result: true })));
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (s) => s.on('close', () => closedByServer.push(Date.now())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/app.info.json`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('is shorter than a 5 s server keep-alive', () => {
    expect(IDLE_SOCKET_MS).toBeLessThan(5_000);
  });

  it('reuses a socket while it is fresh, and closes it itself after IDLE_SOCKET_MS idle', async () => {
    const t = axiosTransport({ timeoutMs: 10_000 });
    const key = Object.keys(keepAliveAgents.http.freeSockets);
    expect(key).toEqual([]);
    expect((await t({ url, body: {} })).status).toBe(200);
    expect((await t({ url, body: {} })).status).toBe(200);
    const free = Object.values(keepAliveAgents.http.freeSockets).flat();
    expect(free).toHaveLength(1); // the second call reused the first call's socket
    const idleSince = Date.now();
    await new Promise((r) => setTimeout(r, IDLE_SOCKET_MS + 600));
    expect(Object.values(keepAliveAgents.http.freeSockets).flat()).toHaveLength(0);
    // closed by the client before the server's 5 s keep-alive would have closed it
    expect(closedByServer).toHaveLength(1);
    expect(closedByServer[0]! - idleSince).toBeLessThan(5_000);
    // a call after the idle time opens a new socket and succeeds
    expect((await t({ url, body: {} })).status).toBe(200);
  }, 20_000);
});
