/**
 * `GET /crm/company/list/` (paged) and `GET /crm/company/details/:id/`: the company card with its
 * fields incl. UF_CRM_*, its contacts, its deals, and one tab per CRM_COMPANY_DETAIL_TAB placement
 * (PLACEMENT_OPTIONS {"ID": "<company id>"}, as for the contact card:
 * https://apidocs.bitrix24.com/api-reference/widgets/crm/detail-tab.html).
 */
import type { Request, Response, Router } from 'express';
import type { CompanyRec, DealRec } from '../../model.js';
import { actingUser, bare, noUser, uqOf, type HostContext } from '../context.js';
import { esc, link, page, userName } from '../html.js';
import { COMPANY_TABS, placementsFor, placementTitle } from '../placements.js';
import { contactName, dealTable, fieldTable, fmtDate, fmtDateTime, fmtUf, label, pager, ufFields } from '../render.js';

const PAGE_SIZE = 50;

export function mountCompanies(r: Router, h: HostContext): void {
  r.get('/crm/company/list/', (req, res) => companyList(h, req, res));
  r.get('/crm/company/details/:id/', (req, res) => companyCard(h, req, res));
}

function companyList(h: HostContext, req: Request, res: Response): void {
  const { portal } = h;
  const user = actingUser(portal, req);
  if (!user) return noUser(res);
  const uq = uqOf(user);
  const pageNo = Math.max(1, Number(req.query.page) || 1);
  const total = portal.companies.size;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const from = (pageNo - 1) * PAGE_SIZE;
  const rows: string[] = [];
  let i = 0;
  for (const c of portal.companies.values()) {
    if (i >= from + PAGE_SIZE) break;
    if (i++ < from) continue;
    rows.push(`<tr><td>${c.id}</td><td><a href="${esc(link(`/crm/company/details/${c.id}/`, uq))}">${esc(c.title)}</a></td>
        <td>${esc(statusName(h, 'INDUSTRY', c.industry))}</td><td>${esc(c.addressCity ?? '')}</td>
        <td>${esc(userName(portal.users.get(c.assignedById)))}</td><td>${esc(fmtDate(c.dateCreate, portal))}</td></tr>`);
  }
  const nav = pager(pageNo, pages, (p) => link('/crm/company/list/', uq, `page=${p}`));
  res.type('html').send(page({ portal, user, uq, title: 'Companies', active: 'companies' }, `
      <p class="muted">${total.toLocaleString('en-US')} companies</p>
      <table class="grid" id="companies"><thead><tr><th>ID</th><th>Company</th><th>Industry</th><th>City</th><th>Responsible</th><th>Created</th></tr></thead>
      <tbody>${rows.join('')}</tbody></table>${nav}`));
}

function statusName(h: HostContext, entity: string, id: string | null | undefined): string {
  return id ? h.portal.statuses.find((s) => s.entityId === entity && s.statusId === id)?.name ?? id : '';
}

function companyFields(h: HostContext, c: CompanyRec): Array<[string, string, string?]> {
  const { portal } = h;
  const employees = c.extra?.EMPLOYEES;
  return [
    ['ID', String(c.id)],
    ['Company name', c.title],
    ['Type', statusName(h, 'COMPANY_TYPE', c.companyType)],
    ['Industry', statusName(h, 'INDUSTRY', c.industry)],
    ['Employees', statusName(h, 'EMPLOYEES', typeof employees === 'string' ? employees : null)],
    ['Annual revenue', c.revenue !== null ? `${c.revenue} ${c.currencyId ?? ''}`.trim() : ''],
    ['Phone', c.fm.filter((m) => m.typeId === 'PHONE').map((m) => m.value).join(', ')],
    ['E-mail', c.fm.filter((m) => m.typeId === 'EMAIL').map((m) => m.value).join(', ')],
    ['City', c.addressCity ?? ''],
    ['Responsible', userName(portal.users.get(c.assignedById))],
    ['Created', fmtDateTime(c.dateCreate, portal)],
    ['Modified', fmtDateTime(c.dateModify, portal)],
  ];
}

function companyCard(h: HostContext, req: Request, res: Response): void {
  const { portal } = h;
  const user = actingUser(portal, req);
  if (!user) return noUser(res);
  const uq = uqOf(user);
  const c = portal.companies.get(Number(req.params.id));
  const chrome = { portal, user, uq, title: 'Company', active: 'companies' as const, bare: bare(req) };
  if (!c) {
    res.status(404);
    res.type('html').send(page(chrome, '<p class="stub">Company not found.</p>'));
    return;
  }
  const ufRows = ufFields(portal, 'CRM_COMPANY').map((f) => [label(f, portal.language), fmtUf(f, c.uf[f.fieldName]), f.fieldName] as [string, string, string]);
  const contacts = [...portal.contacts.values()].filter((x) => x.companyIds.includes(c.id));
  const deals: DealRec[] = [...portal.deals.values()].filter((d) => d.companyId === c.id);
  const contactRows = contacts.slice(0, 200).map((x) => `<tr><td>${x.id}</td><td><a href="${esc(link(`/crm/contact/details/${x.id}/`, uq))}">${esc(contactName(x))}</a></td><td>${esc(x.post ?? '')}</td></tr>`).join('');
  const tabs = placementsFor(portal, COMPANY_TABS, user);
  const tabHeads = tabs.map((p) => `<button class="tab" role="tab" data-tab="pl-${p.id}" data-placement-id="${p.id}">${esc(placementTitle(portal, p))}</button>`).join('');
  const tabPanels = tabs.map((p) => `<section class="tab-panel placement-panel" role="tabpanel" id="pl-${p.id}" hidden
      data-client-id="${esc(p.clientId)}" data-placement="${COMPANY_TABS}" data-binding-id="${p.id}" data-options="${esc(JSON.stringify({ ID: String(c.id) }))}"></section>`).join('');
  res.type('html').send(page({ ...chrome, title: c.title }, `
      <div class="tabs" role="tablist" id="card-tabs"><button class="tab active" role="tab" data-tab="general">General</button>
      <button class="tab" role="tab" data-tab="contacts">Contacts <span class="badge">${contacts.length}</span></button>
      <button class="tab" role="tab" data-tab="deals">Deals <span class="badge">${deals.length}</span></button>${tabHeads}</div>
      <section class="tab-panel" role="tabpanel" id="general">
        <div class="card"><h2>About the company</h2>${fieldTable(companyFields(h, c), 'company-fields')}</div>
        <div class="card"><h2>User fields</h2>${ufRows.length ? fieldTable(ufRows, 'company-uf') : '<p class="muted" id="company-uf">No user fields.</p>'}</div>
      </section>
      <section class="tab-panel" role="tabpanel" id="contacts" hidden>${contacts.length
        ? `<table class="grid" id="company-contacts"><thead><tr><th>ID</th><th>Name</th><th>Position</th></tr></thead><tbody>${contactRows}</tbody></table>`
        : '<p class="muted">No contacts.</p>'}</section>
      <section class="tab-panel" role="tabpanel" id="deals" hidden>${dealTable(portal, deals, uq)}</section>
      ${tabPanels}`));
}
