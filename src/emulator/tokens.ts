/**
 * OAuth tokens of the emulated portal (https://apidocs.bitrix24.com/settings/oauth/index.html): access tokens live
 * `portal.accessTokenTtl` portal seconds (default 3600), refresh tokens 180 days and
 * rotate on every use.
 */
import { randomBytes } from 'node:crypto';
import type { TokenRec } from './model.js';
import type { Portal } from './portal.js';

const REFRESH_TTL_MS = 180 * 86400 * 1000;

function token(): string {
  return randomBytes(24).toString('hex');
}

/** Issues a fresh access/refresh pair for a user of an app. */
export function issueTokens(portal: Portal, clientId: string, userId: number): TokenRec {
  const now = portal.clock.now();
  const rec: TokenRec = {
    accessToken: token(),
    refreshToken: token(),
    clientId,
    userId,
    expiresAt: now + portal.accessTokenTtl * 1000,
    refreshExpiresAt: now + REFRESH_TTL_MS,
    refreshValid: true,
  };
  portal.tokens.set(rec.accessToken, rec);
  portal.refreshTokens.set(rec.refreshToken, rec);
  return rec;
}

export type RefreshOutcome =
  | { ok: true; token: TokenRec }
  | { ok: false; error: 'invalid_grant' | 'invalid_client'; description: string };

/**
 * The refresh_token grant: checks the client, consumes the refresh token (rotation: the
 * old one is dead afterwards) and issues a new pair.
 */
export function refreshTokens(portal: Portal, clientId: string, clientSecret: string, refreshToken: string): RefreshOutcome {
  const app = portal.apps.get(clientId);
  if (!app || app.clientSecret !== clientSecret) {
    return { ok: false, error: 'invalid_client', description: 'Invalid client credentials' };
  }
  const rec = portal.refreshTokens.get(refreshToken);
  if (!rec || rec.clientId !== clientId || !rec.refreshValid || rec.refreshExpiresAt <= portal.clock.now()) {
    return { ok: false, error: 'invalid_grant', description: 'Invalid grant' };
  }
  rec.refreshValid = false;
  return { ok: true, token: issueTokens(portal, clientId, rec.userId) };
}

/** Revokes every token of an app (uninstall). */
export function revokeApp(portal: Portal, clientId: string): void {
  for (const [k, t] of portal.tokens) if (t.clientId === clientId) portal.tokens.delete(k);
  for (const [k, t] of portal.refreshTokens) if (t.clientId === clientId) portal.refreshTokens.delete(k);
}
