/**
 * Proof of an install: the tokens offered by an install payload (ONAPPINSTALL callback,
 * installer page) are proven with an ACCEPTED OAuth server before anything is stored or called.
 *
 * The proof is the documented refresh grant
 *   GET <oauth server>/oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token
 * (https://apidocs.bitrix24.com/settings/oauth/auto-renewal.html). The OAuth server answers it only
 * for a refresh token it issued to OUR client_id (the secret never leaves us for anywhere else),
 * and its answer names the portal: `member_id` and `client_endpoint`. The portal's identity is
 * taken from that answer, never from the payload; a payload that names another member_id or
 * endpoint is refused (401) and nothing changes.
 *
 * Before the proof no request is made at all: `server_endpoint` must be one of
 * OAUTH_SERVER_ENDPOINTS (production: https://oauth.bitrix.info/rest/ only), so an install
 * payload cannot make us send a request to an address of its choosing.
 *
 * The offered refresh token is spent by the proof (refresh tokens rotate); the rotated pair is
 * what the install stores.
 */
import { refreshAccessToken, tokenUrl, type RefreshedTokens, type RefreshParams } from '../b24/auth.js';
import { DeadRefreshTokenError, OAuthError } from '../b24/errors.js';
import type { AppConfig } from '../config.js';

export class InstallRejected extends Error {
  override name = 'InstallRejected';
  constructor(public readonly status: number, public readonly code: string, reason: string) {
    super(reason);
  }
}

/** What an install payload offers (not yet trusted). */
export interface OfferedInstall {
  memberId: string;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  refreshToken: string;
}

/** What the accepted OAuth server vouched for. */
export interface ProvenInstall {
  memberId: string;
  /** host[:port] of the portal, from the OAuth server's client_endpoint. */
  domain: string;
  clientEndpoint: string;
  /** The accepted OAuth server that proved it (normalised, trailing slash). */
  serverEndpoint: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  scope: string | null;
  status: string | null;
  userId: number | null;
  /**
   * The OAuth server lives on the portal's own host (the local emulator): it vouches for itself
   * only, so it cannot prove that an installed member_id moved to another domain.
   */
  portalHosted: boolean;
}

export type RefreshFn = (p: RefreshParams) => Promise<RefreshedTokens>;

const withSlash = (u: string) => `${u.replace(/\/+$/, '')}/`;

/** host[:port] of a URL, lower case, default port dropped. */
export function hostOf(url: string): string {
  const u = new URL(url);
  const port = u.port && !((u.protocol === 'https:' && u.port === '443') || (u.protocol === 'http:' && u.port === '80')) ? `:${u.port}` : '';
  return `${u.hostname}${port}`.toLowerCase();
}

/** `scheme://host[:port]/rest/`, normalised (lower-case host, default port dropped). */
export function normaliseEndpoint(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${hostOf(url)}${u.pathname.replace(/\/+$/, '')}/`;
}

/** The accepted OAuth server equal to `serverEndpoint`, or null. */
export function acceptedOAuthServer(config: Pick<AppConfig, 'oauthServerEndpoints'>, serverEndpoint: string): string | null {
  let want: string;
  try {
    want = normaliseEndpoint(serverEndpoint);
  } catch {
    return null;
  }
  for (const s of config.oauthServerEndpoints) {
    try {
      if (normaliseEndpoint(withSlash(s)) === want) return withSlash(s);
    } catch {
      /* a malformed entry accepts nothing */
    }
  }
  return null;
}

/**
 * Checks that need no request: the OAuth server is accepted, the portal endpoint is a REST base
 * on the payload's own domain, https unless dev portals are allowed. Throws InstallRejected 400.
 */
export function checkOffered(config: Pick<AppConfig, 'oauthServerEndpoints' | 'allowDevPortals'>, o: OfferedInstall): string {
  const server = acceptedOAuthServer(config, o.serverEndpoint);
  if (!server) throw new InstallRejected(400, 'OAUTH_SERVER_NOT_ALLOWED', 'server_endpoint is not an accepted OAuth server (OAUTH_SERVER_ENDPOINTS)');
  const ce = new URL(o.clientEndpoint);
  if (ce.protocol !== 'https:' && !(config.allowDevPortals && ce.protocol === 'http:')) {
    throw new InstallRejected(400, 'INSECURE_PORTAL', 'client_endpoint must be https');
  }
  const domain = o.domain.toLowerCase().replace(ce.protocol === 'https:' ? /:443$/ : /:80$/, '');
  if (hostOf(o.clientEndpoint) !== domain || !/\/rest\/?$/.test(ce.pathname) || ce.search || ce.hash || ce.username || ce.password) {
    throw new InstallRejected(400, 'ENDPOINT_MISMATCH', 'client_endpoint is not the REST base of the portal domain');
  }
  return server;
}

export interface ProveOptions {
  config: Pick<AppConfig, 'oauthServerEndpoints' | 'allowDevPortals' | 'clientId' | 'clientSecret'>;
  /** Injected OAuth call (tests); default the real GET to the token URL. */
  refreshFn?: RefreshFn;
  timeoutMs?: number;
}

/**
 * Proves an offered install with its accepted OAuth server (one refresh grant). Throws
 * InstallRejected: 400 (no request made), 401 (refused or identity mismatch), 502 (unreachable).
 */
export async function proveInstall(opts: ProveOptions, offered: OfferedInstall): Promise<ProvenInstall> {
  const server = checkOffered(opts.config, offered);
  const refresh = opts.refreshFn ?? refreshAccessToken;
  let t: RefreshedTokens;
  try {
    t = await refresh({
      oauthUrl: tokenUrl({ serverEndpoint: server }),
      clientId: opts.config.clientId,
      clientSecret: opts.config.clientSecret,
      refreshToken: offered.refreshToken,
      timeoutMs: opts.timeoutMs ?? 15_000,
      portal: offered.memberId,
    });
  } catch (e) {
    if (e instanceof DeadRefreshTokenError) throw new InstallRejected(401, 'TOKEN_REJECTED', 'the OAuth server refused the offered tokens');
    if (e instanceof OAuthError) {
      if (e.code === 'BAD_RESPONSE') throw new InstallRejected(502, 'BAD_OAUTH_ANSWER', 'the OAuth server gave an answer that is not a token response');
      if (e.status >= 400 && e.status < 500) throw new InstallRejected(401, 'TOKEN_REJECTED', `the OAuth server refused the offered tokens (${e.code})`);
      throw new InstallRejected(502, 'OAUTH_UNREACHABLE', `the OAuth server answered HTTP ${e.status}`);
    }
    const code = (e as { code?: string }).code;
    throw new InstallRejected(502, 'OAUTH_UNREACHABLE', `the OAuth server did not answer${code ? ` (${code})` : ''}`);
  }
  const memberId = t.raw.member_id;
  let endpoint: string | null = null;
  try {
    endpoint = normaliseEndpoint(t.clientEndpoint);
  } catch {
    endpoint = null;
  }
  if (!memberId || memberId !== offered.memberId || !endpoint || endpoint !== normaliseEndpoint(offered.clientEndpoint)) {
    throw new InstallRejected(401, 'IDENTITY_MISMATCH', 'the OAuth server names another portal than the install request');
  }
  const domain = hostOf(endpoint);
  return {
    memberId,
    domain,
    clientEndpoint: endpoint,
    serverEndpoint: server,
    accessToken: t.accessToken,
    refreshToken: t.refreshToken,
    expiresAt: new Date(t.expiresAt),
    scope: t.scope ?? null,
    status: t.raw.status ?? null,
    userId: t.raw.user_id ?? null,
    portalHosted: hostOf(server) === domain,
  };
}
