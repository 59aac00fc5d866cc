/**
 * Environment of the app server, parsed once with zod. Every error names the variable.
 *
 *   PORT                    listen port (default 3000; 0 = ephemeral)
 *   HOST                    listen address (default 0.0.0.0)
 *   PUBLIC_URL              the app's public base URL as the portal reaches it; every handler URL
 *                           we register (placements, events) is built from it. Default
 *                           http://127.0.0.1:PORT (development only; required in production)
 *   CLIENT_ID, CLIENT_SECRET the app's OAuth credentials (Market/local app card). Required in production
 *   TOKEN_ENCRYPTION_KEY    32 bytes (hex or base64); validated by src/store/crypto.ts
 *   DATABASE_URL            postgres://... → PostgreSQL; else PGlite in DATA_DIR
 *   DATA_DIR                PGlite directory (default ./data)
 *   SESSION_SECRET          for the UI's sessions (later); ≥ 32 characters, required in production
 *   LOG_LEVEL               debug | info | warn | error (default info)
 *   LOG_DIR                 also write the log lines into this directory, one file per day
 *                           (src/server/log.ts; one directory per process). Default: stderr only
 *   LOG_RETENTION_DAYS      whole days of log files kept besides today (default 7, at least 3)
 *   RETAIN_SCORE_RUNS       score runs kept per portal: the latest N (default 10, at least 2) plus
 *   RETAIN_SCORE_MONTHS     the first run of each of the last M months (default 12) (src/store/retention.ts)
 *   RETAIN_INBOX_DAYS       CRM event inbox rows older than this are dropped (default 7)
 *   RETAIN_JOBS_DAYS        finished jobs stay in pg-boss's archive this long (default 7)
 *   HOUSEKEEPING_CRON       when the nightly housekeeping runs, UTC (default 17 3 * * *)
 *   OAUTH_SERVER_ENDPOINTS  comma list of the accepted OAuth servers (their REST base, the
 *                           `server_endpoint` of install payloads). Every install is proven there
 *                           (a refresh with CLIENT_SECRET) before anything else happens, and nothing
 *                           else is ever trusted to vouch for a portal. Default
 *                           https://oauth.bitrix.info/rest/ (the only one in production, where every
 *                           entry must be https). Development: the demo sets it to the emulator's.
 *   APP_CODE                the app's code as the portal's `app.info` names it (CODE): a UI session
 *                           opens only for a user token of the app with this code, or whose code is
 *                           CLIENT_ID (a local app's code is its client_id). Default: manifest app.code
 *   ALLOW_DEV_PORTALS       1/0: accept http:// portals (the local emulator). Default 1 unless
 *                           NODE_ENV=production
 *   TRUST_PROXY             which proxies may set X-Forwarded-For (express "trust proxy"): the
 *                           client address the rate limits count by. Default loopback; behind a
 *                           proxy on another host name its address/subnet or the hop count
 */
import { z } from 'zod';
import { parseTokenKey } from './store/crypto.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const boolish = z
  .string()
  .trim()
  .toLowerCase()
  .refine((s) => ['1', '0', 'true', 'false', 'yes', 'no', ''].includes(s), 'must be 1/0/true/false')
  .transform((s) => s === '1' || s === 'true' || s === 'yes');

const httpUrl = z
  .string()
  .trim()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash;
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL without query or fragment, e.g. https://seg.example.com')
  .transform((s) => s.replace(/\/+$/, ''));

const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  PUBLIC_URL: httpUrl.optional(),
  CLIENT_ID: z.string().trim().min(1).optional(),
  CLIENT_SECRET: z.string().trim().min(1).optional(),
  TOKEN_ENCRYPTION_KEY: z.string().trim().optional(),
  DATABASE_URL: z.string().trim().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional().or(z.literal('')),
  DATA_DIR: z.string().trim().min(1).default('./data'),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOG_DIR: z.string().trim().min(1).optional(),
  LOG_RETENTION_DAYS: z.coerce.number().int().min(3, 'must be at least 3 (days of logs kept)').max(366).default(7),
  RETAIN_SCORE_RUNS: z.coerce.number().int().min(2, 'must be at least 2 (the dashboard compares two runs)').max(1000).default(10),
  RETAIN_SCORE_MONTHS: z.coerce.number().int().min(1).max(120).default(12),
  RETAIN_INBOX_DAYS: z.coerce.number().int().min(1).max(366).default(7),
  RETAIN_JOBS_DAYS: z.coerce.number().int().min(1).max(366).default(7),
  HOUSEKEEPING_CRON: z.string().trim().regex(/^\S+( \S+){4}$/, 'must be a 5-field cron expression, e.g. 17 3 * * *').default('17 3 * * *'),
  OAUTH_SERVER_ENDPOINTS: z.string().default('https://oauth.bitrix.info/rest/'),
  ALLOW_DEV_PORTALS: boolish.optional(),
  TRUST_PROXY: z.string().trim().min(1).default('loopback'),
  APP_CODE: z.string().trim().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, _ . - only').optional(),
});

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RetentionConfig {
  scoreRuns: number;
  scoreMonths: number;
  inboxDays: number;
  jobsDays: number;
  cron: string;
}

export interface AppConfig {
  production: boolean;
  port: number;
  host: string;
  /** No trailing slash. */
  publicUrl: string;
  clientId: string;
  clientSecret: string;
  databaseUrl?: string;
  dataDir: string;
  sessionSecret?: string;
  logLevel: LogLevel;
  /** Log files (src/server/log.ts): the directory, and whole days kept besides today. */
  logDir?: string;
  logRetentionDays: number;
  /** Housekeeping (src/jobs/housekeeping.ts): runs kept, inbox and job history days, when. */
  retention: RetentionConfig;
  /** Accepted OAuth servers (REST base, the `server_endpoint` of installs), normalised with a trailing slash. */
  oauthServerEndpoints: string[];
  /** http:// portals are accepted (the local emulator). */
  allowDevPortals: boolean;
  /** The app's code in `app.info` (besides clientId); undefined = the manifest's app.code. */
  appCode?: string;
  /** express "trust proxy": false, a hop count, or addresses/subnets/names (loopback). */
  trustProxy: boolean | number | string;
}

/** Parses the environment; throws ConfigError listing every bad variable by name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') clean[k] = v;
  const r = envSchema.safeParse(clean);
  const problems: string[] = [];
  if (!r.success) {
    for (const i of r.error.issues) problems.push(`${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n  ${problems.join('\n  ')}`);
  }
  const e = r.data;
  const production = e.NODE_ENV === 'production';
  if (e.TOKEN_ENCRYPTION_KEY) {
    try {
      parseTokenKey(e.TOKEN_ENCRYPTION_KEY);
    } catch (err) {
      problems.push(`TOKEN_ENCRYPTION_KEY: ${(err as Error).message}`);
    }
  }
  if (production) {
    if (!e.PUBLIC_URL && !overrides.publicUrl) problems.push('PUBLIC_URL: required in production (the https URL the portal reaches this app at)');
    if (!e.CLIENT_ID && !overrides.clientId) problems.push('CLIENT_ID: required in production (from the app card)');
    if (!e.CLIENT_SECRET && !overrides.clientSecret) problems.push('CLIENT_SECRET: required in production (from the app card)');
    if (!e.TOKEN_ENCRYPTION_KEY) problems.push('TOKEN_ENCRYPTION_KEY: required in production');
    if (!e.SESSION_SECRET) problems.push('SESSION_SECRET: required in production (≥ 32 random characters)');
  }
  const endpoints = e.OAUTH_SERVER_ENDPOINTS.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of endpoints) {
    if (!httpUrl.safeParse(s).success) problems.push(`OAUTH_SERVER_ENDPOINTS: "${s}" is not an absolute http(s) URL`);
    else if (production && !s.startsWith('https://')) problems.push(`OAUTH_SERVER_ENDPOINTS: "${s}" must be https in production`);
  }
  if (problems.length) throw new ConfigError(`invalid environment:\n  ${problems.join('\n  ')}`);
  const port = overrides.port ?? e.PORT;
  return {
    production,
    port,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL ?? `http://127.0.0.1:${port}`,
    clientId: e.CLIENT_ID ?? 'local.dev',
    clientSecret: e.CLIENT_SECRET ?? 'dev-secret',
    databaseUrl: e.DATABASE_URL || undefined,
    dataDir: e.DATA_DIR,
    sessionSecret: e.SESSION_SECRET,
    logLevel: e.LOG_LEVEL,
    ...(e.LOG_DIR ? { logDir: e.LOG_DIR } : {}),
    logRetentionDays: e.LOG_RETENTION_DAYS,
    retention: { scoreRuns: e.RETAIN_SCORE_RUNS, scoreMonths: e.RETAIN_SCORE_MONTHS, inboxDays: e.RETAIN_INBOX_DAYS, jobsDays: e.RETAIN_JOBS_DAYS, cron: e.HOUSEKEEPING_CRON },
    oauthServerEndpoints: endpoints.map((s) => `${s.replace(/\/+$/, '')}/`),
    allowDevPortals: e.ALLOW_DEV_PORTALS ?? !production,
    trustProxy: /^\d+$/.test(e.TRUST_PROXY) ? Number(e.TRUST_PROXY) : e.TRUST_PROXY === 'false' ? false : e.TRUST_PROXY === 'true' ? true : e.TRUST_PROXY,
    ...(e.APP_CODE ? { appCode: e.APP_CODE } : {}),
    ...overrides,
  };
}
