/**
 * The OAuth server (https://apidocs.bitrix24.com/settings/oauth/index.html), served on the emulator's own host at `/oauth/token/`:
 * `server_endpoint` is `http://<host>/rest/`, so clients (the SDK strips `/rest/` and
 * appends `/oauth/token/`) find it here.
 *
 * - GET (documented) and POST form/JSON (UNCONFIRMED in the docs; the SDK POSTs a form).
 * - `grant_type=refresh_token` with client_id, client_secret, refresh_token: rotation via
 *   tokens.ts (the old refresh token is dead afterwards).
 * - `grant_type=authorization_code` with client_id, client_secret, code: codes are minted by
 *   `POST /_emulator/apps/:clientId/auth-code` (emulator-only) and live 30 portal seconds.
 * - Errors `{error, error_description}` with HTTP 400 (UNCONFIRMED: the docs give no status;
 *   the PHP SDK expects 400 for invalid_grant): invalid_request, invalid_client (bad
 *   id/secret or app not installed), invalid_grant, PAYMENT_REQUIRED.
 */
import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import { clientEndpoint, serverEndpoint } from '../events.js';
import type { TokenRec } from '../model.js';
import type { Portal } from '../portal.js';
import { issueTokens, refreshTokens } from '../tokens.js';
import { sendError } from './envelope.js';
import { BadRequestBody, requestParams } from './params.js';
import type { Runtime } from './runtime.js';

const CODE_TTL_MS = 30_000;

interface AuthCode {
  clientId: string;
  userId: number;
  expiresAt: number;
}

const codes = new WeakMap<Portal, Map<string, AuthCode>>();

/** Mints an authorization code (emulator-only stand-in for the /oauth/authorize/ redirect). */
export function mintAuthCode(portal: Portal, clientId: string, userId: number): { code: string; expiresAt: number } {
  let m = codes.get(portal);
  if (!m) codes.set(portal, (m = new Map()));
  const code = randomBytes(16).toString('hex');
  const expiresAt = portal.clock.now() + CODE_TTL_MS;
  m.set(code, { clientId, userId, expiresAt });
  return { code, expiresAt };
}

export function tokenResponse(rt: Runtime, tok: TokenRec, withUser: boolean): Record<string, unknown> {
  const portal = rt.portal;
  const app = portal.apps.get(tok.clientId);
  const ep = clientEndpoint(portal, rt.delivery.protocol);
  const body: Record<string, unknown> = {
    access_token: tok.accessToken,
    refresh_token: tok.refreshToken,
    expires: Math.floor(tok.expiresAt / 1000),
    expires_in: portal.accessTokenTtl,
    scope: app?.scopes.join(',') ?? '',
    domain: rt.oauthDomain,
    server_endpoint: serverEndpoint(portal, rt.delivery.protocol),
    status: app?.status ?? 'L',
    client_endpoint: ep,
    member_id: portal.memberId,
    user_id: tok.userId,
  };
  if (!withUser) {
    delete body.expires;
    delete body.user_id;
  }
  return body;
}

export function oauthTokenHandler(rt: Runtime): RequestHandler {
  return (req, res) => {
    let p: Record<string, unknown>;
    try {
      p = requestParams(req);
    } catch (e) {
      if (e instanceof BadRequestBody) return sendError(res, 400, 'invalid_request', e.message);
      throw e;
    }
    const portal = rt.portal;
    const str = (k: string): string => (typeof p[k] === 'string' ? (p[k] as string) : '');
    const grant = str('grant_type');
    const clientId = str('client_id');
    const clientSecret = str('client_secret');
    if (!grant || !clientId || !clientSecret) {
      return sendError(res, 400, 'invalid_request', 'grant_type, client_id and client_secret are required');
    }
    const app = portal.apps.get(clientId);
    if (!app || app.clientSecret !== clientSecret || app.uninstalled) {
      return sendError(res, 400, 'invalid_client', 'Invalid client credentials');
    }
    if (app.paymentExpired) return sendError(res, 400, 'PAYMENT_REQUIRED', 'Payment required');
    if (grant === 'refresh_token') {
      const refresh = str('refresh_token');
      if (!refresh) return sendError(res, 400, 'invalid_request', 'refresh_token is required');
      const out = refreshTokens(portal, clientId, clientSecret, refresh);
      if (!out.ok) return sendError(res, 400, out.error, out.description);
      res.json(tokenResponse(rt, out.token, true));
      return;
    }
    if (grant === 'authorization_code') {
      const code = str('code');
      const m = codes.get(portal);
      const rec = m?.get(code);
      if (!rec || rec.clientId !== clientId || rec.expiresAt <= portal.clock.now()) {
        return sendError(res, 400, 'invalid_grant', 'Invalid grant');
      }
      m?.delete(code);
      res.json(tokenResponse(rt, issueTokens(portal, clientId, rec.userId), false));
      return;
    }
    sendError(res, 400, 'invalid_request', `Unsupported grant_type "${grant}"`);
  };
}
