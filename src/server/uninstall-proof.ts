/**
 * ONAPPUNINSTALL carries no tokens, only `application_token`, and that token is no secret from the
 * portal's own users: every app page and widget POST carries it (APPLICATION_TOKEN), through the
 * user's browser. So the event alone does not prove an uninstall. The portal does: after an
 * uninstall "the API no longer works for this app"
 * (https://apidocs.bitrix24.com/api-reference/common/events/on-app-uninstall.html), so one
 * `app.info` with the stored tokens tells a genuine uninstall (refused: 401/403, or the refresh
 * token is dead) from a forged one (the app still answers as installed).
 */
import { B24Error, B24NetworkError, DeadRefreshTokenError, OAuthError } from '../b24/errors.js';
import { PortalNotInstalledError, StoreTokenSource } from '../b24/store-tokens.js';
import type { Portal } from '../store/portals.js';
import type { ServerDeps } from './deps.js';

export type UninstallVerdict = 'confirmed' | 'still_installed' | 'unknown';

export async function checkUninstalled(deps: ServerDeps, portal: Portal): Promise<UninstallVerdict> {
  const tokens = new StoreTokenSource({ db: deps.db, portalId: portal.id, clientId: deps.config.clientId, clientSecret: deps.config.clientSecret });
  // the stored tokens, on the portal's shared limiter (it counts against the same bucket as the sync)
  const client = deps.clientFor(portal.id).withTokens(tokens, { maxRetries: 1, retryBaseMs: 200, timeoutMs: 10_000 });
  try {
    const info = (await client.call('app.info')) as { INSTALLED?: unknown } | null;
    return info?.INSTALLED === false ? 'confirmed' : 'still_installed';
  } catch (e) {
    if (e instanceof PortalNotInstalledError || e instanceof DeadRefreshTokenError) return 'confirmed';
    if (e instanceof OAuthError && e.status >= 400 && e.status < 500) return 'confirmed';
    if (e instanceof B24NetworkError) return 'unknown';
    if (e instanceof B24Error && (e.status === 401 || e.status === 403)) return 'confirmed';
    return 'unknown';
  }
}
