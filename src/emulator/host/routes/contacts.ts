/**
 * `GET /crm/contact/list/` (paged) and `GET /crm/contact/details/:id/`: the contact card with its
 * fields incl. UF_CRM_*, its deals, and one tab per CRM_CONTACT_DETAIL_TAB placement.
 */
import type { Request, Response, Router } from 'express';
import { actingUser, bare, noUser, uqOf, type HostContext } from '../context.js';
import { esc, link, page, userName } from '../html.js';
import { CONTACT_TABS, placementsFor, placementTitle } from '../placements.js';
import {
  contactName, dealsOfContact, dealTable, fieldTable, fmtDate, fmtDateTime, fmtUf, label, pager, ufFields,
} from '../render.js';

const PAGE_SIZE = 50;

export function mountContacts(r: Router, h: HostContext): void {
  r.get('/crm/contact/list/', (req, res) => contactList(h, req, res));
  r.get('/crm/contact/details/:id/', (req, res) => contactCard(h, req, res));
}

function contactList(h: HostContext, req: Request, res: Response): void {
  const { portal } = h;
  const user = actingUser(portal, req);
  if (!user) return noUser(res);
  const uq = uqOf(user);
  const pageNo = Math.max(1, Number(req.query.page) || 1);
  const total = portal.contacts.size;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const rows: string[] = [];
  const from = (pageNo - 1) * PAGE_SIZE;
  let i = 0;
  for (const c of portal.contacts.values()) {
    if (i >= from + PAGE_SIZE) break;
    if (i++ < from) continue;
    const phone = c.fm.find((m) => m.typeId === 'PHONE')?.value ?? '';
    const email = c.fm.find((m) => m.typeId === 'EMAIL')?.value ?? '';
    rows.push(`<tr><td>${c.id}</td><td><a href="${esc(link(`/crm/contact/details/${c.id}/`, uq))}">${esc(contactName(c))}</a></td>
        <td>${esc(phone)}</td><td>${esc(email)}</td><td>${esc(c.addressCity ?? '')}</td>
        <td>${esc(userName(portal.users.get(c.assignedById)))}</td><td>${esc(fmtDate(c.dateCreate, portal))}</td></tr>`);
  }
  const nav = pager(pageNo, pages, (p) => link('/crm/contact/list/', uq, `page=${p}`));
  res.type('html').send(page({ portal, user, uq, title: 'Contacts', active: 'contacts' }, `
      <p class="muted">${total.toLocaleString('en-US')} contacts</p>
      <table class="grid" id="contacts"><thead><tr><th>ID</th><th>Name</th><th>Phone</th><th>E-mail</th><th>City</th><th>Responsible</th><th>Created</th></tr></thead>
      <tbody>${rows.join('')}</tbody></table>${nav}`));
}

function contactCard(h: HostContext, req: Request, res: Response): void {
  const { portal } = h;
  const user = actingUser(portal, req);
  if (!user) return noUser(res);
  const uq = uqOf(user);
  const c = portal.contacts.get(Number(req.params.id));
  const chrome = { portal, user, uq, title: 'Contact', active: 'contacts' as const, bare: bare(req) };
  if (!c) {
    res.status(404);
    res.type('html').send(page(chrome, '<p class="stub">Contact not found.</p>'));
    return;
  }
  const status = (entity: string, id: string | null): string =>
    id ? portal.statuses.find((s) => s.entityId === entity && s.statusId === id)?.name ?? id : '';
  const company = c.companyId !== null ? portal.companies.get(c.companyId) : undefined;
  const fields: Array<[string, string, string?]> = [
    ['ID', String(c.id)],
    ['Name', [c.name, c.secondName, c.lastName].filter(Boolean).join(' ')],
    ['Type', status('CONTACT_TYPE', c.typeId)],
    ['Source', status('SOURCE', c.sourceId)],
    ['Phone', c.fm.filter((m) => m.typeId === 'PHONE').map((m) => `${m.value} (${m.valueType.toLowerCase()})`).join(', ')],
    ['E-mail', c.fm.filter((m) => m.typeId === 'EMAIL').map((m) => m.value).join(', ')],
    ['City', c.addressCity ?? ''],
    ['Position', c.post ?? ''],
    ['Company', company ? company.title : ''],
    ['Birthdate', c.birthdate ?? ''],
    ['Responsible', userName(portal.users.get(c.assignedById))],
    ['Created', fmtDateTime(c.dateCreate, portal)],
    ['Modified', fmtDateTime(c.dateModify, portal)],
  ];
  const ufRows = ufFields(portal, 'CRM_CONTACT').map((f) => [label(f, portal.language), fmtUf(f, c.uf[f.fieldName]), f.fieldName] as [string, string, string]);
  const deals = dealsOfContact(portal, c.id);
  const tabs = placementsFor(portal, CONTACT_TABS, user);
  const tabHeads = tabs.map((p) => `<button class="tab" role="tab" data-tab="pl-${p.id}" data-placement-id="${p.id}">${esc(placementTitle(portal, p))}</button>`).join('');
  const tabPanels = tabs.map((p) => `<section class="tab-panel placement-panel" role="tabpanel" id="pl-${p.id}" hidden
      data-client-id="${esc(p.clientId)}" data-placement="${CONTACT_TABS}" data-binding-id="${p.id}" data-options="${esc(JSON.stringify({ ID: String(c.id) }))}"></section>`).join('');
  res.type('html').send(page({ ...chrome, title: contactName(c) }, `
      <div class="tabs" role="tablist" id="card-tabs"><button class="tab active" role="tab" data-tab="general">General</button>
      <button class="tab" role="tab" data-tab="deals">Deals <span class="badge">${deals.length}</span></button>${tabHeads}</div>
      <section class="tab-panel" role="tabpanel" id="general">
        <div class="card"><h2>About the contact</h2>${fieldTable(fields, 'contact-fields')}</div>
        <div class="card"><h2>User fields</h2>${ufRows.length ? fieldTable(ufRows, 'contact-uf') : '<p class="muted" id="contact-uf">No user fields.</p>'}</div>
      </section>
      <section class="tab-panel" role="tabpanel" id="deals" hidden>${dealTable(portal, deals, uq)}</section>
      ${tabPanels}`));
}
