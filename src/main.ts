/**
 * `npm start -- --role web|worker|all` (compiled: `node dist/src/main.js`; the build is
 * `npm run build`). src/process-config.ts lists the flags and variables; docs/processes.md the
 * roles, health, metrics and shutdown.
 *
 *  - web:    the HTTP app (install, events, UI, API); it sends jobs but runs none
 *  - worker: runs the jobs (pg-boss); serves only /livez, /readyz, /healthz and /metrics on
 *            METRICS_PORT (default PORT)
 *  - all:    both in one process (the default)
 *
 * SIGTERM / SIGINT: /readyz turns 503, the server stops accepting and finishes in-flight
 * requests, the workers stop fetching and let running jobs finish for SHUTDOWN_TIMEOUT_SEC,
 * then hand them back (pg-boss retries them elsewhere) and release their portal leases; exit 0.
 * A second signal exits at once (1).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import type { Router } from 'express';
import { startApp, type RunningApp } from './app.js';
import { loadConfig, type AppConfig } from './config.js';
import { clientForPortal } from './portal-clients.js';
import { loadProcessConfig, type ProcessConfig, type Role } from './process-config.js';
import { startOpsServer, type OpsServer } from './ops-server.js';
import { queueDepth, startWorkers, type Workers } from './jobs/index.js';
import { createHealthRouter } from './server/health.js';
import { createLogger, type Logger } from './server/log.js';
import { createMetrics, type Metrics } from './server/metrics.js';
import { openStore, serverWarnings, type Db } from './store/index.js';

export interface RunningRole {
  role: Role;
  /** The app's URL (web, all). */
  url?: string;
  /** Where health and metrics answer (the app's URL unless on their own port). */
  opsUrl: string;
  workers: Workers | null;
  close(): Promise<void>;
}

export interface StartRoleOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

/** The repository root, from src/ (tsx) or dist/src/ (built). */
function projectRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return existsSync(path.join(here, '..', 'package.json')) ? path.join(here, '..') : path.join(here, '..', '..');
}

function workerOptions(pc: ProcessConfig) {
  return { concurrency: pc.jobConcurrency, lockTtlSec: pc.lockTtlSec, pollingIntervalSeconds: pc.pollSec, ...(pc.workerId ? { workerId: pc.workerId } : {}) };
}

async function openConfiguredStore(config: AppConfig): Promise<Db> {
  return openStore({ databaseUrl: config.databaseUrl ?? '', dataDir: config.dataDir });
}

export async function startRole(pc: ProcessConfig, o: StartRoleOptions = {}): Promise<RunningRole> {
  const env = o.env ?? process.env;
  const config = loadConfig(env);
  // the same logger as app.ts builds: stderr, plus daily files under LOG_DIR kept LOG_RETENTION_DAYS
  const ownLog = o.log ? null : createLogger({ level: config.logLevel, ...(config.logDir ? { files: { dir: config.logDir, retentionDays: config.logRetentionDays } } : {}) });
  const log: Logger = o.log ?? ownLog!;
  const db = await openConfiguredStore(config);
  try {
    for (const w of await serverWarnings(db)) log.warn('store: PostgreSQL setting', { ...w });
    const role = pc.role === 'worker' ? await startWorkerRole(pc, config, db, log) : await startWebRole(pc, config, db, log, env);
    return { ...role, async close() { await role.close(); await ownLog?.close(); } };
  } catch (e) {
    await db.close();
    await ownLog?.close();
    throw e;
  }
}

async function startWebRole(pc: ProcessConfig, config: AppConfig, db: Db, log: Logger, env: NodeJS.ProcessEnv): Promise<RunningRole> {
  let app: RunningApp | null = null;
  const metrics = createMetrics({ db, ...(pc.metricsToken ? { token: pc.metricsToken } : {}), queueDepth: async () => (app?.workers ? queueDepth(app.workers.boss) : []) });
  const checks = { jobs: () => !!app?.workers };
  const health = createHealthRouter({ db, draining: () => app?.draining ?? false, checks });
  const ops: Router[] = pc.metricsPort === undefined ? [metrics.router] : [];
  app = await startApp({
    env, db, log, ops, healthChecks: checks, uiDist: path.join(projectRoot(), 'ui/dist'),
    client: { observer: metrics.restObserver },
    workers: pc.role === 'web' ? { work: false } : workerOptions(pc),
  });
  const own = pc.metricsPort === undefined ? null : await startOpsServer([health, metrics.router], pc.metricsPort, config.host);
  const running = app;
  log.info('main: started', { role: pc.role, url: running.url, ...(own ? { ops: own.url } : {}), heapLimitMb: heapLimitMb() });
  return {
    role: pc.role, url: running.url, opsUrl: own?.url ?? running.url, workers: running.workers,
    async close() {
      await running.close({ timeoutMs: pc.shutdownTimeoutMs });
      await own?.close();
      await db.close();
    },
  };
}

async function startWorkerRole(pc: ProcessConfig, config: AppConfig, db: Db, log: Logger): Promise<RunningRole> {
  let workers: Workers | null = null;
  let draining = false;
  const metrics: Metrics = createMetrics({ db, ...(pc.metricsToken ? { token: pc.metricsToken } : {}), queueDepth: async () => (workers ? queueDepth(workers.boss) : []) });
  const health = createHealthRouter({ db, draining: () => draining, checks: { workers: () => workers !== null } });
  const clientOpts = { clientId: config.clientId, clientSecret: config.clientSecret, client: { observer: metrics.restObserver } };
  workers = await startWorkers({ db, clientFor: (id) => clientForPortal(db, id, clientOpts), log, housekeeping: { ...config.retention }, ...workerOptions(pc) });
  let ops: OpsServer;
  try {
    ops = await startOpsServer([health, metrics.router], pc.metricsPort ?? config.port, config.host);
  } catch (e) {
    await workers.stop({ timeoutMs: 1_000 });
    throw e;
  }
  const w = workers;
  log.info('main: started', { role: 'worker', workerId: w.workerId, ops: ops.url, heapLimitMb: heapLimitMb() });
  return {
    role: 'worker', opsUrl: ops.url, workers: w,
    async close() {
      draining = true;
      await w.stop({ timeoutMs: pc.shutdownTimeoutMs });
      await ops.close();
      await db.close();
    },
  };
}

/** The command: start the role, stop gracefully on SIGTERM / SIGINT. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let running: RunningRole;
  try {
    running = await startRole(loadProcessConfig(argv));
  } catch (e) {
    process.stderr.write(`b24-segments: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`b24-segments: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`b24-segments: ${signal}, shutting down (${running.role})\n`);
    running.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`b24-segments: shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main();

/** V8's heap limit (set with NODE_OPTIONS=--max-old-space-size, docs/deploy.md "Worker memory"), in the start line. */
function heapLimitMb(): number {
  return Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
}
