/**
 * `GET /crm/deal/list/` (paged; `apply_filter=Y` with STAGE_SEMANTIC_ID, OPPORTUNITY and CURRENCY_ID
 * (one or `CURRENCY_ID[]` several) narrows it, as a portal's list page takes a filter from its URL) and `GET /crm/deal/details/:id/`: the deal card with its fields,
 * contacts, user fields, product rows and one tab per CRM_DEAL_DETAIL_TAB placement.
 */
import type { Request, Response, Router } from 'express';
import type { ContactRec, DealRec } from '../../model.js';
import type { Portal } from '../../portal.js';
import { stageSemantic } from '../../methods/schema.js';
import { actingUser, bare, noUser, uqOf, type HostContext } from '../context.js';
import { esc, link, page, userName } from '../html.js';
import { DEAL_TABS, placementsFor, placementTitle } from '../placements.js';
import { contactName, fieldTable, fmtDateTime, fmtUf, label, money, pager, stageName, ufFields } from '../render.js';

const PAGE_SIZE = 50;

export function mountDeals(r: Router, h: HostContext): void {
  r.get('/crm/deal/list/', (req, res) => dealList(h, req, res));
  r.get('/crm/deal/details/:id/', (req, res) => dealCard(h, req, res));
}

/** The URL's list filter (apply_filter=Y): the fields the app's data-quality links use; null = no filter. */
function urlFilter(portal: Portal, q: Request['query']): ((d: DealRec) => boolean) | null {
  if (q.apply_filter !== 'Y') return null;
  const one = (v: unknown) => (typeof v === 'string' ? v : null);
  const sem = one(q.STAGE_SEMANTIC_ID);
  const opp = one(q.OPPORTUNITY);
  const cur = q.CURRENCY_ID ?? q['CURRENCY_ID[]'];
  const curs = Array.isArray(cur) ? cur.map(String) : typeof cur === 'string' ? [cur] : null;
  return (d) => (sem === null || stageSemantic(portal, d.stageId) === sem)
    && (opp === null || d.opportunity === Number(opp))
    && (curs === null || curs.includes(d.currencyId));
}

function dealList(h: HostContext, req: Request, res: Response): void {
  const { portal } = h;
  const user = actingUser(portal, req);
  if (!user) return noUser(res);
  const uq = uqOf(user);
  const pageNo = Math.max(1, Number(req.query.page) || 1);
  const keep = urlFilter(portal, req.query);
  const deals = keep ? [...portal.deals.values()].filter(keep) : [...portal.deals.values()];
  const total = deals.length;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const from = (pageNo - 1) * PAGE_SIZE;
  const rows: string[] = [];
  let i = 0;
  for (const d of deals) {
    if (i >= from + PAGE_SIZE) break;
    if (i++ < from) continue;
    rows.push(`<tr><td>${d.id}</td><td><a href="${esc(link(`/crm/deal/details/${d.id}/`, uq))}">${esc(d.title)}</a></td>
        <td>${esc(stageName(portal, d))}</td><td class="num">${esc(money(d.opportunity, d.currencyId))}</td>
        <td>${esc(d.closeDate)}</td><td>${esc(userName(portal.users.get(d.assignedById)))}</td></tr>`);
  }
  const nav = pager(pageNo, pages, (p) => link('/crm/deal/list/', uq, `page=${p}`));
  res.type('html').send(page({ portal, user, uq, title: 'Deals', active: 'deals' }, `
      <p class="muted" id="deal-total">${total.toLocaleString('en-US')} deals</p>
      <table class="grid" id="deals"><thead><tr><th>ID</th><th>Deal</th><th>Stage</th><th>Amount</th><th>Close date</th><th>Responsible</th></tr></thead>
      <tbody>${rows.join('')}</tbody></table>${nav}`));
}

function dealCard(h: HostContext, req: Request, res: Response): void {
  const { portal } = h;
  const user = actingUser(portal, req);
  if (!user) return noUser(res);
  const uq = uqOf(user);
  const d = portal.deals.get(Number(req.params.id));
  const chrome = { portal, user, uq, title: 'Deal', active: 'deals' as const, bare: bare(req) };
  if (!d) {
    res.status(404);
    res.type('html').send(page(chrome, '<p class="stub">Deal not found.</p>'));
    return;
  }
  const cat = portal.categories.find((x) => x.id === d.categoryId);
  const contacts = d.contactIds.map((id) => portal.contacts.get(id)).filter((x): x is ContactRec => !!x)
    .map((c, i) => `<a href="${esc(link(`/crm/contact/details/${c.id}/`, uq))}">${esc(contactName(c))}</a>${i === 0 ? ' <em>primary</em>' : ''}`).join(', ');
  const fields: Array<[string, string, string?]> = [
    ['ID', String(d.id)], ['Title', d.title], ['Funnel', cat?.name ?? String(d.categoryId)], ['Stage', stageName(portal, d)],
    ['Amount', money(d.opportunity, d.currencyId)], ['Begin date', d.beginDate], ['Close date', d.closeDate],
    ['Company', d.companyId !== null ? portal.companies.get(d.companyId)?.title ?? '' : ''],
    ['Responsible', userName(portal.users.get(d.assignedById))], ['Created', fmtDateTime(d.dateCreate, portal)],
  ];
  const ufRows = ufFields(portal, 'CRM_DEAL').map((f) => [label(f, portal.language), fmtUf(f, d.uf[f.fieldName]), f.fieldName] as [string, string, string]);
  const rows = portal.productRows.get(d.id) ?? [];
  const rowsHtml = rows.length ? `<table class="grid" id="product-rows"><thead><tr><th>Product</th><th>Price</th><th>Qty</th><th>Discount</th><th>Sum</th></tr></thead><tbody>
      ${rows.map((pr) => `<tr><td>${esc(pr.productName)}</td><td class="num">${esc(money(pr.price, d.currencyId))}</td><td class="num">${pr.quantity}</td>
      <td class="num">${pr.discountRate ? `${pr.discountRate}%` : ''}</td><td class="num">${esc(money(pr.price * pr.quantity, d.currencyId))}</td></tr>`).join('')}</tbody></table>`
    : '<p class="muted">No products.</p>';
  const tabs = placementsFor(portal, DEAL_TABS, user);
  const tabHeads = tabs.map((p) => `<button class="tab" role="tab" data-tab="pl-${p.id}">${esc(placementTitle(portal, p))}</button>`).join('');
  const tabPanels = tabs.map((p) => `<section class="tab-panel placement-panel" role="tabpanel" id="pl-${p.id}" hidden
      data-client-id="${esc(p.clientId)}" data-placement="${DEAL_TABS}" data-binding-id="${p.id}" data-options="${esc(JSON.stringify({ ID: String(d.id) }))}"></section>`).join('');
  res.type('html').send(page({ ...chrome, title: d.title }, `
      <div class="tabs" role="tablist"><button class="tab active" role="tab" data-tab="general">General</button>${tabHeads}</div>
      <section class="tab-panel" role="tabpanel" id="general">
      <div class="card"><h2>Deal</h2>${fieldTable(fields, 'deal-fields')}<p>Contacts: ${contacts || '—'}</p></div>
      <div class="card"><h2>User fields</h2>${ufRows.length ? fieldTable(ufRows, 'deal-uf') : '<p class="muted">No user fields.</p>'}</div>
      <div class="card"><h2>Products</h2>${rowsHtml}</div></section>${tabPanels}`));
}
