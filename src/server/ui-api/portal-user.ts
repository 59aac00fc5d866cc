/**
 * Verifies a user's AUTH_ID against the portal it claims to come from, and asks the portal
 * (with that same user token) which contacts the user may see.
 *
 * The REST endpoint is always the one stored for the portal at install time (looked up by
 * member_id), never the DOMAIN posted with the page: a forged page post cannot point us at a
 * server that would vouch for a made-up admin.
 */
import { createHash } from 'node:crypto';
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

async function call(fetchImpl: FetchLike, endpoint: string, method: string, auth: string, params: Record<string, unknown> = {}): Promise<unknown> {
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
  let body: { result?: unknown; error?: string; error_description?: string };
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
  return body.result;
}

interface CacheEntry {
  at: number;
  user: PortalUser;
}

/** Verifies AUTH_IDs (profile + app.info), caching each verdict briefly (default 60 s). */
export class PortalUserVerifier {
  private cache = new Map<string, CacheEntry>();
  constructor(
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
      call(this.fetchImpl, endpoint, 'app.info', authId) as Promise<{ INSTALLED?: boolean | string }>,
    ]);
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

  /**
   * The subset of `ids` the user may see, asked with the user's own token:
   * crm.contact.list filter {"@ID": ids} select ID, 50 ids per call.
   */
  async visibleContactIds(portal: Portal, authId: string, ids: readonly number[]): Promise<Set<number>> {
    const out = new Set<number>();
    const endpoint = restEndpoint(portal);
    for (let i = 0; i < ids.length; i += 50) {
      const chunk = ids.slice(i, i + 50);
      const res = (await call(this.fetchImpl, endpoint, 'crm.contact.list', authId, {
        filter: { '@ID': chunk },
        select: ['ID'],
        start: -1,
      })) as Array<{ ID: string | number }> | null;
      for (const r of res ?? []) out.add(Number(r.ID));
    }
    return out;
  }
}
