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

/**
 * True when a request failed because it was written on a kept-alive socket the server had already
 * closed: Node marks a request sent on a reused socket (`reusedSocket`), and a reset or broken pipe
 * there, before any answer, means the server closed the idle connection and never read the request
 * (Node's documentation on `request.reusedSocket` recommends retrying exactly this). It happens
 * despite IDLE_SOCKET_MS when this process's event loop was blocked past the server's keep-alive
 * (PGlite runs its queries synchronously in-process): the idle timer could not fire, and the next
 * request took the socket in the same tick the loop came back.
 */
export function staleSocketError(err: unknown): boolean {
  const e = err as { code?: string; request?: { reusedSocket?: boolean }; response?: unknown } | null;
  return !!e && (e.code === 'ECONNRESET' || e.code === 'EPIPE') && e.request?.reusedSocket === true && !e.response;
}

/**
 * Runs `send` again (at most twice) when it failed on a stale kept-alive socket (staleSocketError); any
 * other error is thrown as is. Only for a request whose repetition can do no harm even if the server
 * had read it: the OAuth refresh (a second refresh with a spent token answers invalid_grant, the same
 * end as an unanswered one). REST calls are not retried here: B24Client retries the idempotent ones.
 */
export async function retryStaleSocket<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (attempt >= 2 || !staleSocketError(err)) throw err;
    }
  }
}

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
    // not retryStaleSocket: a server that read a write and then dropped the connection looks the same,
    // and the client decides what may be sent again (B24Client: idempotent calls are retried)
    const res = await client.post(url, body);
    return { status: res.status, data: res.data };
  };
}
