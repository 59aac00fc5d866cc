/**
 * How B24Client sends one request: POST JSON to a URL, answer {status, data} whatever the status
 * (the client reads the portal's error envelope itself). A network failure throws an error whose
 * `code` names it (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...: the client decides from it whether the
 * request may have been sent). The default is axios with keep-alive agents; tests may inject a
 * transport that plays a portal.
 */
import http from 'node:http';
import https from 'node:https';
import axios from 'axios';

export interface TransportRequest {
  url: string;
  /** JSON body (the client adds `auth`) */
  body: unknown;
}

export interface TransportAnswer {
  status: number;
  /** parsed JSON, or the raw text when the body is not JSON */
  data: unknown;
}

export type Transport = (req: TransportRequest) => Promise<TransportAnswer>;

/**
 * How long an idle keep-alive socket stays in the pool, ms. Servers close idle connections after
 * their own keep-alive timeout (Node's default and our emulator's: 5 s); a request written on a
 * socket the server is closing at that moment fails with ECONNRESET, "maybe sent", which a
 * non-idempotent call (a workflow start, an OAuth refresh) must not retry. Dropping idle sockets
 * first (the agent's `timeout` applies to free sockets: they are destroyed when it fires) avoids
 * that race. The margin is 3 s, not 1: the client's idle clock starts when it has read the answer,
 * the server's when it wrote it, and on a loaded machine (a test run at load average 15) reading
 * an answer was seen to lag by more than a second, so a 4 s timeout still lost the race. Active
 * requests keep axios's own timeout.
 */
export const IDLE_SOCKET_MS = 2_000;

export const keepAliveAgents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 8, timeout: IDLE_SOCKET_MS }),
  https: new https.Agent({ keepAlive: true, maxSockets: 8, timeout: IDLE_SOCKET_MS }),
};
const keepAlive = keepAliveAgents;

export function axiosTransport(o: { timeoutMs?: number; userAgent?: string } = {}): Transport {
  const client = axios.create({
    timeout: o.timeoutMs ?? 60_000,
    validateStatus: () => true,
    httpAgent: keepAlive.http,
    httpsAgent: keepAlive.https,
    maxRedirects: 0,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': o.userAgent ?? 'b24-segments/0.1 (node)' },
    transitional: { clarifyTimeoutError: true },
  });
  return async ({ url, body }) => {
    const res = await client.post(url, body);
    return { status: res.status, data: res.data };
  };
}
