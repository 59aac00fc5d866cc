/**
 * Access tokens for a portal: the `TokenSource` seam the storage layer plugs into, an
 * in-memory implementation, and the OAuth refresh call itself (https://apidocs.bitrix24.com/settings/oauth/index.html).
 *
 * Contract of a TokenSource (what `B24Client` relies on):
 *  - `get()` returns the current access token, the REST base (`client_endpoint`) and the
 *    expiry (epoch ms on the portal/auth-server clock).
 *  - `refresh(stale)` returns a token different from `stale`. If another caller (or another
 *    process) already replaced `stale`, it must return that newer token WITHOUT calling the
 *    OAuth server again: refresh tokens rotate, so two refreshes with the same refresh token
 *    kill one of them. Across processes this needs a lock per portal plus "save the rotated
 *    refresh token before handing out the access token" (the PostgreSQL store does this).
 *  - A refused refresh token surfaces as `DeadRefreshTokenError`.
 *  - `refreshable: false`: the source cannot refresh (a user's token, src/b24/user-token.ts); the
 *    client then surfaces a 401 as is instead of calling `refresh`.
 */
import axios from 'axios';
import { keepAliveAgents, retryStaleSocket } from './transport.js';
import { z } from 'zod';
import { DeadRefreshTokenError, OAuthError } from './errors.js';

export interface AccessToken {
  /** Access token; '' for an incoming webhook (the secret is in `clientEndpoint`). */
  accessToken: string;
  /** REST base, e.g. `https://x.bitrix24.com/rest/` (trailing slash added if missing). */
  clientEndpoint: string;
  /** Epoch ms when the access token dies (portal clock); Infinity for webhooks. */
  expiresAt: number;
}

export interface TokenSource {
  get(): Promise<AccessToken>;
  refresh(staleAccessToken: string): Promise<AccessToken>;
  /** false: `refresh` always throws; a 401 is the caller's answer (default true). */
  readonly refreshable?: boolean;
}

/** What the OAuth server answers to `grant_type=refresh_token` (https://apidocs.bitrix24.com/settings/oauth/index.html). */
export const OAuthTokenResponse = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires: z.coerce.number().optional(),
  expires_in: z.coerce.number().positive(),
  client_endpoint: z.string().min(1),
  server_endpoint: z.string().optional(),
  member_id: z.string().optional(),
  domain: z.string().optional(),
  scope: z.string().optional(),
  status: z.string().optional(),
  user_id: z.coerce.number().optional(),
});
export type OAuthTokenResponse = z.infer<typeof OAuthTokenResponse>;

export interface RefreshedTokens {
  accessToken: string;
  refreshToken: string;
  clientEndpoint: string;
  serverEndpoint?: string;
  memberId?: string;
  scope?: string;
  /** Epoch ms (from `expires`, else `now + expires_in`). */
  expiresAt: number;
  raw: OAuthTokenResponse;
}

export interface RefreshParams {
  /** `server_endpoint` of the install payload (`https://oauth.bitrix.info/rest/`); the token URL is derived from it. */
  serverEndpoint?: string;
  /** Explicit OAuth base (`https://oauth.bitrix.info/`) or full token URL (`.../oauth/token/`). Wins over serverEndpoint. */
  oauthUrl?: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Used when the answer has no `expires` (code exchange); epoch ms. */
  now?: number;
  timeoutMs?: number;
  /** Label for error messages (member_id); never a token. */
  portal?: string;
}

/** Token endpoint from `oauthUrl` or `serverEndpoint` (strip `rest/`, add `oauth/token/`). */
export function tokenUrl(p: Pick<RefreshParams, 'oauthUrl' | 'serverEndpoint'>): string {
  const base = p.oauthUrl ?? p.serverEndpoint?.replace(/\/?rest\/?$/, '/');
  if (!base) throw new Error('refreshAccessToken needs oauthUrl or serverEndpoint');
  if (/\/oauth\/token\/?$/.test(base)) return base.endsWith('/') ? base : `${base}/`;
  return `${base.replace(/\/+$/, '')}/oauth/token/`;
}

/**
 * One OAuth refresh (`GET .../oauth/token/?grant_type=refresh_token&...`, the documented form).
 * `invalid_grant` → DeadRefreshTokenError; anything else non-2xx → OAuthError.
 */
export async function refreshAccessToken(p: RefreshParams): Promise<RefreshedTokens> {
  const url = tokenUrl(p);
  // a request written on a stale kept-alive socket is sent again (transport.ts retryStaleSocket: repeating a refresh is harmless)
  const res = await retryStaleSocket(() => axios.get(url, {
    params: { grant_type: 'refresh_token', client_id: p.clientId, client_secret: p.clientSecret, refresh_token: p.refreshToken },
    timeout: p.timeoutMs ?? 30_000,
    validateStatus: () => true,
    // the token URL is an accepted OAuth server; a redirect would send the secret elsewhere
    maxRedirects: 0,
    // idle sockets leave the pool before a server's keep-alive closes them (transport.ts IDLE_SOCKET_MS)
    httpAgent: keepAliveAgents.http,
    httpsAgent: keepAliveAgents.https,
    headers: { Accept: 'application/json', 'User-Agent': 'b24-segments/0.1' },
  }));
  const body: unknown = res.data;
  const err = z.object({ error: z.string(), error_description: z.string().optional() }).safeParse(body);
  if (err.success) {
    if (err.data.error === 'invalid_grant') throw new DeadRefreshTokenError(err.data.error, err.data.error_description ?? '', p.portal);
    throw new OAuthError(err.data.error, err.data.error_description ?? '', res.status);
  }
  if (res.status < 200 || res.status >= 300) throw new OAuthError('HTTP_ERROR', `unexpected HTTP ${res.status}`, res.status);
  const parsed = OAuthTokenResponse.safeParse(body);
  if (!parsed.success) throw new OAuthError('BAD_RESPONSE', 'token response failed validation', res.status);
  const t = parsed.data;
  const now = p.now ?? Date.now();
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    clientEndpoint: t.client_endpoint,
    serverEndpoint: t.server_endpoint,
    memberId: t.member_id,
    scope: t.scope,
    expiresAt: t.expires !== undefined ? t.expires * 1000 : now + t.expires_in * 1000,
    raw: t,
  };
}

export interface MemoryTokenSourceOptions {
  accessToken: string;
  refreshToken: string;
  clientEndpoint: string;
  /** Epoch ms; default: already unknown → treated as valid until a 401 says otherwise. */
  expiresAt?: number;
  clientId: string;
  clientSecret: string;
  serverEndpoint?: string;
  oauthUrl?: string;
  /** Called with the rotated tokens before they are used (persist them here). */
  onRefresh?: (t: RefreshedTokens) => void | Promise<void>;
  /** Injected refresh call (tests). */
  refreshFn?: typeof refreshAccessToken;
}

/**
 * In-memory TokenSource for one process (tests, scripts). Single-flight: concurrent
 * refreshes for the same stale token share one OAuth call.
 */
export class MemoryTokenSource implements TokenSource {
  private current: AccessToken;
  private refreshToken: string;
  private inflight: Promise<AccessToken> | null = null;
  /** Number of OAuth refresh calls made (tests/metrics). */
  refreshCount = 0;

  constructor(private readonly opts: MemoryTokenSourceOptions) {
    this.current = { accessToken: opts.accessToken, clientEndpoint: opts.clientEndpoint, expiresAt: opts.expiresAt ?? Number.POSITIVE_INFINITY };
    this.refreshToken = opts.refreshToken;
  }

  async get(): Promise<AccessToken> {
    return this.current;
  }

  refresh(staleAccessToken: string): Promise<AccessToken> {
    if (this.current.accessToken !== staleAccessToken) return Promise.resolve(this.current);
    if (this.inflight) return this.inflight;
    this.inflight = (async () => {
      try {
        const fn = this.opts.refreshFn ?? refreshAccessToken;
        this.refreshCount++;
        const t = await fn({
          clientId: this.opts.clientId,
          clientSecret: this.opts.clientSecret,
          refreshToken: this.refreshToken,
          serverEndpoint: this.opts.serverEndpoint,
          oauthUrl: this.opts.oauthUrl,
        });
        // Rotated refresh token is saved before the new access token is handed out.
        await this.opts.onRefresh?.(t);
        this.refreshToken = t.refreshToken;
        this.current = { accessToken: t.accessToken, clientEndpoint: t.clientEndpoint, expiresAt: t.expiresAt };
        return this.current;
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }
}

/** Incoming-webhook "token source": the secret lives in the URL, nothing to refresh. */
export class WebhookTokenSource implements TokenSource {
  private readonly tok: AccessToken;
  constructor(webhookUrl: string) {
    this.tok = { accessToken: '', clientEndpoint: webhookUrl.endsWith('/') ? webhookUrl : `${webhookUrl}/`, expiresAt: Number.POSITIVE_INFINITY };
  }
  async get(): Promise<AccessToken> {
    return this.tok;
  }
  async refresh(): Promise<AccessToken> {
    throw new DeadRefreshTokenError('WEBHOOK', 'an incoming webhook has no refresh token');
  }
}
