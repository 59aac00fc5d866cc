/**
 * Test/bench helper: copies an in-process emulator portal straight into the store, as a
 * complete sync would leave it (contacts with their UF_CRM_SEG_* values in the legacy form,
 * deals with stage semantics and base-currency amounts, deal↔contact links, product rows with
 * sections, sections, companies with their own columns, currencies with their rates, contacts' and companies'
 * e-mails and phones normalised as the sync keeps them). No REST calls: it stands in for `runSync` where a test needs the store
 * filled without measuring the pull. `contactIds` limits the contacts/deals refreshed
 * (an "incremental sync" of those records).
 */
import type { Portal } from '../../src/emulator/portal.js';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import type { Db } from '../../src/store/db.js';
import { channelValues } from '../../src/bitrix/rest-values.js';
import type { Multifield } from '../../src/emulator/model.js';
import {
  replaceDealContacts, replaceProductRows, upsertCompanies, upsertContacts, upsertCurrencies, upsertDeals, upsertSections,
  type CompanyInput, type ContactInput, type DealContactInput, type DealInput, type ProductRowInput,
} from '../../src/store/crm.js';

const CHUNK = 5000;

function ufLegacy(p: Portal, uf: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of p.userFields.values()) {
    if (f.entityId !== 'CRM_CONTACT' || !f.fieldName.startsWith('UF_CRM_SEG_')) continue;
    const v = uf[f.fieldName];
    if (v === undefined) { out[f.fieldName] = f.multiple ? [] : f.userTypeId === 'boolean' ? '0' : null; continue; }
    if (f.userTypeId === 'boolean') out[f.fieldName] = v === true ? '1' : '0';
    else if (f.userTypeId === 'datetime') out[f.fieldName] = v === null ? null : new Date(Number(v)).toISOString();
    else if (Array.isArray(v)) out[f.fieldName] = v.map(String);
    else out[f.fieldName] = v === null ? null : String(v);
  }
  return out;
}

/** A record's e-mails and phones as the sync stores them (the REST multi-field shape, read by the same rule). */
const channels = (fm: readonly Multifield[]) => ({
  emails: channelValues(fm.filter((m) => m.typeId === 'EMAIL').map((m) => ({ VALUE: m.value })), 'EMAIL'),
  phones: channelValues(fm.filter((m) => m.typeId === 'PHONE').map((m) => ({ VALUE: m.value })), 'PHONE'),
});

/** `currencies`: store the portal's currency list too (a sync does; off by default, as the tests written before it expect). */
export async function mirrorEmulatorPortal(p: Portal, db: Db, portalId: number, o: { contactIds?: readonly number[]; currencies?: boolean } = {}): Promise<void> {
  const rate = new Map(p.currencies.map((c) => [c.currency, c.amount / (c.amountCnt || 1)]));
  const only = o.contactIds ? new Set(o.contactIds) : null;
  const contacts: ContactInput[] = [];
  for (const c of p.contacts.values()) {
    if (only && !only.has(c.id)) continue;
    contacts.push({ id: c.id, name: c.name, lastName: c.lastName, dateCreate: c.dateCreate, dateModify: c.dateModify, uf: ufLegacy(p, c.uf), ...channels(c.fm) });
  }
  for (let i = 0; i < contacts.length; i += CHUNK) await upsertContacts(db, portalId, contacts.slice(i, i + CHUNK));

  if (!only) {
    const companies: CompanyInput[] = [...p.companies.values()].map((c) => ({
      id: c.id, title: c.title, industry: c.industry, revenue: c.revenue, currencyId: c.currencyId, assignedById: c.assignedById,
      city: c.addressCity, dateCreate: c.dateCreate, dateModify: c.dateModify, uf: {}, ...channels(c.fm),
    }));
    for (let i = 0; i < companies.length; i += CHUNK) await upsertCompanies(db, portalId, companies.slice(i, i + CHUNK));
  }
  if (!only && o.currencies) await upsertCurrencies(db, portalId, p.currencies.map((c) => ({ code: c.currency, amount: c.amount, amountCnt: c.amountCnt, base: c.base, sort: c.sort })));
  if (!only) await upsertSections(db, portalId, [...p.sections.values()].map((s) => ({ id: s.id, parentId: s.sectionId, catalogId: s.catalogId, name: s.name })));
  const productSection = new Map([...p.products.values()].map((x) => [x.id, x.sectionId]));

  const deals: DealInput[] = [];
  const links: DealContactInput[] = [];
  const rows: ProductRowInput[] = [];
  for (const d of p.deals.values()) {
    if (only && !d.contactIds.some((c) => only.has(c))) continue;
    const sem = stageSemantic(p, d.stageId);
    deals.push({
      id: d.id, title: d.title, categoryId: d.categoryId, stageId: d.stageId, stageSemantic: sem, currencyId: d.currencyId,
      opportunity: d.opportunity, opportunityBase: rate.has(d.currencyId) ? d.opportunity * rate.get(d.currencyId)! : null, closeDate: d.closeDate,
      beginDate: d.beginDate, dateCreate: d.dateCreate, dateModify: d.dateModify, companyId: d.companyId,
      lossReason: sem === 'F' ? ((d.uf['UF_CRM_LOSS_REASON'] as string | undefined) ?? null) : null,
    });
    d.contactIds.forEach((c, k) => links.push({ dealId: d.id, contactId: c, sort: k * 10, isPrimary: k === 0 }));
    for (const r of p.productRows.get(d.id) ?? []) {
      rows.push({ id: r.id, dealId: d.id, productId: r.productId, productName: r.productName, price: r.price, quantity: r.quantity, sectionId: productSection.get(r.productId) ?? null });
    }
  }
  for (let i = 0; i < deals.length; i += CHUNK) {
    const part = deals.slice(i, i + CHUNK);
    const ids = new Set(part.map((d) => d.id));
    await upsertDeals(db, portalId, part);
    await replaceDealContacts(db, portalId, [...ids], links.filter((l) => ids.has(l.dealId)));
    await replaceProductRows(db, portalId, [...ids], rows.filter((r) => ids.has(r.dealId)));
  }
}
