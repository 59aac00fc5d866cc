/**
 * Launching an app frame the way Bitrix24 does (https://apidocs.bitrix24.com/settings/oauth/simple-way.html, https://github.com/bitrix24/b24jssdk): fresh tokens for
 * (app, user), an APP_SID, the hidden form POSTed to the app URL, the `<iframe name>` and the
 * getInitData answer.
 */
import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { AppRec, UserRec } from '../model.js';
import { issueTokens } from '../tokens.js';
import { hostOf, protoOf, type HostContext } from './context.js';

/** What the browser needs to mount one app frame (POST form + iframe + getInitData answer). */
export interface FrameSpec {
  appSid: string;
  clientId: string;
  /** `<iframe name>`: DOMAIN|PROTOCOL|APP_SID. */
  name: string;
  /** Form action: the app URL with DOMAIN, PROTOCOL, LANG, APP_SID in the query. */
  action: string;
  /** Form body fields. */
  fields: Record<string, string>;
  /** Origin of the app URL (postMessage target). */
  appOrigin: string;
  /** The getInitData answer. */
  init: Record<string, unknown>;
  install: boolean;
}

/** Creates a frame session: fresh tokens for (app, user), APP_SID, form fields, init data. */
export function makeFrame(h: HostContext, req: Request, app: AppRec, user: UserRec, placement: string,
  placementOptions: Record<string, unknown>, handler: string | null): FrameSpec {
  const { portal, sessions } = h;
  const host = hostOf(portal, req);
  const protocol = protoOf(req);
  const install = !app.installed;
  const appSid = randomBytes(16).toString('hex');
  const tok = issueTokens(portal, app.clientId, user.id);
  sessions.set(appSid, {
    appSid, clientId: app.clientId, userId: user.id, placement, placementOptions, install, createdAt: portal.clock.now(),
  });
  if (sessions.size > 5000) {
    const first = sessions.keys().next().value;
    if (first !== undefined) sessions.delete(first);
  }
  const target = handler ?? (install ? app.installUrl ?? app.appUrl : app.appUrl);
  const url = new URL(target);
  url.searchParams.set('DOMAIN', host);
  url.searchParams.set('PROTOCOL', String(protocol));
  url.searchParams.set('LANG', portal.language);
  url.searchParams.set('APP_SID', appSid);
  const ep = `${protocol ? 'https' : 'http'}://${host}/rest/`;
  const authExpires = String(portal.accessTokenTtl);
  const fields: Record<string, string> = {
    AUTH_ID: tok.accessToken,
    AUTH_EXPIRES: authExpires,
    REFRESH_ID: tok.refreshToken,
    SERVER_ENDPOINT: portal.serverEndpoint ?? ep,
    APPLICATION_TOKEN: app.applicationToken,
    APPLICATION_SCOPE: app.scopes.join(','),
    member_id: portal.memberId,
    status: app.status,
    PLACEMENT: placement,
    PLACEMENT_OPTIONS: JSON.stringify(placementOptions),
  };
  const init = {
    DOMAIN: host,
    PROTOCOL: protocol,
    PATH: '/rest/',
    LANG: portal.language,
    MEMBER_ID: portal.memberId,
    IS_ADMIN: user.isAdmin,
    AUTH_ID: tok.accessToken,
    REFRESH_ID: tok.refreshToken,
    AUTH_EXPIRES: portal.accessTokenTtl,
    APP_OPTIONS: { ...app.options },
    USER_OPTIONS: { ...(app.userOptions[user.id] ?? {}) },
    PLACEMENT: placement,
    PLACEMENT_OPTIONS: placementOptions,
    INSTALL: install,
    FIRST_RUN: install,
  };
  return {
    appSid, clientId: app.clientId, name: `${host}|${protocol}|${appSid}`, action: url.toString(), fields,
    appOrigin: url.origin, init, install,
  };
}
