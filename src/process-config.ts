/**
 * How `npm start` runs this process (src/main.ts): the role from the command line and the
 * process-level environment, parsed with zod; every error names the flag or variable.
 *
 *   --role web|worker|all   web: HTTP only (sends jobs, runs none); worker: runs jobs, serves
 *                           only health and metrics; all (default): both in one process
 *   METRICS_PORT            health + /metrics on their own port (worker: default PORT). Set
 *                           for web/all: /metrics moves off the public port onto this one
 *   METRICS_TOKEN           /metrics demands `Authorization: Bearer <token>` (≥ 16 characters)
 *   SHUTDOWN_TIMEOUT_SEC    SIGTERM/SIGINT: in-flight requests and running jobs get this long
 *                           (default 30), then jobs are handed back to the queue
 *   JOB_CONCURRENCY         jobs per queue at a time in a worker (default 2)
 *   JOB_LOCK_TTL_SEC        portal lease length (default 120): a killed worker's portals are free
 *                           again, and its jobs handed back, about this long after it died
 *   JOB_POLL_SEC            how often an idle worker asks for jobs (default 2)
 *   WORKER_ID               label of this process in leases and logs (default w-<pid>-<random>)
 */
import { z } from 'zod';
import { ConfigError } from './config.js';

export const ROLES = ['web', 'worker', 'all'] as const;
export type Role = (typeof ROLES)[number];

export interface ProcessConfig {
  role: Role;
  metricsPort?: number;
  metricsToken?: string;
  shutdownTimeoutMs: number;
  jobConcurrency: number;
  lockTtlSec: number;
  pollSec: number;
  workerId?: string;
}

const envSchema = z.object({
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_TOKEN: z.string().trim().min(16, 'must be at least 16 characters').max(512).optional(),
  SHUTDOWN_TIMEOUT_SEC: z.coerce.number().min(1).max(3600).default(30),
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
  JOB_LOCK_TTL_SEC: z.coerce.number().min(1).max(3600).default(120),
  JOB_POLL_SEC: z.coerce.number().min(0.5).max(60).default(2),
  WORKER_ID: z.string().trim().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (≤ 64)').optional(),
});

const argsSchema = z.object({ role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }).default('all') });

/** `--role x` or `--role=x`; anything else is refused. */
export function parseArgs(argv: readonly string[]): { role: Role } {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--role(?:=(.*))?$/.exec(a);
    if (!m) throw new ConfigError(`unknown argument "${a}" (usage: npm start -- --role web|worker|all)`);
    const v = m[1] ?? argv[++i];
    if (v === undefined) throw new ConfigError('--role needs a value: web, worker or all');
    out.role = v;
  }
  const r = argsSchema.safeParse(out);
  if (!r.success) throw new ConfigError(`--role: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

export function loadProcessConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ProcessConfig {
  const { role } = parseArgs(argv);
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') clean[k] = v;
  const r = envSchema.safeParse(clean);
  if (!r.success) throw new ConfigError(`invalid environment:\n  ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`);
  const e = r.data;
  return {
    role,
    ...(e.METRICS_PORT !== undefined ? { metricsPort: e.METRICS_PORT } : {}),
    ...(e.METRICS_TOKEN ? { metricsToken: e.METRICS_TOKEN } : {}),
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_SEC * 1000,
    jobConcurrency: e.JOB_CONCURRENCY,
    lockTtlSec: e.JOB_LOCK_TTL_SEC,
    pollSec: e.JOB_POLL_SEC,
    ...(e.WORKER_ID ? { workerId: e.WORKER_ID } : {}),
  };
}
