/**
 * The emulator's human face: a light Bitrix24-like portal (left menu, header) that opens apps
 * the way Bitrix24 does (https://apidocs.bitrix24.com/settings/oauth/simple-way.html, https://github.com/bitrix24/b24jssdk):
 *
 *  - a hidden form POSTs to `APP_URL?DOMAIN=&PROTOCOL=&LANG=&APP_SID=` with AUTH_ID, AUTH_EXPIRES,
 *    REFRESH_ID, SERVER_ENDPOINT, APPLICATION_TOKEN, APPLICATION_SCOPE, member_id, status, PLACEMENT,
 *    PLACEMENT_OPTIONS, targeting `<iframe name="DOMAIN|PROTOCOL|APP_SID">`;
 *  - the page answers the child's postMessage commands (assets/host.js) — getInitData, refreshAuth,
 *    setInstallFinish, resizeWindow, setTitle, openPath, openApplication, setAppOption, selectUser…
 *
 * Pages: `/` (installed apps), `/app/<clientId>`, `/crm/contact/list/`, `/crm/contact/details/<id>/`
 * (fields incl. UF_CRM_* and one tab per CRM_CONTACT_DETAIL_TAB placement), `/crm/company/list/`,
 * `/crm/company/details/<id>/` (the same with its contacts and CRM_COMPANY_DETAIL_TAB tabs), `/crm/deal/list/`,
 * `/crm/deal/details/<id>/`. The acting user is `?user=<id>` (default 1, the admin).
 * Host endpoints (JSON, same origin): `POST /_host/frame`, `/_host/refresh-auth`,
 * `/_host/install-finish`, `/_host/app-option`, `/_host/user-option`; assets under `/_host/assets/`.
 */
import express from 'express';
import type { Portal } from '../portal.js';
import type { FrameSession, HostContext } from './context.js';
import { mountAppPage } from './routes/app-page.js';
import { mountAssets } from './routes/assets.js';
import { mountCompanies } from './routes/companies.js';
import { mountContacts } from './routes/contacts.js';
import { mountDeals } from './routes/deals.js';
import { mountFrameLaunch } from './routes/frame-launch.js';
import { mountHome } from './routes/home.js';
import { mountInstaller } from './routes/installer.js';
import { mountNotEmulated } from './routes/not-emulated.js';
import { mountOptions } from './routes/options.js';
import { mountUserPicker } from './routes/user-picker.js';

export type { FrameSession } from './context.js';
export type { FrameSpec } from './frame.js';
export { fmtUf } from './render.js';

export interface HostRouterOptions {
  /** Extra options B's server passes (runtime, delivery); unused here. */
  [k: string]: unknown;
}

export function createHostRouter(portal: Portal, _opts: HostRouterOptions = {}): express.Router {
  const r = express.Router();
  const h: HostContext = { portal, sessions: new Map<string, FrameSession>() };
  mountAssets(r);
  // host endpoints (JSON, same origin), called by assets/host.js for the frames
  mountFrameLaunch(r, h);
  mountInstaller(r, h);
  mountOptions(r, h);
  mountUserPicker(r, h);
  // pages
  mountHome(r, h);
  mountAppPage(r, h);
  mountContacts(r, h);
  mountCompanies(r, h);
  mountDeals(r, h);
  mountNotEmulated(r, h);
  return r;
}
