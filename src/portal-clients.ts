/**
 * One `B24Client` per portal per process (its Limiter mirrors that portal's request bucket
 * and operating budgets, so it must be shared by everything calling the portal), backed by
 * the store's tokens (`StoreTokenSource`).
 *
 *   const client = clientForPortal(db, portalId, { clientId, clientSecret });
 *
 * Cached per (db, portalId). `forgetPortalClient` drops it (uninstall, or a test wanting a
 * fresh limiter).
 *
 * Calls with another token of the same portal (a user's: the UI API's permission checks) use
 * `client.withTokens(new UserTokenSource(portal, token))`: a client over this one's Limiter, so
 * they count against the same mirror of the portal's limits.
 */
import { B24Client, type B24ClientOptions } from './b24/client.js';
import type { LimiterOptions } from './b24/limiter.js';
import { StoreTokenSource, type StoreTokenSourceOptions } from './b24/store-tokens.js';
import type { Db } from './store/db.js';

export interface PortalClientOptions {
  clientId: string;
  clientSecret: string;
  /** Limiter options for a new client (plan, timeScale for the emulator, ...). */
  limiter?: LimiterOptions;
  /** Passed to B24Client (retries, timeouts, log). */
  client?: Omit<B24ClientOptions, 'tokens' | 'limiter'>;
  tokens?: Omit<StoreTokenSourceOptions, 'db' | 'portalId' | 'clientId' | 'clientSecret'>;
}

const cache = new WeakMap<Db, Map<number, B24Client>>();

export function clientForPortal(db: Db, portalId: number, opts: PortalClientOptions): B24Client {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  let c = m.get(portalId);
  if (!c) {
    const tokens = new StoreTokenSource({ db, portalId, clientId: opts.clientId, clientSecret: opts.clientSecret, ...opts.tokens });
    c = new B24Client({ ...opts.client, tokens, limiter: opts.limiter ?? {} });
    m.set(portalId, c);
  }
  return c;
}

export function forgetPortalClient(db: Db, portalId: number): void {
  cache.get(db)?.delete(portalId);
}
