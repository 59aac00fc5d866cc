/**
 * Starts the app server: config → store (migrated) → express app → listen.
 *
 *   const app = await startApp({ config: { port: 0, publicUrl: ... } });
 *   app.url; app.db; await app.close();
 *
 * Run directly (`tsx src/app.ts`) it reads the environment (src/config.ts) and serves until
 * SIGINT/SIGTERM.
 */
import type { Server } from 'node:http';
import type { Router } from 'express';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { loadManifest, type Manifest } from '../manifest/index.js';
import type { LimiterOptions } from './b24/limiter.js';
import { loadConfig, type AppConfig } from './config.js';
import { clientForPortal, forgetPortalClient, type PortalClientOptions } from './portal-clients.js';
import { createServer, SERVER_KEEP_ALIVE_MS } from './server/app.js';
import type { ServerDeps } from './server/deps.js';
import { MemoryCrmEventQueue, type CrmEventSink } from './server/event-queue.js';
import { createLogger, type Logger } from './server/log.js';
import { openStore, type Db } from './store/index.js';
import { startWorkers, type StartWorkersOptions, type Workers } from './jobs/index.js';

export interface StartAppOptions {
  /** Overrides on top of the environment (tests, the demo). */
  config?: Partial<AppConfig>;
  env?: NodeJS.ProcessEnv;
  /** An already open, migrated store (tests); otherwise opened from the config. */
  db?: Db;
  log?: Logger;
  events?: CrmEventSink;
  /** Limiter options of portal clients (the emulator's timeScale in the demo). */
  limiter?: LimiterOptions;
  client?: PortalClientOptions['client'];
  manifest?: Manifest;
  /** Where the built UI lives (default ui/dist); without a build the pages fall back to a status page. */
  uiDist?: string;
  /** "Run now" from the UI; default: the job queue's sync + score + write-back for a portal. */
  runNow?: ServerDeps['runNow'];
  /**
   * Start the pg-boss workers in this process (default true): they process CRM events, the
   * nightly schedules, "run now" and the first cycle after install. false: HTTP only, and CRM
   * events go to `events` (or an in-memory queue).
   */
  workers?: boolean | Omit<StartWorkersOptions, 'db' | 'clientFor' | 'log'>;
  /** Overrides of the HTTP rate limits (src/server/rate-limit.ts). */
  rateLimits?: ServerDeps['rateLimits'];
  /** Operations routers (the metrics: src/main.ts), mounted before everything else. */
  ops?: Router[];
  /** The role's readiness checks (/readyz); draining is added here. */
  healthChecks?: Record<string, () => boolean>;
}

export interface CloseOptions {
  /** How long in-flight requests and running jobs may take, ms (default 10 000; `npm start`: SHUTDOWN_TIMEOUT_SEC). */
  timeoutMs?: number;
}

export interface RunningApp {
  url: string;
  port: number;
  db: Db;
  config: AppConfig;
  deps: ServerDeps;
  events: CrmEventSink;
  /** The job workers, when started. */
  workers: Workers | null;
  /** True once close() began: /readyz answers 503. */
  readonly draining: boolean;
  /**
   * Graceful: stops accepting connections, lets in-flight requests finish (then cuts what is
   * left after the timeout), stops the workers (running jobs finish or are handed back), closes
   * the store it opened.
   */
  close(o?: CloseOptions): Promise<void>;
}

export async function startApp(opts: StartAppOptions = {}): Promise<RunningApp> {
  const config = loadConfig(opts.env ?? process.env, opts.config);
  const ownLog = opts.log ? null : createLogger({ level: config.logLevel, ...(config.logDir ? { files: { dir: config.logDir, retentionDays: config.logRetentionDays } } : {}) });
  const log: Logger = opts.log ?? ownLog!;
  const ownDb = !opts.db;
  const db = opts.db ?? (await openStore({ databaseUrl: config.databaseUrl ?? '', dataDir: config.dataDir }));
  const clientOpts: PortalClientOptions = { clientId: config.clientId, clientSecret: config.clientSecret, limiter: opts.limiter, client: opts.client };
  const clientFor = (portalId: number) => clientForPortal(db, portalId, clientOpts);
  const workers = opts.workers === false ? null
    : await startWorkers({
      db, clientFor, log, housekeeping: { ...config.retention },
      ...(typeof opts.workers === 'object' ? opts.workers : {}),
    });
  const events = opts.events ?? workers?.sink ?? new MemoryCrmEventQueue();
  const runNow: ServerDeps['runNow'] = opts.runNow ?? (workers
    ? async (portalId) => {
      const id = await workers.enqueue.sync(portalId, 'auto', true);
      return id ? { started: true } : { started: false, message: 'a run for this portal is already queued' };
    }
    : undefined);
  let closed = false;
  const deps: ServerDeps = {
    db,
    config,
    manifest: opts.manifest ?? loadManifest(),
    log,
    events,
    clientFor,
    forgetClient: (portalId) => forgetPortalClient(db, portalId),
    limiter: opts.limiter,
    ...(opts.rateLimits ? { rateLimits: opts.rateLimits } : {}),
    ...(opts.ops ? { ops: opts.ops } : {}),
    health: { draining: () => closed, ...(opts.healthChecks ? { checks: opts.healthChecks } : {}) },
    ...(opts.uiDist ? { uiDist: opts.uiDist } : {}),
    ...(runNow ? { runNow } : {}),
    ...(workers ? { writeBackNow: async (portalId: number) => void (await workers.enqueue.writeback(portalId)) } : {}),
    ...(workers ? { onInstalled: async (portalId: number) => void (await workers.enqueue.sync(portalId, 'full', true)) } : {}),
  };
  const app = createServer(deps);
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
      s.once('error', reject);
    });
  } catch (e) {
    await workers?.stop();
    if (ownDb) await db.close();
    throw e;
  }
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  const port = (server.address() as AddressInfo).port;
  // With an ephemeral port and no PUBLIC_URL, handler URLs must name the real port.
  if (config.port === 0 && !opts.config?.publicUrl && !(opts.env ?? process.env).PUBLIC_URL) config.publicUrl = `http://127.0.0.1:${port}`;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  log.info('app: listening', { url: `http://${host}:${port}`, publicUrl: config.publicUrl, store: db.kind });
  return {
    url: `http://${host}:${port}`,
    port,
    db,
    config,
    deps,
    events,
    workers,
    get draining() {
      return closed;
    },
    async close(o: CloseOptions = {}) {
      if (closed) return;
      closed = true;
      const timeoutMs = o.timeoutMs ?? 10_000;
      await drainServer(server, timeoutMs);
      await workers?.stop({ timeoutMs });
      if (ownDb) await db.close();
      await ownLog?.close();
    },
  };
}

/** Stops accepting, closes idle keep-alive connections, waits for in-flight requests up to `timeoutMs`, then cuts the rest. */
export async function drainServer(server: Server, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), timeoutMs);
    cut.unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  startApp().then(
    (app) => {
      const stop = () => void app.close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (e: unknown) => {
      process.stderr.write(`app: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
