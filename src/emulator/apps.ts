/**
 * The portal side of an app's life cycle (https://apidocs.bitrix24.com/settings/app-installation/mass-market-apps/index.html, https://apidocs.bitrix24.com/api-reference/common/events/on-app-install.html): install, installFinish,
 * uninstall.
 *
 * - `installApp` registers an AppRec (installed:false). In `callback` mode it POSTs ONAPPINSTALL
 *   (form-encoded, with tokens INCLUDING refresh_token, issued for the installing admin) to
 *   the install URL (or the app URL when none is given). In `wizard` mode nothing is posted:
 *   the host page opens the installer in an iframe.
 * - In both modes the app stays `installed:false` (no events, widgets hidden) until
 *   installFinish: `BX24.installFinish()` → `setInstallFinish` on the host page, or, headless
 *   and emulator-only, `POST /_emulator/apps/:clientId/install-finish`. Both call `finishInstall`.
 * - `uninstallApp` POSTs ONAPPUNINSTALL to the app's bound ONAPPUNINSTALL handlers (as the
 *   real portal does: the app must `event.bind` it) with `data[LANGUAGE_ID]`, `data[CLEAN]`
 *   and an `auth` block without tokens; then removes its event and placement bindings and its
 *   offline queue, revokes every token. `clean=false` keeps the record (app.option data
 *   survives a reinstall), `clean=true` deletes it.
 */
import { randomBytes } from 'node:crypto';
import type { EventDelivery, DeliveryRecord } from './events.js';
import { eventAuth } from './events.js';
import type { AppRec } from './model.js';
import type { Portal } from './portal.js';
import { issueTokens, revokeApp } from './tokens.js';
import { RestError } from './types.js';

export interface InstallSpec {
  clientId?: string;
  clientSecret?: string;
  code?: string;
  version?: number;
  appUrl: string;
  installUrl?: string | null;
  scopes: string[];
  mode: 'callback' | 'wizard';
  status?: AppRec['status'];
  /** Installing admin (default: the lowest-ID admin of the portal). */
  userId?: number;
}

export interface InstallOutcome {
  app: AppRec;
  /** The ONAPPINSTALL POST (callback mode), null in wizard mode. */
  delivery: Promise<DeliveryRecord> | null;
}

function hex(n: number): string {
  return randomBytes(n).toString('hex');
}

export function installingAdmin(portal: Portal): number {
  let best: number | null = null;
  for (const u of portal.users.values()) if (u.isAdmin && u.active && (best === null || u.id < best)) best = u.id;
  return best ?? 1;
}

export function installApp(portal: Portal, delivery: EventDelivery, spec: InstallSpec): InstallOutcome {
  const clientId = spec.clientId ?? `local.${hex(7)}.${hex(4)}`;
  const prev = portal.apps.get(clientId);
  if (prev && !prev.uninstalled) throw new RestError('APP_ALREADY_INSTALLED', `Application ${clientId} is already installed`, 409);
  const app: AppRec = {
    clientId,
    clientSecret: spec.clientSecret ?? prev?.clientSecret ?? hex(24),
    code: spec.code ?? prev?.code ?? clientId,
    version: spec.version ?? 1,
    appUrl: spec.appUrl,
    installUrl: spec.installUrl ?? null,
    scopes: [...spec.scopes],
    status: spec.status ?? prev?.status ?? 'L',
    installed: false,
    applicationToken: hex(16),
    paymentExpired: false,
    options: prev?.options ?? {},
    userOptions: prev?.userOptions ?? {},
  };
  portal.apps.set(clientId, app);
  if (spec.mode === 'wizard') return { app, delivery: null };

  const userId = spec.userId ?? installingAdmin(portal);
  const tok = issueTokens(portal, clientId, userId);
  const payload = {
    event: 'ONAPPINSTALL',
    data: { VERSION: String(app.version), ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: portal.language },
    ts: String(Math.floor(portal.clock.now() / 1000)),
    auth: eventAuth(portal, app, tok, { refreshToken: true, userId: true, expires: true, protocol: delivery.protocol }),
  };
  const url = app.installUrl ?? app.appUrl;
  return { app, delivery: delivery.post(url, payload, { event: 'ONAPPINSTALL', clientId, bindingId: null }) };
}

/** installFinish: from now on events are delivered and widgets shown. */
export function finishInstall(portal: Portal, clientId: string): AppRec {
  const app = portal.apps.get(clientId);
  if (!app || app.uninstalled) throw new RestError('APP_NOT_FOUND', `Application ${clientId} is not installed`, 404);
  app.installed = true;
  return app;
}

export function uninstallApp(portal: Portal, delivery: EventDelivery, clientId: string, clean: boolean): Promise<DeliveryRecord[]> {
  const app = portal.apps.get(clientId);
  if (!app || app.uninstalled) throw new RestError('APP_NOT_FOUND', `Application ${clientId} is not installed`, 404);
  const posts: Promise<DeliveryRecord>[] = [];
  for (const b of portal.eventBindings) {
    if (b.clientId !== clientId || b.event.toUpperCase() !== 'ONAPPUNINSTALL' || !b.handler) continue;
    posts.push(delivery.post(b.handler, {
      event: 'ONAPPUNINSTALL',
      event_handler_id: String(b.id),
      data: { LANGUAGE_ID: portal.language, CLEAN: clean ? '1' : '0' },
      ts: String(Math.floor(portal.clock.now() / 1000)),
      auth: eventAuth(portal, app, null, { protocol: delivery.protocol }),
    }, { event: 'ONAPPUNINSTALL', clientId, bindingId: b.id }));
  }
  removeWhere(portal.eventBindings, (b) => b.clientId === clientId);
  removeWhere(portal.placements, (p) => p.clientId === clientId);
  removeWhere(portal.offlineEvents, (e) => e.clientId === clientId);
  revokeApp(portal, clientId);
  app.installed = false;
  if (clean) portal.apps.delete(clientId);
  else app.uninstalled = true;
  return Promise.all(posts);
}

function removeWhere<T>(arr: T[], pred: (x: T) => boolean): void {
  let w = 0;
  for (let r = 0; r < arr.length; r++) {
    const x = arr[r] as T;
    if (!pred(x)) arr[w++] = x;
  }
  arr.length = w;
}
