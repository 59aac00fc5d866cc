/**
 * Rate limits of the endpoints anyone can call without a session: `/install`, `/events` and
 * `POST /api/ui/session`, per client address and per member_id the request names; and of the
 * admins' `POST /api/ui/settings/fields/remove|restore` (per address and per the session's portal).
 *
 * Counters live in the app's database (table rate_limits, migration 006) through
 * rate-limiter-flexible's PostgreSQL store, so every app process on one PostgreSQL shares them
 * (on PGlite there is one process anyway). Over a limit: 429 `{error:'RATE_LIMITED', reason}`
 * with `Retry-After` in seconds; nothing else happens. When the counter store itself fails the
 * request passes (availability first) and one warning is logged.
 *
 * The client address is express's `req.ip`: behind a reverse proxy set TRUST_PROXY so it is the
 * caller's, not the proxy's (src/config.ts).
 */
import type { RequestHandler } from 'express';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Db } from '../store/db.js';
import type { Logger } from './log.js';

export interface Limit {
  /** requests allowed per window */
  points: number;
  /** window, seconds */
  seconds: number;
}

export interface EndpointLimits {
  perAddress: Limit;
  perMember: Limit;
}

export type LimitedEndpoint = 'install' | 'events' | 'session' | 'fields';

/**
 * Defaults. /install: an admin installs rarely; /events: Bitrix24 delivers every portal's events
 * from a few addresses, and a bulk edit of one portal fires many (the offline queue and the
 * nightly reconcile catch what a 429 drops); session renewal: one per open tab per hour.
 */
export const DEFAULT_LIMITS: Record<LimitedEndpoint, EndpointLimits> = {
  install: { perAddress: { points: 30, seconds: 600 }, perMember: { points: 10, seconds: 600 } },
  events: { perAddress: { points: 6000, seconds: 60 }, perMember: { points: 1200, seconds: 60 } },
  session: { perAddress: { points: 60, seconds: 60 }, perMember: { points: 120, seconds: 60 } },
  // removing / re-creating the app's CRM fields (admins, Settings): deletes or creates fields on the portal
  fields: { perAddress: { points: 10, seconds: 3600 }, perMember: { points: 10, seconds: 3600 } },
};

/** A pg-Pool-shaped face of our Db for the library's PostgreSQL store ({text, values} queries). */
function poolOf(db: Db) {
  return {
    query: (q: { text: string; values?: unknown[] }) => db.query(q.text, q.values ?? []),
  };
}

const limiters = new WeakMap<Db, Map<string, RateLimiterPostgres>>();

function limiterFor(db: Db, name: string, l: Limit): RateLimiterPostgres {
  let m = limiters.get(db);
  if (!m) limiters.set(db, (m = new Map()));
  const key = `${name}:${l.points}/${l.seconds}`;
  let r = m.get(key);
  if (!r) {
    r = new RateLimiterPostgres({
      storeClient: poolOf(db),
      storeType: 'pool',
      tableName: 'rate_limits',
      tableCreated: true,
      keyPrefix: name,
      points: l.points,
      duration: l.seconds,
    });
    m.set(key, r);
  }
  return r;
}

export interface RateLimitOptions {
  db: Db;
  log: Logger;
  endpoint: LimitedEndpoint;
  limits?: Partial<Record<LimitedEndpoint, EndpointLimits>>;
  /** The member_id the request names (after body parsing), if any. */
  memberOf: (req: Parameters<RequestHandler>[0]) => string | undefined;
}

/** Express middleware: counts the request per address and per member_id; 429 over either limit. */
export function rateLimit(o: RateLimitOptions): RequestHandler {
  const l = o.limits?.[o.endpoint] ?? DEFAULT_LIMITS[o.endpoint];
  const byAddress = limiterFor(o.db, `${o.endpoint}:ip`, l.perAddress);
  const byMember = limiterFor(o.db, `${o.endpoint}:m`, l.perMember);
  let warned = false;
  return (req, res, next) => {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const member = o.memberOf(req)?.slice(0, 64);
    const consumed = [byAddress.consume(address)];
    if (member) consumed.push(byMember.consume(member));
    Promise.all(consumed).then(
      () => next(),
      (e: unknown) => {
        if (e instanceof RateLimiterRes) {
          const retry = Math.max(1, Math.ceil(e.msBeforeNext / 1000));
          res.set('Retry-After', String(retry));
          res.status(429).json({ error: 'RATE_LIMITED', reason: `too many requests; retry after ${retry} s` });
          return;
        }
        if (!warned) {
          warned = true;
          o.log.warn('rate limit: counter store failed; requests pass', { endpoint: o.endpoint, error: e instanceof Error ? e.message : String(e) });
        }
        next();
      },
    );
  };
}

/** member_id of a Bitrix24 POST: `auth[member_id]` (events, install callback) or `member_id` (pages, renewal). */
export function memberIdOf(req: { body?: unknown }): string | undefined {
  const b = (req.body ?? {}) as { auth?: { member_id?: unknown }; member_id?: unknown };
  const v = b.auth && typeof b.auth === 'object' ? b.auth.member_id : b.member_id;
  return typeof v === 'string' && v !== '' ? v : undefined;
}
