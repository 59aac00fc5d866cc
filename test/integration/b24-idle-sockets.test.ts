/**
 * The REST transport drops idle keep-alive sockets before a server with Node's 5 s keep-alive
 * timeout closes them (src/b24/transport.ts IDLE_SOCKET_MS), so no call is written on a socket the
 * server is closing (ECONNRESET, "maybe sent": a workflow start would end 'unknown').
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDLE_SOCKET_MS, axiosTransport, keepAliveAgents, staleSocketError } from '../../src/b24/transport.js';
import { refreshAccessToken } from '../../src/b24/auth.js';

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

/**
 * When this process's event loop is blocked past the server's keep-alive (PGlite runs its queries
 * synchronously in-process), the idle timer cannot drop the socket first, and the next request is
 * written on a socket the server has closed: it fails with ECONNRESET on a reused socket. A TCP
 * server that plays exactly that (answers the first request of a connection with keep-alive, closes
 * the connection when a second one arrives) stands in for the race.
 */
describe('b24 transport: a request written on a socket the server has closed', () => {
  let server: net.Server;
  let url = '';
  let connections = 0;
  beforeAll(async () => {
    server = net.createServer((sock) => {
      const n = ++connections;
      let seen = 0;
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        // one request per complete head + body ({} is 2 bytes: the clients send Content-Length)
        while (/\r\n\r\n/.test(buf)) {
          const head = buf.slice(0, buf.indexOf('\r\n\r\n'));
          const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buf.length < head.length + 4 + len) return;
          buf = buf.slice(head.length + 4 + len);
          if (++seen > 1) return void sock.destroy(); // the server had closed this idle connection
          const body = JSON.stringify({ access_token: 'a1', refresh_token: 'r2', expires_in: 3600, client_endpoint: 'https://x.bitrix24.com/rest/', connection: n });
          sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n${body}`);
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/app.info.json`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });
  const settle = () => new Promise((r) => setTimeout(r, 50)); // the answered socket back in the agent's free list

  it('the REST transport does not send again (the client decides); the OAuth refresh does, on a new connection, once', async () => {
    const t = axiosTransport({ timeoutMs: 10_000 });
    expect((await t({ url, body: {} })).status).toBe(200);
    await settle();
    const err = await t({ url, body: {} }).then(() => null, (e: unknown) => e);
    expect((err as { code?: string } | null)?.code).toBe('ECONNRESET');
    expect(staleSocketError(err)).toBe(true);

    const params = { oauthUrl: url.replace(/rest\/app\.info\.json$/, ''), clientId: 'app.1', clientSecret: 's', refreshToken: 'r1' };
    const first = await refreshAccessToken(params);
    expect(first.accessToken).toBe('a1');
    await settle();
    const before = connections;
    const again = await refreshAccessToken(params);
    expect(again.accessToken).toBe('a1');
    // answered on a new connection, the stale one dropped: one new connection, not two
    expect(connections).toBe(before + 1);
  }, 20_000);

  it('an error that is not a stale socket is not retried (a refused connection, a fresh socket, an answer with a status)', () => {
    expect(staleSocketError({ code: 'ECONNREFUSED', request: { reusedSocket: true } })).toBe(false);
    expect(staleSocketError({ code: 'ECONNRESET', request: { reusedSocket: false } })).toBe(false);
    expect(staleSocketError({ code: 'ECONNRESET', request: { reusedSocket: true }, response: { status: 502 } })).toBe(false);
    expect(staleSocketError(null)).toBe(false);
  });
});
