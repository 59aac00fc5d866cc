/**
 * Verifies a user's AUTH_ID against the portal it claims to come from, and asks the portal
 * (with that same user token) which contacts the user may see.
 *
 * Every call goes through the portal's B24Client (src/b24): the user's token as a
 * UserTokenSource on a client that shares the portal's Limiter (`portalClient(id).withTokens`),
 * so the user's calls and the app's own sync / write-back count against one mirror of the
 * portal's limits, with the client's retries (503 waits for the bucket). The REST endpoint is
 * always the one stored for the portal at install time (looked up by member_id), never the DOMAIN
 * posted with the page: a forged page post cannot point us at a server that would vouch for a
 * made-up admin. The portal's refusals become PortalAuthError (401 for a token it does not take).
 */
import { createHash } from 'node:crypto';
import type { B24Client, B24ClientOptions } from '../../b24/client.js';
import { B24Error, B24NetworkError } from '../../b24/errors.js';
import type { BatchCommand } from '../../b24/batch-encoding.js';
import { UserTokenSource } from '../../b24/user-token.js';
import type { CustomerKind, Portal } from '../../store/index.js';

export interface PortalUser {
  userId: number;
  isAdmin: boolean;
  name: string;
}

export class PortalAuthError extends Error {
  override name = 'PortalAuthError';
  constructor(public readonly code: string, message: string, public readonly status = 401) {
    super(message);
  }
}

/** The portal's shared REST client (src/portal-clients.ts: one per portal per process). */
export type PortalClientFor = (portalId: number) => B24Client;

/**
 * Retries of a user's calls: a UI request waits for them, so fewer than the sync's. 503 (the
 * portal's bucket) twice, after the limiter's wait; no retry of a 5xx or a network error.
 */
const USER_CALLS: Omit<B24ClientOptions, 'tokens' | 'limiter'> = { maxRetries: 0, maxRateLimitRetries: 2, maxOperatingRetries: 1 };

const TOKEN_REFUSED = new Set(['expired_token', 'invalid_token', 'NO_AUTH_FOUND']);

/** A failed call as the UI API answers it: 401 token refused, 403, else 502 (the portal could not be asked). */
export function portalAuthError(e: unknown, method: string): unknown {
  if (e instanceof PortalAuthError) return e;
  if (e instanceof B24NetworkError) return new PortalAuthError('PORTAL_UNREACHABLE', `portal unreachable: ${e.causeCode}`, 502);
  if (!(e instanceof B24Error)) return e;
  if (e.status >= 200 && e.status < 300 && e.code.startsWith('HTTP_')) {
    return new PortalAuthError('BAD_PORTAL_RESPONSE', `${method}: non-JSON answer (HTTP ${e.status})`, 502);
  }
  const code = e.code || `HTTP_${e.status}`;
  const status = e.status === 401 || TOKEN_REFUSED.has(code) ? 401 : e.status === 403 ? 403 : 502;
  return new PortalAuthError(code, `${method}: ${e.description || code}`, status);
}

/** The portal's answer to a user without any CRM read permission for contacts. */
function isAccessDenied(e: unknown): boolean {
  return e instanceof PortalAuthError && (e.code === 'ACCESS_DENIED' || /access denied/i.test(e.message));
}

/** Rows of a list command's result (legacy list: an array of {ID}). */
function idsOf(result: unknown): number[] {
  return Array.isArray(result) ? result.map((r) => Number((r as { ID?: unknown })?.ID)).filter(Number.isSafeInteger) : [];
}

/** One list command per 50 IDs; the client sends up to 50 commands per batch request (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html). */
const PER_COMMAND = 50;

interface CacheEntry {
  at: number;
  user: PortalUser;
}

/**
 * Verifies AUTH_IDs (profile + app.info), caching each verdict briefly (default 60 s).
 *
 * `appCodes`: the codes of THIS app. The portal's `app.info`, called with a user's token, names the
 * app the token was issued to (`CODE`; https://apidocs.bitrix24.com/api-reference/common/system/app-info.html):
 * a local app's code is its client_id, a Market app's the code of its card. A token of any other
 * app installed on the same portal is refused (401 FOREIGN_APP_TOKEN), whatever its user may do.
 */
export class PortalUserVerifier {
  private cache = new Map<string, CacheEntry>();
  constructor(
    private readonly appCodes: readonly string[],
    private readonly portalClient: PortalClientFor,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private key(portalId: number, authId: string) {
    return createHash('sha256').update(`${portalId}\0${authId}`).digest('base64url');
  }

  /**
   * The portal's client with the user's token, over the portal's shared Limiter: what the UI API
   * asks or changes in the CRM on a user's behalf goes through it, so the portal applies that
   * user's rights and the calls count against the portal's one mirror of its limits.
   */
  asUser(portal: Portal, authId: string): B24Client {
    return this.portalClient(portal.id).withTokens(new UserTokenSource(portal, authId), USER_CALLS);
  }

  private async call<T>(client: B24Client, method: string, params: Record<string, unknown> = {}): Promise<{ result: T; total?: number }> {
    try {
      return await client.callRaw<T>(method, params);
    } catch (e) {
      throw portalAuthError(e, method);
    }
  }

  private async batch(client: B24Client, cmds: Record<string, BatchCommand>) {
    try {
      return await client.batch(cmds, { halt: true });
    } catch (e) {
      throw portalAuthError(e, 'batch');
    }
  }

  async verify(portal: Portal, authId: string): Promise<PortalUser> {
    if (!authId || authId.length > 512 || !/^[\x21-\x7e]+$/.test(authId)) throw new PortalAuthError('NO_AUTH', 'missing or malformed AUTH_ID');
    const k = this.key(portal.id, authId);
    const hit = this.cache.get(k);
    const t = this.now();
    if (hit && t - hit.at < this.ttlMs) return hit.user;
    const client = this.asUser(portal, authId);
    const [{ result: profile }, { result: info }] = await Promise.all([
      this.call<{ ID?: string | number; ADMIN?: boolean | string; NAME?: string; LAST_NAME?: string } | null>(client, 'profile'),
      // app.info with the user's token proves the token was issued to an app context on this portal
      this.call<{ INSTALLED?: boolean | string; CODE?: unknown } | null>(client, 'app.info'),
    ]);
    if (typeof info?.CODE !== 'string' || !this.appCodes.includes(info.CODE)) {
      throw new PortalAuthError('FOREIGN_APP_TOKEN', 'the access token was not issued to this app', 401);
    }
    const userId = Number(profile?.ID);
    if (!profile || !Number.isSafeInteger(userId) || userId <= 0) throw new PortalAuthError('BAD_PROFILE', 'profile has no user ID', 502);
    if (info.INSTALLED === false || info.INSTALLED === 'N') throw new PortalAuthError('NOT_INSTALLED', 'the app is not installed on this portal', 403);
    const user: PortalUser = {
      userId,
      isAdmin: profile.ADMIN === true || profile.ADMIN === 'Y' || profile.ADMIN === 'true',
      name: `${profile.NAME ?? ''} ${profile.LAST_NAME ?? ''}`.trim(),
    };
    if (this.cache.size > 5000) this.cache.clear();
    this.cache.set(k, { at: t, user });
    return user;
  }

  /** Visibility verdicts per (portal, token): kept `ttlMs`, like the user verdicts. */
  private seen = new Map<string, { at: number; ids: Map<number, boolean>; all: ReadonlySet<number> | null | undefined }>();

  private seenEntry(portalId: number, authId: string, entity: CustomerKind = 'contact') {
    const k = `${this.key(portalId, authId)}|${entity}`;
    const t = this.now();
    let e = this.seen.get(k);
    if (!e || t - e.at >= this.ttlMs) {
      if (this.seen.size > 2000) this.seen.clear();
      e = { at: t, ids: new Map(), all: undefined };
      this.seen.set(k, e);
    }
    return e;
  }

  /** Of `ids`, those the user's token lists (crm.contact.list / crm.company.list {"@ID": ids}, 50 per command, more than 50 in one batch). */
  private async listVisible(client: B24Client, ids: readonly number[], entity: CustomerKind): Promise<Set<number>> {
    const method = `crm.${entity}.list`;
    const params = (chunk: readonly number[]) => ({ filter: { '@ID': chunk }, select: ['ID'], start: -1 });
    const ok = new Set<number>();
    if (ids.length <= PER_COMMAND) {
      for (const id of idsOf((await this.call(client, method, params(ids))).result)) ok.add(id);
      return ok;
    }
    const cmds: Record<string, BatchCommand> = {};
    for (let i = 0; i < ids.length; i += PER_COMMAND) cmds[`v${i / PER_COMMAND}`] = [method, params(ids.slice(i, i + PER_COMMAND))];
    const r = await this.batch(client, cmds);
    const first = Object.values(r.errors)[0];
    if (first) throw new PortalAuthError(first.code || 'BATCH_ERROR', `${method}: ${first.description || first.code || 'error'}`, 502);
    for (const v of Object.values(r.results)) for (const id of idsOf(v)) ok.add(id);
    return ok;
  }

  /**
   * The subset of `ids` the user may see, asked with the user's own token:
   * crm.contact.list filter {"@ID": ids} select ID, 50 ids per command; more than 50 ids go
   * through `batch` (50 commands per request). A user without any contact read permission
   * ("Access denied.") sees none. Verdicts are cached briefly per token. `entity` 'company': the
   * same with crm.company.list (the portal's company permissions, e.g. by ASSIGNED_BY_ID).
   */
  async visibleContactIds(portal: Portal, authId: string, ids: readonly number[], entity: CustomerKind = 'contact'): Promise<Set<number>> {
    const e = this.seenEntry(portal.id, authId, entity);
    const out = new Set<number>();
    if (e.all) {
      for (const id of ids) if (e.all.has(id)) out.add(id);
      return out;
    }
    const ask: number[] = [];
    for (const id of new Set(ids)) {
      const v = e.ids.get(id);
      if (v === true) out.add(id);
      else if (v === undefined) ask.push(id);
    }
    if (ask.length === 0) return out;
    let ok: Set<number>;
    try {
      ok = await this.listVisible(this.asUser(portal, authId), ask, entity);
    } catch (err) {
      if (!isAccessDenied(err)) throw err;
      ok = new Set();
    }
    for (const id of ask) {
      const v = ok.has(id);
      e.ids.set(id, v);
      if (v) out.add(id);
    }
    return out;
  }

  /**
   * Every contact ID the user may see (crm.contact.list with the user's token, all pages:
   * the first page tells the total, the rest come in batches of 50 pages), or null when the
   * user sees more than `max` contacts (then callers fall back to `visibleContactIds` per page).
   * Cached briefly per token.
   */
  async visibleContactSet(portal: Portal, authId: string, max = 20_000, entity: CustomerKind = 'contact'): Promise<ReadonlySet<number> | null> {
    const e = this.seenEntry(portal.id, authId, entity);
    if (e.all !== undefined) return e.all;
    e.all = await this.listAll(this.asUser(portal, authId), max, `crm.${entity}.list`);
    return e.all;
  }

  private async listAll(client: B24Client, max: number, method: string): Promise<ReadonlySet<number> | null> {
    const params = (start: number) => ({ select: ['ID'], order: { ID: 'ASC' }, start });
    const all = new Set<number>();
    let first: { result: unknown; total?: number };
    try {
      first = await this.call(client, method, params(0));
    } catch (err) {
      if (!isAccessDenied(err)) throw err;
      return all;
    }
    const total = typeof first.total === 'number' ? first.total : idsOf(first.result).length;
    if (total > max) return null;
    for (const id of idsOf(first.result)) all.add(id);
    const cmds: Record<string, BatchCommand> = {};
    for (let s = PER_COMMAND; s < total; s += PER_COMMAND) cmds[`p${s}`] = [method, params(s)];
    if (Object.keys(cmds).length === 0) return all;
    const r = await this.batch(client, cmds);
    // could not enumerate: per-page checks instead
    if (Object.keys(r.errors).length > 0) return null;
    for (const v of Object.values(r.results)) for (const id of idsOf(v)) all.add(id);
    return all;
  }
}
