/** Placement widgets on the host pages: which bindings a user sees, and their titles. */
import type { AppRec, PlacementBindingRec, UserRec } from '../model.js';
import type { Portal } from '../portal.js';
import { liveApp } from './context.js';
import { appTitle } from './html.js';

export const CONTACT_TABS = 'CRM_CONTACT_DETAIL_TAB';
export const DEAL_TABS = 'CRM_DEAL_DETAIL_TAB';
export const COMPANY_TABS = 'CRM_COMPANY_DETAIL_TAB';

export type PlacementOfApp = PlacementBindingRec & { app: AppRec };

/** Placements of installed apps visible to a user. */
export function placementsFor(portal: Portal, code: string, user: UserRec): PlacementOfApp[] {
  const out: PlacementOfApp[] = [];
  for (const p of portal.placements) {
    if (p.placement.toUpperCase() !== code) continue;
    if (p.userId !== 0 && p.userId !== user.id) continue;
    const app = liveApp(portal, p.clientId);
    if (!app || !app.installed) continue; // widgets are hidden until installFinish (https://apidocs.bitrix24.com/settings/app-installation/mass-market-apps/index.html)
    out.push({ ...p, app });
  }
  return out;
}

export function placementTitle(portal: Portal, p: PlacementOfApp): string {
  return p.langAll[portal.language]?.TITLE || p.title || p.langAll.en?.TITLE || appTitle(p.app);
}
