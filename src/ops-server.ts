/**
 * A small HTTP server for operations only (health and metrics): the worker role's, and the web
 * role's when METRICS_PORT moves /metrics off the public port. Everything else is a JSON 404.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import { drainServer } from './app.js';
import { SERVER_KEEP_ALIVE_MS } from './server/app.js';

export interface OpsServer {
  url: string;
  port: number;
  close(timeoutMs?: number): Promise<void>;
}

export async function startOpsServer(routers: Router[], port: number, host: string): Promise<OpsServer> {
  const app = express();
  app.disable('x-powered-by');
  for (const r of routers) app.use(r);
  app.use((_req, res) => {
    res.status(404).json({ error: 'NOT_FOUND', reason: 'this port serves /livez, /readyz, /healthz and /metrics only' });
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  const p = (server.address() as AddressInfo).port;
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return { url: `http://${h}:${p}`, port: p, close: (timeoutMs = 5_000) => drainServer(server, timeoutMs) };
}
