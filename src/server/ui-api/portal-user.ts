/**
 * Verifies a user's AUTH_ID against the portal it claims to come from, and asks the portal
 * (with that same user token) which contacts the user may see.
 *
 * The REST endpoint is always the one stored for the portal at install time (looked up by
 * member_id), never the DOMAIN posted with the page: a forged page post cannot point us at a
 * server that would vouch for a made-up admin.
 */
import { createHash } from 'node:crypto';
import { encodeCommand } from '../../b24/batch-encoding.js';
import type { Portal } from '../../store/index.js';

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

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<{ status: number; json(): Promise<unknown> }>;

export function restEndpoint(portal: Pick<Portal, 'clientEndpoint' | 'domain'>): string {
  if (portal.clientEndpoint) return portal.clientEndpoint.endsWith('/') ? portal.clientEndpoint : `${portal.clientEndpoint}/`;
  return `https://${portal.domain}/rest/`;
}

interface Envelope {
  result?: unknown;
  total?: number;
  error?: string;
  error_description?: string;
}

async function call(fetchImpl: FetchLike, endpoint: string, method: string, auth: string, params: Record<string, unknown> = {}): Promise<unknown> {
  return (await callFull(fetchImpl, endpoint, method, auth, params)).result;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One REST call; the portal's 503 QUERY_LIMIT_EXCEEDED (leaky bucket) is retried twice. */
async function callFull(fetchImpl: FetchLike, endpoint: string, method: string, auth: string, params: Record<string, unknown> = {}): Promise<Envelope> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await callOnce(fetchImpl, endpoint, method, auth, params);
    } catch (err) {
      if (attempt >= 2 || !(err instanceof PortalAuthError) || err.code !== 'QUERY_LIMIT_EXCEEDED') throw err;
      await sleep(600 * (attempt + 1));
    }
  }
}

async function callOnce(fetchImpl: FetchLike, endpoint: string, method: string, auth: string, params: Record<string, unknown>): Promise<Envelope> {
  let res: { status: number; json(): Promise<unknown> };
  try {
    res = await fetchImpl(`${endpoint}${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ ...params, auth }),
    });
  } catch (err) {
    throw new PortalAuthError('PORTAL_UNREACHABLE', `portal unreachable: ${(err as Error).message}`, 502);
  }
  let body: Envelope;
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new PortalAuthError('BAD_PORTAL_RESPONSE', `${method}: non-JSON answer (HTTP ${res.status})`, 502);
  }
  if (res.status >= 400 || body.error) {
    const code = body.error ?? `HTTP_${res.status}`;
    const status = res.status === 401 || code === 'expired_token' || code === 'invalid_token' || code === 'NO_AUTH_FOUND' ? 401 : res.status === 403 ? 403 : 502;
    throw new PortalAuthError(code, `${method}: ${body.error_description ?? code}`, status);
  }
  return body;
}

/** The portal's answer to a user without any CRM read permission for contacts. */
function isAccessDenied(e: unknown): boolean {
  return e instanceof PortalAuthError && (e.code === 'ACCESS_DENIED' || /access denied/i.test(e.message));
}

/** Rows of a list command's result (legacy list: an array of {ID}). */
function idsOf(result: unknown): number[] {
  return Array.isArray(result) ? result.map((r) => Number((r as { ID?: unknown })?.ID)).filter(Number.isSafeInteger) : [];
}

/** Batch results keyed by command (PHP arrays come back as [] when empty). */
function batchParts(result: unknown): { result: Record<string, unknown>; errors: Record<string, unknown> } {
  const r = (result ?? {}) as { result?: unknown; result_error?: unknown };
  const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  return { result: obj(r.result), errors: obj(r.result_error) };
}

/** One list command per 50 IDs, up to 50 commands per batch request (reference §6). */
const PER_COMMAND = 50;
const PER_BATCH = 50;

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
    private readonly fetchImpl: FetchLike = fetch as unknown as FetchLike,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private key(portalId: number, authId: string) {
    return createHash('sha256').update(`${portalId}\0${authId}`).digest('base64url');
  }

  async verify(portal: Portal, authId: string): Promise<PortalUser> {
    if (!authId || authId.length > 512 || !/^[\x21-\x7e]+$/.test(authId)) throw new PortalAuthError('NO_AUTH', 'missing or malformed AUTH_ID');
    const k = this.key(portal.id, authId);
    const hit = this.cache.get(k);
    const t = this.now();
    if (hit && t - hit.at < this.ttlMs) return hit.user;
    const endpoint = restEndpoint(portal);
    const [profile, info] = await Promise.all([
      call(this.fetchImpl, endpoint, 'profile', authId) as Promise<{ ID?: string | number; ADMIN?: boolean | string; NAME?: string; LAST_NAME?: string }>,
      // app.info with the user's token proves the token was issued to an app context on this portal
      call(this.fetchImpl, endpoint, 'app.info', authId) as Promise<{ INSTALLED?: boolean | string; CODE?: unknown }>,
    ]);
    if (typeof info?.CODE !== 'string' || !this.appCodes.includes(info.CODE)) {
      throw new PortalAuthError('FOREIGN_APP_TOKEN', 'the access token was not issued to this app', 401);
    }
    const userId = Number(profile?.ID);
    if (!Number.isSafeInteger(userId) || userId <= 0) throw new PortalAuthError('BAD_PROFILE', 'profile has no user ID', 502);
    if (info && (info.INSTALLED === false || info.INSTALLED === 'N')) throw new PortalAuthError('NOT_INSTALLED', 'the app is not installed on this portal', 403);
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

  private seenEntry(portalId: number, authId: string) {
    const k = this.key(portalId, authId);
    const t = this.now();
    let e = this.seen.get(k);
    if (!e || t - e.at >= this.ttlMs) {
      if (this.seen.size > 2000) this.seen.clear();
      e = { at: t, ids: new Map(), all: undefined };
      this.seen.set(k, e);
    }
    return e;
  }

  /**
   * The subset of `ids` the user may see, asked with the user's own token:
   * crm.contact.list filter {"@ID": ids} select ID, 50 ids per command; more than 50 ids go
   * through `batch` (50 commands per request). A user without any contact read permission
   * ("Access denied.") sees none. Verdicts are cached briefly per token.
   */
  async visibleContactIds(portal: Portal, authId: string, ids: readonly number[]): Promise<Set<number>> {
    const e = this.seenEntry(portal.id, authId);
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
    const endpoint = restEndpoint(portal);
    const chunks: number[][] = [];
    for (let i = 0; i < ask.length; i += PER_COMMAND) chunks.push(ask.slice(i, i + PER_COMMAND));
    const ok = new Set<number>();
    try {
      if (chunks.length === 1) {
        for (const id of idsOf(await call(this.fetchImpl, endpoint, 'crm.contact.list', authId, { filter: { '@ID': chunks[0] }, select: ['ID'], start: -1 }))) ok.add(id);
      } else {
        for (let b = 0; b < chunks.length; b += PER_BATCH) {
          const group = chunks.slice(b, b + PER_BATCH);
          const cmd: Record<string, string> = {};
          group.forEach((c, i) => { cmd[`v${i}`] = encodeCommand('crm.contact.list', { filter: { '@ID': c }, select: ['ID'], start: -1 }); });
          const parts = batchParts(await call(this.fetchImpl, endpoint, 'batch', authId, { halt: 1, cmd }));
          const errs = Object.values(parts.errors) as Array<{ error?: string; error_description?: string }>;
          if (errs.length > 0) {
            const first = errs[0]!;
            throw new PortalAuthError(first.error || 'BATCH_ERROR', `crm.contact.list: ${first.error_description ?? first.error ?? 'error'}`, 502);
          }
          for (const v of Object.values(parts.result)) for (const id of idsOf(v)) ok.add(id);
        }
      }
    } catch (err) {
      if (!isAccessDenied(err)) throw err;
      ok.clear();
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
  async visibleContactSet(portal: Portal, authId: string, max = 20_000): Promise<ReadonlySet<number> | null> {
    const e = this.seenEntry(portal.id, authId);
    if (e.all !== undefined) return e.all;
    const endpoint = restEndpoint(portal);
    const params = (start: number) => ({ select: ['ID'], order: { ID: 'ASC' }, start });
    const all = new Set<number>();
    let first: Envelope;
    try {
      first = await callFull(this.fetchImpl, endpoint, 'crm.contact.list', authId, params(0));
    } catch (err) {
      if (!isAccessDenied(err)) throw err;
      e.all = all;
      return all;
    }
    const total = typeof first.total === 'number' ? first.total : idsOf(first.result).length;
    if (total > max) {
      e.all = null;
      return null;
    }
    for (const id of idsOf(first.result)) all.add(id);
    const starts: number[] = [];
    for (let s = PER_COMMAND; s < total; s += PER_COMMAND) starts.push(s);
    for (let b = 0; b < starts.length; b += PER_BATCH) {
      const cmd: Record<string, string> = {};
      for (const st of starts.slice(b, b + PER_BATCH)) cmd[`p${st}`] = encodeCommand('crm.contact.list', params(st));
      const parts = batchParts(await call(this.fetchImpl, endpoint, 'batch', authId, { halt: 1, cmd }));
      if (Object.keys(parts.errors).length > 0) {
        e.all = null; // could not enumerate: per-page checks instead
        return null;
      }
      for (const v of Object.values(parts.result)) for (const id of idsOf(v)) all.add(id);
    }
    e.all = all;
    return all;
  }
}
