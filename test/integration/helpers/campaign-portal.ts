/**
 * An emulated portal for the campaign tests: generated CRM data, a workflow template, the app
 * installed (crm, user, bizproc, catalog scopes) and a B24Client with its token; plus the
 * independent arithmetic the tests check the store's figures against (from the emulator's deals).
 */
import axios from 'axios';
import { B24Client } from '../../../src/b24/client.js';
import { MemoryTokenSource } from '../../../src/b24/auth.js';
import { PortalClock } from '../../../src/emulator/clock.js';
import { generatePortal } from '../../../src/emulator/generator.js';
import { purchasingPriceOf } from '../../../src/emulator/methods/catalog.js';
import { Portal } from '../../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../../src/emulator/server.js';

export const TEMPLATE_ID = 41;

export async function startCampaignPortal(o: { contacts: number; deals: number; seed: number; companies?: number; timeScale?: number }): Promise<{ emu: RunningEmulator; client: B24Client }> {
  const TS = o.timeScale ?? 100;
  const portal = new Portal({ plan: 'standard', clock: new PortalClock(Date.now(), TS) });
  generatePortal(portal, { contacts: o.contacts, deals: o.deals, seed: o.seed, ...(o.companies ? { companies: o.companies } : {}) });
  portal.bizprocTemplates.push({ id: TEMPLATE_ID, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Campaign e-mail', autoExecute: 0 });
  const emu = await startEmulator({ port: 0, portal, hostPage: false, log: () => {} });
  const admin = axios.create({ baseURL: `${emu.url}_emulator/`, validateStatus: () => true });
  const inst = await admin.post('apps/install', { appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user', 'bizproc', 'catalog'], mode: 'wizard' });
  const { clientId, clientSecret } = inst.data.app as { clientId: string; clientSecret: string };
  await admin.post(`apps/${clientId}/install-finish`);
  type Tok = { access_token: string; refresh_token: string; client_endpoint: string; server_endpoint: string; expires_in: number };
  let t: Tok | null = null;
  for (let i = 0; i < 20 && !t; i++) {
    const code = (await admin.post(`apps/${clientId}/auth-code`, {})).data.code as string;
    const tok = await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'authorization_code', client_id: clientId, client_secret: clientSecret, code }, validateStatus: () => true });
    if (tok.status === 200) t = tok.data as Tok;
  }
  const tokens = new MemoryTokenSource({
    accessToken: t!.access_token, refreshToken: t!.refresh_token, clientEndpoint: t!.client_endpoint, expiresAt: portal.clock.now() + t!.expires_in * 1000,
    clientId, clientSecret, serverEndpoint: t!.server_endpoint,
  });
  const client = new B24Client({ tokens, limiter: { plan: 'standard', timeScale: TS }, retryBaseMs: 20 });
  return { emu, client };
}

/** A won deal as the emulator holds it: day (close date), amount in the base currency, margin by the documented rule. */
export interface WonDeal {
  id: number;
  day: string;
  amount: number;
  margin: number;
}

/**
 * The won deals of every contact, straight from the emulator's records (not the store): the amount
 * in the base currency (the portal's rate, rounded to the cent), the margin = amount − Σ quantity ×
 * the catalog's purchase price (in the base currency) when every product row has one, else
 * amount × marginPercent / 100.
 */
export function wonDealsByContact(p: Portal, marginPercent: number): Map<number, WonDeal[]> {
  const rate = new Map(p.currencies.map((c) => [c.currency, c.amount / c.amountCnt]));
  const won = new Set(p.statuses.filter((s) => s.entityId.startsWith('DEAL_STAGE') && s.semantics === 'S').map((s) => s.statusId));
  const out = new Map<number, WonDeal[]>();
  for (const d of p.deals.values()) {
    if (!won.has(d.stageId)) continue;
    const amount = Math.round(d.opportunity * (rate.get(d.currencyId) ?? 1) * 100) / 100;
    const rows = p.productRows.get(d.id) ?? [];
    let cost = 0;
    let known = rows.length > 0;
    for (const r of rows) {
      const prod = p.products.get(r.productId);
      const price = prod ? purchasingPriceOf(prod) : null;
      if (price === null || !prod) { known = false; break; }
      cost += r.quantity * price * (rate.get(prod.currencyId) ?? 1);
    }
    const w: WonDeal = { id: d.id, day: d.closeDate.slice(0, 10), amount, margin: known ? amount - cost : (amount * marginPercent) / 100 };
    for (const c of new Set(d.contactIds)) {
      const list = out.get(c) ?? [];
      list.push(w);
      out.set(c, list);
    }
  }
  return out;
}
