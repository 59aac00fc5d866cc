/**
 * A portal USER's access token as a TokenSource: the token the user's browser holds (the app
 * page's AUTH_ID, the frame's current token), used to ask the portal what that user may see and
 * who they are. Calls with it go through the portal's own B24Client limiter:
 *
 *   const asUser = portalClient.withTokens(new UserTokenSource(portal, token));
 *
 * The REST endpoint is always the one stored for the portal at install time (or its domain's
 * /rest/), never one the browser names. User tokens are not refreshed server-side (the frame
 * refreshes them through the portal page): `refresh()` throws, and the client surfaces a 401
 * (expired or foreign token) as is: the user is not verified.
 */
import type { Portal } from '../store/portals.js';
import type { AccessToken, TokenSource } from './auth.js';

/** The portal's REST base: its stored client_endpoint, else https://<domain>/rest/. */
export function restEndpoint(portal: Pick<Portal, 'clientEndpoint' | 'domain'>): string {
  if (portal.clientEndpoint) return portal.clientEndpoint.endsWith('/') ? portal.clientEndpoint : `${portal.clientEndpoint}/`;
  return `https://${portal.domain}/rest/`;
}

/** refresh() of a user's token: never done server-side. */
export class UserTokenNotRefreshableError extends Error {
  override name = 'UserTokenNotRefreshableError';
  constructor() {
    super('a user\'s access token is not refreshed by the server: the user must open the app again (the frame refreshes its token)');
  }
}

export class UserTokenSource implements TokenSource {
  readonly refreshable = false;
  private readonly tok: AccessToken;

  constructor(portal: Pick<Portal, 'clientEndpoint' | 'domain'>, accessToken: string) {
    // expiry unknown: valid until the portal answers 401
    this.tok = { accessToken, clientEndpoint: restEndpoint(portal), expiresAt: Number.POSITIVE_INFINITY };
  }

  async get(): Promise<AccessToken> {
    return this.tok;
  }

  async refresh(): Promise<AccessToken> {
    throw new UserTokenNotRefreshableError();
  }
}
