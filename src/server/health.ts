/**
 * Health of a process, for orchestrators and load balancers:
 *   GET /livez   200 while the process runs (its event loop answers): restart it when this fails
 *   GET /readyz  200 when it can do its work: the database answers (within 2 s), every migration
 *                of this build is applied, the role's own checks pass (a worker: pg-boss
 *                started) and it is not shutting down; else 503 with the failing checks
 *   GET /healthz the database answers (kept for existing probes)
 * Every app server mounts it (src/server/app.ts), and so does the worker role's ops server.
 */
import { Router } from 'express';
import type { Db } from '../store/db.js';
import { pendingMigrations } from '../store/ops-stats.js';

export interface HealthOptions {
  db: Db;
  /** Further readiness checks of the role, by name. */
  checks?: Record<string, () => boolean>;
  /** True while the process shuts down: not ready any more (the balancer stops sending). */
  draining?: () => boolean;
  /** How long the database may take to answer, ms (default 2000). */
  dbTimeoutMs?: number;
}

function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

async function storeChecks(o: HealthOptions): Promise<Record<string, boolean>> {
  const ms = o.dbTimeoutMs ?? 2_000;
  try {
    await within(ms, o.db.query('SELECT 1'));
  } catch {
    return { database: false, migrations: false };
  }
  try {
    return { database: true, migrations: (await within(ms, pendingMigrations(o.db))).length === 0 };
  } catch {
    return { database: true, migrations: false };
  }
}

export function createHealthRouter(o: HealthOptions): Router {
  const r = Router();
  r.get('/livez', (_req, res) => {
    res.json({ ok: true });
  });
  r.get('/healthz', async (_req, res) => {
    try {
      await within(o.dbTimeoutMs ?? 2_000, o.db.query('SELECT 1'));
      res.json({ ok: true });
    } catch {
      res.status(503).json({ ok: false });
    }
  });
  r.get('/readyz', async (_req, res) => {
    const checks: Record<string, boolean> = { accepting: !o.draining?.() };
    Object.assign(checks, await storeChecks(o));
    for (const [name, check] of Object.entries(o.checks ?? {})) {
      try {
        checks[name] = check();
      } catch {
        checks[name] = false;
      }
    }
    const ok = Object.values(checks).every(Boolean);
    res.status(ok ? 200 : 503).json({ ok, checks });
  });
  return r;
}
