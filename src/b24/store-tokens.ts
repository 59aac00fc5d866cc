/**
 * A `TokenSource` backed by the store (portals row: encrypted access/refresh tokens).
 *
 * - `get()` reads the tokens from the database on every call (cheap next to an HTTP request;
 *   several app processes then always see the latest token). A portal that is `needs_reauth`
 *   or `uninstalled` throws at once — no OAuth call, no crash loop.
 * - `refresh(stale)`: one refresh at a time per portal, also ACROSS PROCESSES:
 *     BEGIN; SELECT pg_advisory_xact_lock(NS, portalId);
 *       re-read the tokens — if the access token is no longer `stale`, someone else refreshed:
 *       return theirs without calling the OAuth server;
 *       else call the OAuth server, and store the ROTATED refresh token in this same
 *       transaction (compare-and-swap on token_version) before anybody uses it;
 *     COMMIT.
 *   Within one process, concurrent callers share one in-flight refresh (fewer lock waiters).
 * - `invalid_grant` (DeadRefreshTokenError from refreshAccessToken): the portal is marked
 *   `needs_reauth` (after the transaction rolled back) and `PortalNeedsReauthError` is thrown;
 *   the next `get()` throws it again without touching the network. A new install (reinstalling
 *   the app) brings the portal back.
 * - Never logs tokens; errors carry the member_id only.
 */
import type { AccessToken, RefreshedTokens, RefreshParams, TokenSource } from './auth.js';
import { refreshAccessToken } from './auth.js';
import { DeadRefreshTokenError } from './errors.js';
import type { Db } from '../store/db.js';
import { getTokenCipher, type TokenCipher } from '../store/crypto.js';
import { getPortalAuth, setPortalStatus, updatePortalTokens } from '../store/portals.js';

/** Namespace (first key) of the per-portal advisory lock: pg_advisory_xact_lock(NS, portalId). */
export const TOKEN_LOCK_NS = 724_240_002;

/** The portal's refresh token is dead: it must be re-authorised (reinstall / open the app). */
export class PortalNeedsReauthError extends DeadRefreshTokenError {
  readonly needsReauth = true;
  constructor(public readonly portalId: number, code = 'invalid_grant', description = 'the portal must re-authorise the app', portal?: string) {
    super(code, description, portal);
  }
}

/** The portal has no usable tokens (uninstalled, or never installed). */
export class PortalNotInstalledError extends Error {
  override name = 'PortalNotInstalledError';
  constructor(public readonly portalId: number, public readonly status: string) {
    super(`portal ${portalId} has no tokens (status ${status})`);
  }
}

export interface StoreTokenSourceOptions {
  db: Db;
  portalId: number;
  clientId: string;
  clientSecret: string;
  cipher?: TokenCipher;
  /** Overrides the stored server_endpoint (full token URL or OAuth base). */
  oauthUrl?: string;
  /** Injected OAuth call (tests count calls through it). */
  refreshFn?: (p: RefreshParams) => Promise<RefreshedTokens>;
  /** Diagnostics: never receives tokens. */
  log?: (event: string, data: Record<string, unknown>) => void;
}

interface Row {
  status: string;
  member_id: string;
}

const inflight = new WeakMap<Db, Map<number, Promise<AccessToken>>>();

export class StoreTokenSource implements TokenSource {
  /** OAuth calls made by this instance (tests/metrics). */
  refreshCount = 0;
  private readonly cipher: TokenCipher;

  constructor(private readonly o: StoreTokenSourceOptions) {
    this.cipher = o.cipher ?? getTokenCipher();
  }

  get portalId(): number {
    return this.o.portalId;
  }

  async get(): Promise<AccessToken> {
    return this.read(this.o.db);
  }

  private async read(db: Db): Promise<AccessToken & { refreshToken: string; serverEndpoint: string | null; memberId: string; tokenVersion: number }> {
    const { rows } = await db.query<Row>('SELECT status, member_id FROM portals WHERE id = $1', [this.o.portalId]);
    const r = rows[0];
    if (!r) throw new PortalNotInstalledError(this.o.portalId, 'deleted');
    if (r.status === 'needs_reauth') throw new PortalNeedsReauthError(this.o.portalId, 'needs_reauth', 'portal is marked needs_reauth', r.member_id);
    const a = await getPortalAuth(db, this.o.portalId, this.cipher);
    if (!a || !a.accessToken || !a.refreshToken || !a.clientEndpoint || r.status === 'uninstalled') {
      throw new PortalNotInstalledError(this.o.portalId, r.status);
    }
    return {
      accessToken: a.accessToken,
      clientEndpoint: a.clientEndpoint,
      expiresAt: a.expiresAt ? a.expiresAt.getTime() : Number.POSITIVE_INFINITY,
      refreshToken: a.refreshToken,
      serverEndpoint: a.serverEndpoint,
      memberId: a.memberId,
      tokenVersion: a.tokenVersion,
    };
  }

  refresh(staleAccessToken: string): Promise<AccessToken> {
    let m = inflight.get(this.o.db);
    if (!m) inflight.set(this.o.db, (m = new Map()));
    const running = m.get(this.o.portalId);
    if (running) return running;
    const p = this.refreshLocked(staleAccessToken).finally(() => m.delete(this.o.portalId));
    m.set(this.o.portalId, p);
    return p;
  }

  private async refreshLocked(stale: string): Promise<AccessToken> {
    const { db, portalId } = this.o;
    let memberId: string | undefined;
    try {
      return await db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [TOKEN_LOCK_NS, portalId]);
        const cur = await this.read(tx);
        memberId = cur.memberId;
        if (cur.accessToken !== stale) {
          this.o.log?.('token.refresh-skipped', { portalId, reason: 'already refreshed' });
          return { accessToken: cur.accessToken, clientEndpoint: cur.clientEndpoint, expiresAt: cur.expiresAt };
        }
        if (!cur.serverEndpoint && !this.o.oauthUrl) throw new Error(`portal ${portalId}: no server_endpoint stored, cannot refresh`);
        this.refreshCount++;
        const fn = this.o.refreshFn ?? refreshAccessToken;
        const t = await fn({
          clientId: this.o.clientId,
          clientSecret: this.o.clientSecret,
          refreshToken: cur.refreshToken,
          serverEndpoint: cur.serverEndpoint ?? undefined,
          oauthUrl: this.o.oauthUrl,
          portal: cur.memberId,
        });
        // The OAuth server answers its own client_endpoint; keep the stored one (validated at
        // install against the portal domain) so a token response cannot redirect our calls.
        const ok = await updatePortalTokens(
          tx,
          portalId,
          { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: new Date(t.expiresAt), scope: t.scope ?? null, ifTokenVersion: cur.tokenVersion },
          this.cipher,
        );
        if (!ok) throw new Error(`portal ${portalId}: token row changed under the refresh lock`);
        this.o.log?.('token.refreshed', { portalId });
        return { accessToken: t.accessToken, clientEndpoint: cur.clientEndpoint, expiresAt: t.expiresAt };
      });
    } catch (e) {
      if (e instanceof DeadRefreshTokenError && !(e instanceof PortalNeedsReauthError)) {
        await setPortalStatus(db, portalId, 'needs_reauth');
        this.o.log?.('token.dead', { portalId, code: e.code });
        throw new PortalNeedsReauthError(portalId, e.code, e.description, memberId);
      }
      throw e;
    }
  }
}
