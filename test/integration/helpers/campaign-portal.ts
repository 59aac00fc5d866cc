/**
 * An emulated portal for the campaign tests: generated CRM data, a workflow template, the app
 * installed (crm, user, bizproc, catalog scopes) and a B24Client with its token; plus the
 * independent arithmetic the tests check the store's figures against (from the emulator's deals).
 */
import { B24Client } from '../../../src/b24/client.js';
import { purchasingPriceOf } from '../../../src/emulator/methods/catalog.js';
import { Portal } from '../../../src/emulator/portal.js';
import type { RunningEmulator } from '../../../src/emulator/server.js';
import { startTestPortal } from '../b24-helpers.js';

export const TEMPLATE_ID = 41;

export async function startCampaignPortal(o: { contacts: number; deals?: number; seed: number; profile?: 'b2b'; timeScale?: number }): Promise<{ emu: RunningEmulator; client: B24Client }> {
  const TS = o.timeScale ?? 100;
  const tp = await startTestPortal({
    contacts: o.contacts, seed: o.seed, timeScale: TS, scopes: ['crm', 'user', 'bizproc', 'catalog'],
    ...(o.deals ? { deals: o.deals } : {}), ...(o.profile ? { profile: o.profile, gen: { years: 3 } } : {}),
  });
  tp.emu.portal.bizprocTemplates.push({ id: TEMPLATE_ID, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Campaign e-mail', autoExecute: 0 });
  const client = new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: TS }, retryBaseMs: 20 });
  return { emu: tp.emu, client };
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
