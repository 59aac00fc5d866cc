/**
 * Prometheus metrics of one process (prom-client 15, its own registry):
 *
 *   b24seg_rest_requests_total{method_class, status}   HTTP requests to portals by answer
 *   b24seg_rest_limited_total{code}                     refusals by the portals' limits (429, 503)
 *   b24seg_job_queue_depth{queue, state}                pg-boss jobs queued (created + retry) / active
 *   b24seg_portal_sync_lag_seconds{portal}              now − the portal's last successful sync
 *   b24seg_writeback_backlog{portal}                    labels of the latest run not written yet
 *   b24seg_portals{status}                              portals by status
 *   b24seg_process_*, b24seg_nodejs_*                   prom-client's default process metrics
 *
 * The REST counters count this process's requests (`restObserver` is handed to every portal
 * client); the other gauges are read from the store and pg-boss at scrape time, the same in
 * every process (cluster-wide), and cached for `cacheMs` so scrapes cost at most one round of
 * queries per window. Per-portal series exist only for active portals (label: portal id, never
 * the domain). `/metrics` answers 401 without `Authorization: Bearer <METRICS_TOKEN>` when a
 * token is set.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { Router, type Request } from 'express';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { RestObserver } from '../b24/client.js';
import type { Db } from '../store/db.js';
import { portalSyncLag, writebackBacklog } from '../store/ops-stats.js';
import { sendJsonError } from './body.js';

export interface QueueDepth {
  queue: string;
  state: 'queued' | 'active';
  jobs: number;
}

export interface MetricsOptions {
  db: Db;
  /** The job queues' depth (pg-boss getQueueSize per queue); absent: no queue gauge. */
  queueDepth?: () => Promise<QueueDepth[]>;
  /** Store figures are re-read at most this often (default 10 000 ms). */
  cacheMs?: number;
  /** Per-portal series for at most this many active portals (default 10 000). */
  maxPortals?: number;
  /** Bearer token /metrics demands (METRICS_TOKEN); absent: open. */
  token?: string;
}

export interface Metrics {
  registry: Registry;
  restObserver: RestObserver;
  router: Router;
}

const KNOWN_STATUS = new Set([0, 200, 400, 401, 403, 404, 429, 500, 502, 503, 504]);
const MAX_CLASSES = 64;

/** `crm.contact.update` → `crm.contact`; `batch` → `batch`. */
export function methodClass(method: string): string {
  const m = method.toLowerCase();
  if (!/^[a-z0-9_.]{1,100}$/.test(m)) return 'other';
  return m.split('.').slice(0, 2).join('.');
}

const statusLabel = (s: number) => (KNOWN_STATUS.has(s) ? String(s) : `${Math.floor(s / 100)}xx`);

function cached<T>(ms: number, load: () => Promise<T>): () => Promise<T> {
  let at = -Infinity;
  let value: Promise<T> | null = null;
  return () => {
    if (!value || performance.now() - at > ms) {
      at = performance.now();
      value = load();
      value.catch(() => { value = null; });
    }
    return value;
  };
}

function restMetrics(registry: Registry): RestObserver {
  const requests = new Counter({ name: 'b24seg_rest_requests_total', help: 'HTTP requests to Bitrix24 portals, by method class and answer status (0 = network error)', labelNames: ['method_class', 'status'], registers: [registry] });
  const limited = new Counter({ name: 'b24seg_rest_limited_total', help: 'Refusals by the portals\' limits: 503 QUERY_LIMIT_EXCEEDED, 429 OPERATION_TIME_LIMIT (batch commands included)', labelNames: ['code'], registers: [registry] });
  const classes = new Set<string>();
  const cls = (method: string) => {
    const c = methodClass(method);
    if (classes.has(c)) return c;
    if (classes.size >= MAX_CLASSES) return 'other';
    classes.add(c);
    return c;
  };
  return {
    response: (method, status) => requests.inc({ method_class: cls(method), status: statusLabel(status) }),
    limited: (kind) => limited.inc({ code: String(kind) }),
  };
}

function storeGauges(registry: Registry, o: MetricsOptions): void {
  const ms = o.cacheMs ?? 10_000;
  const max = o.maxPortals ?? 10_000;
  const lag = cached(ms, () => portalSyncLag(o.db, max));
  const backlog = cached(ms, () => writebackBacklog(o.db, max));
  const portals = cached(ms, async () => (await o.db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM portals GROUP BY status`)).rows);
  new Gauge({
    name: 'b24seg_portal_sync_lag_seconds', help: 'Seconds since the portal\'s last successful sync finished (never synced: since install); active portals', labelNames: ['portal'], registers: [registry],
    async collect() { this.reset(); for (const f of await lag()) this.set({ portal: String(f.portalId) }, Math.round(f.value)); },
  });
  new Gauge({
    name: 'b24seg_writeback_backlog', help: 'Labels of the portal\'s latest score run that no write-back of that run has handled yet; active portals', labelNames: ['portal'], registers: [registry],
    async collect() { this.reset(); for (const f of await backlog()) this.set({ portal: String(f.portalId) }, f.value); },
  });
  new Gauge({
    name: 'b24seg_portals', help: 'Installed portals by status', labelNames: ['status'], registers: [registry],
    async collect() { this.reset(); for (const r of await portals()) this.set({ status: r.status }, r.n); },
  });
  if (o.queueDepth) {
    const depth = cached(ms, o.queueDepth);
    new Gauge({
      name: 'b24seg_job_queue_depth', help: 'Jobs per queue: queued (created or waiting for a retry) and active', labelNames: ['queue', 'state'], registers: [registry],
      async collect() { this.reset(); for (const d of await depth()) this.set({ queue: d.queue, state: d.state }, d.jobs); },
    });
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function authorized(req: Request, token: string | undefined): boolean {
  if (!token) return true;
  const h = req.get('authorization') ?? '';
  const m = /^Bearer ([^\s]{1,512})$/.exec(h);
  return !!m && timingSafeEqual(digest(m[1]!), digest(token));
}

export function createMetrics(o: MetricsOptions): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'b24seg_' });
  const restObserver = restMetrics(registry);
  storeGauges(registry, o);
  const router = Router();
  router.get('/metrics', async (req, res) => {
    if (!authorized(req, o.token)) {
      res.set('WWW-Authenticate', 'Bearer');
      return sendJsonError(res, 401, 'UNAUTHORIZED', 'metrics need Authorization: Bearer <METRICS_TOKEN>');
    }
    try {
      const body = await registry.metrics();
      res.type(registry.contentType).send(body);
    } catch {
      sendJsonError(res, 503, 'METRICS_UNAVAILABLE', 'metrics could not be collected');
    }
  });
  return { registry, restObserver, router };
}
