// Parity of the emulator's shapes and strictness with the official docs (issue 12, items 4–5).
// One test per rule; docs/emulator-parity.md lists the rules, the docs page each one follows
// and the name of its test here.
import { describe, expect, it } from 'vitest';
import { addCompany, callMethod } from '../../src/emulator/methods/index.js';
import { RestError, type MethodResult } from '../../src/emulator/types.js';
import { ctxOf, mkPortal, seedContacts, seedDeals } from './emulator-methods-helpers.js';

type Row = Record<string, unknown>;

function err(fn: () => unknown): RestError {
  try { fn(); } catch (e) { if (e instanceof RestError) return e; throw e; }
  throw new Error('expected a RestError');
}
const res = (r: MethodResult) => r.result as Row;
const rows = (r: MethodResult) => r.result as Row[];

describe('emulator parity with the docs', () => {
  it('rule 1: legacy methods render an empty date as "" (crm.item keeps null)', () => {
    const p = mkPortal();
    seedContacts(p, 1);
    const c = ctxOf(p);
    expect(res(callMethod(c, 'crm.contact.get', { id: 1 }))['BIRTHDATE']).toBe('');
    expect(rows(callMethod(c, 'crm.contact.list', { select: ['ID', 'BIRTHDATE'] }))[0]).toEqual({ ID: '1', BIRTHDATE: '' });
    const item = (callMethod(c, 'crm.item.get', { entityTypeId: 3, id: 1 }).result as { item: Row }).item;
    expect(item['birthdate']).toBeNull();
    // a set date keeps the docs' local-midnight datetime form
    callMethod(c, 'crm.contact.update', { id: 1, fields: { BIRTHDATE: '2001-11-11' } });
    expect(res(callMethod(c, 'crm.contact.get', { id: 1 }))['BIRTHDATE']).toBe('2001-11-11T00:00:00+03:00');
  });

  it('rule 2a: contacts carry the ADDRESS_* and UTM_* fields of crm-contact-fields.md (null when empty, writable)', () => {
    const p = mkPortal();
    seedContacts(p, 1);
    const c = ctxOf(p);
    const addr = ['ADDRESS', 'ADDRESS_2', 'ADDRESS_CITY', 'ADDRESS_POSTAL_CODE', 'ADDRESS_REGION', 'ADDRESS_PROVINCE', 'ADDRESS_COUNTRY', 'ADDRESS_COUNTRY_CODE', 'ADDRESS_LOC_ADDR_ID'];
    const utm = ['UTM_SOURCE', 'UTM_MEDIUM', 'UTM_CAMPAIGN', 'UTM_CONTENT', 'UTM_TERM'];
    const got = res(callMethod(c, 'crm.contact.get', { id: 1 }));
    for (const k of [...addr, ...utm, 'ORIGIN_VERSION', 'FACE_ID']) expect(got[k], k).toBeNull();
    const fields = callMethod(c, 'crm.contact.fields', {}).result as Record<string, { type: string; isReadOnly: boolean }>;
    for (const k of [...addr, ...utm]) expect(fields[k]?.isReadOnly, k).toBe(false);
    expect(fields['ADDRESS_LOC_ADDR_ID']?.type).toBe('integer');
    callMethod(c, 'crm.contact.update', { id: 1, fields: { ADDRESS_POSTAL_CODE: '10115', UTM_SOURCE: 'google', ADDRESS_LOC_ADDR_ID: 7 } });
    const after = res(callMethod(c, 'crm.contact.get', { id: 1 }));
    expect([after['ADDRESS_POSTAL_CODE'], after['UTM_SOURCE'], after['ADDRESS_LOC_ADDR_ID']]).toEqual(['10115', 'google', '7']);
    // crm.item: utm* (common fields of object-fields.md), no address (disabled there)
    const item = (callMethod(c, 'crm.item.get', { entityTypeId: 3, id: 1 }).result as { item: Row }).item;
    expect([item['utmSource'], item['utmTerm'], 'address' in item, 'addressPostalCode' in item]).toEqual(['google', null, false, false]);
    // companies: the same families (crm-company-fields.md), REVENUE as a plain double
    addCompany(p, { title: 'Acme', revenue: 0 }, 1);
    const co = rows(callMethod(c, 'crm.company.list', { select: ['ID', 'ADDRESS_COUNTRY', 'UTM_MEDIUM', 'REVENUE', 'HAS_IMOL', 'IS_MY_COMPANY'] }));
    expect(co).toEqual([{ ID: '1', ADDRESS_COUNTRY: null, UTM_MEDIUM: null, REVENUE: '0', HAS_IMOL: 'N', IS_MY_COMPANY: 'N' }]);
  });

  it('rule 2b: deals carry UTM_*, MOVED_BY_ID and MOVED_TIME (crm-deal-fields.md), restamped by a stage change', () => {
    const p = mkPortal();
    seedDeals(p, 1);
    const c = ctxOf(p);
    const d = res(callMethod(c, 'crm.deal.get', { id: 1 }));
    expect([d['MOVED_BY_ID'], d['MOVED_TIME'], d['UTM_SOURCE'], d['UTM_TERM']]).toEqual(['1', d['DATE_MODIFY'], null, null]);
    const later = { ...c, auth: { ...c.auth, userId: 2 }, now: c.now + 3_600_000 };
    callMethod(later, 'crm.deal.update', { id: 1, fields: { TITLE: 'renamed' } });
    expect(res(callMethod(c, 'crm.deal.get', { id: 1 }))['MOVED_TIME']).toBe(d['MOVED_TIME']); // not a stage change
    callMethod(later, 'crm.deal.update', { id: 1, fields: { STAGE_ID: 'PREPARATION' } });
    const moved = res(callMethod(c, 'crm.deal.get', { id: 1 }));
    expect([moved['MOVED_BY_ID'], moved['MOVED_TIME']]).toEqual(['2', moved['DATE_MODIFY']]);
    expect(moved['MOVED_TIME']).not.toBe(d['MOVED_TIME']);
    const item = (callMethod(c, 'crm.item.get', { entityTypeId: 2, id: 1 }).result as { item: Row }).item;
    expect([item['movedBy'], typeof item['movedTime'], item['utmCampaign']]).toEqual([2, 'string', null]);
    const f = callMethod(c, 'crm.deal.fields', {}).result as Record<string, { type: string; isReadOnly: boolean }>;
    expect([f['MOVED_BY_ID'], f['MOVED_TIME']].map((x) => [x?.type, x?.isReadOnly])).toEqual([['user', true], ['datetime', true]]);
  });

  it('rule 2c: user.current carries LAST_LOGIN, DATE_REGISTER, LAST_ACTIVITY_DATE, PERSONAL_BIRTHDAY (user-current.md)', () => {
    const p = mkPortal('UTC');
    const u = p.users.get(1)!;
    const c = ctxOf(p);
    expect(res(callMethod(c, 'user.current', {}))).toMatchObject({ LAST_LOGIN: '', DATE_REGISTER: '', LAST_ACTIVITY_DATE: '', PERSONAL_BIRTHDAY: '', UF_EMPLOYMENT_DATE: '' });
    u.dateRegister = Date.UTC(2024, 6, 22, 9, 30);
    u.lastLogin = Date.UTC(2024, 6, 23, 8, 7, 26);
    u.lastActivityDate = Date.UTC(2024, 6, 23, 8, 8, 50);
    expect(res(callMethod(c, 'user.current', {}))).toMatchObject({
      LAST_LOGIN: '2024-07-23T08:07:26+00:00', DATE_REGISTER: '2024-07-22T00:00:00+00:00', LAST_ACTIVITY_DATE: '2024-07-23 08:08:50', PERSONAL_BIRTHDAY: '',
    });
    u.personalBirthday = '2018-07-14';
    expect(res(callMethod(c, 'user.current', {}))['PERSONAL_BIRTHDAY']).toBe('2018-07-14T00:00:00+00:00');
  });

  it('rule 3: invalid input the docs reject is rejected (todo deadline, PAGE_BACKGROUND_WORKER, USER_ID, DEFAULT, EVENT_TYPE, workflow start)', () => {
    const p = mkPortal();
    seedContacts(p, 1);
    const c = ctxOf(p);
    const todo = err(() => callMethod(c, 'crm.activity.todo.add', { ownerTypeId: 3, ownerId: 1, deadline: 'tomorrow' }));
    expect([todo.code, todo.status]).toEqual(['WRONG_DATETIME_FORMAT', 400]);
    expect(p.todos).toEqual([]);
    const miss = err(() => callMethod(c, 'crm.activity.todo.add', { ownerTypeId: 3, ownerId: 999, deadline: '2025-02-03T15:00:00' }));
    expect([miss.code, miss.description]).toEqual(['NOT_FOUND', 'Not found.']);
    const bg = err(() => callMethod(c, 'placement.bind', { PLACEMENT: 'PAGE_BACKGROUND_WORKER', HANDLER: 'https://app.example/bg' }));
    expect([bg.code, bg.status]).toEqual(['EMPTY_ERROR_HANDLER_URL', 400]);
    expect(callMethod(c, 'placement.bind', {
      PLACEMENT: 'PAGE_BACKGROUND_WORKER', HANDLER: 'https://app.example/bg', USER_ID: 1, OPTIONS: { errorHandlerUrl: 'https://app.example/err', extra: 1 },
    }).result).toBe(true);
    expect((callMethod(c, 'placement.get', {}).result as Row[])[0]?.['options']).toEqual({ errorHandlerUrl: 'https://app.example/err' });
    const um = err(() => callMethod(c, 'placement.bind', { PLACEMENT: 'LEFT_MENU', HANDLER: 'https://app.example/m', USER_ID: 1 }));
    expect([um.code, um.description]).toEqual(['ERROR_PLACEMENT_USER_MODE', 'User mode is not available.']);
    const def = err(() => callMethod(c, 'placement.bind', { PLACEMENT: 'DEFAULT', HANDLER: 'https://app.example/' }));
    expect([def.code, def.extra['argument']]).toEqual(['ERROR_ARGUMENT', 'PLACEMENT']);
    const et = err(() => callMethod(c, 'event.bind', { event: 'ONCRMDEALADD', handler: 'https://a/', event_type: 'sometimes' }));
    expect([et.code, et.extra['argument']]).toEqual(['ERROR_ARGUMENT', 'EVENT_TYPE']);
    p.bizprocTemplates.push({ id: 5, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'T', autoExecute: 0 });
    const wf = (prm: Row) => { const e = err(() => callMethod(c, 'bizproc.workflow.start', prm)); return [e.code, e.description]; };
    expect(wf({})).toEqual(['ERROR_WRONG_WORKFLOW_ID', 'Empty TEMPLATE_ID']);
    expect(wf({ TEMPLATE_ID: 6 })).toEqual(['ERROR_WRONG_WORKFLOW_ID', 'Template not found']);
    expect(wf({ TEMPLATE_ID: 5, DOCUMENT_ID: ['crm', 'CCrmDocumentContact'] })).toEqual(['', 'Wrong DOCUMENT_ID!']);
    expect(wf({ TEMPLATE_ID: 5, DOCUMENT_ID: ['crm', 'CCrmDocumentContact', 'CONTACT'] })).toEqual(['', 'Incorrect document type!']);
    expect(wf({ TEMPLATE_ID: 5, DOCUMENT_ID: ['crm', 'CCrmDocumentDeal', 'DEAL_1'] })).toEqual(['', 'Template type and DOCUMENT_ID mismatch!']);
  });

  it('rule 4: error codes as documented (webhook on app-only methods per page, code 100 for missing parameters, empty comment)', () => {
    const p = mkPortal();
    seedContacts(p, 1);
    const hook = ctxOf(p, { kind: 'webhook', clientId: null, scopes: new Set(['crm', 'placement', 'user']) });
    const e = (m: string, prm: Row = {}) => { const x = err(() => callMethod(hook, m, prm)); return [x.status, x.code, x.description]; };
    const authType = 'Current authorization type is denied for this method';
    expect(e('app.info')).toEqual([400, 'ACCESS_DENIED', 'Access denied! Application context required']);
    expect(e('app.option.get')).toEqual([400, 'ACCESS_DENIED', 'Access denied! Application context required']);
    expect(e('placement.bind', { PLACEMENT: 'LEFT_MENU', HANDLER: 'https://a/' })).toEqual([403, 'WRONG_AUTH_TYPE', `${authType} Application context required`]);
    expect(e('placement.get')).toEqual([403, 'WRONG_AUTH_TYPE', `${authType} Application context required`]);
    expect(e('event.bind', { event: 'ONCRMDEALADD', handler: 'https://a/' })).toEqual([403, 'WRONG_AUTH_TYPE', authType]);
    expect(e('event.get')).toEqual([403, 'WRONG_AUTH_TYPE', authType]);
    const c = ctxOf(p);
    const code = (m: string, prm: Row) => { const x = err(() => callMethod(c, m, prm)); return [x.status, x.code, x.description]; };
    expect(code('crm.item.list', {})).toEqual([400, '100', 'Could not find value for parameter {entityTypeId}']);
    expect(code('crm.item.get', { entityTypeId: 3 })).toEqual([400, '100', 'Could not find value for parameter {id}']);
    expect(code('crm.category.list', {})).toEqual([400, '100', 'Could not find value for parameter {entityTypeId}']);
    expect(code('crm.activity.todo.add', { ownerTypeId: 3, ownerId: 1 })).toEqual([400, '100', 'Could not find value for parameter {deadline}']);
    expect(code('crm.timeline.comment.add', {})[1]).toBe('100');
    expect(code('crm.timeline.comment.add', { fields: { ENTITY_ID: 1, ENTITY_TYPE: 'contact', COMMENT: '' } })).toEqual([400, 'INVALID_ARG_VALUE', 'Empty comment']);
    expect(code('crm.timeline.comment.add', { fields: { ENTITY_ID: 9, ENTITY_TYPE: 'contact', COMMENT: 'x' } })).toEqual([400, 'NOT_FOUND', 'Not found.']);
    const nonAdmin = ctxOf(p, { userId: 2, isAdmin: false });
    const na = err(() => callMethod(nonAdmin, 'app.option.set', { options: { a: 1 } }));
    expect([na.status, na.code, na.description]).toEqual([400, 'ACCESS_DENIED', 'Access denied! Administrator authorization required']);
    const empty = err(() => callMethod(c, 'app.option.set', { options: {} }));
    expect([empty.code, empty.extra['argument']]).toEqual(['ERROR_ARGUMENT', 'options']);
  });

  it('rule 5: default-funnel stages carry CATEGORY_ID null in crm.status.list (other funnels their id)', () => {
    const p = mkPortal();
    const c = ctxOf(p);
    const st = rows(callMethod(c, 'crm.status.list', { filter: { ENTITY_ID: 'DEAL_STAGE' } }));
    expect(st.length).toBeGreaterThan(0);
    expect(st.every((s) => s['CATEGORY_ID'] === null)).toBe(true);
    expect(rows(callMethod(c, 'crm.status.list', { filter: { ENTITY_ID: 'DEAL_STAGE_1' } }))[0]?.['CATEGORY_ID']).toBe('1');
    expect(rows(callMethod(c, 'crm.status.list', { filter: { CATEGORY_ID: 1 } })).map((s) => s['ENTITY_ID'])).toEqual(['DEAL_STAGE_1', 'DEAL_STAGE_1', 'DEAL_STAGE_1']);
  });

  it('rule 6: placement.get gives options [] (not {}) when a placement has no options', () => {
    const p = mkPortal();
    const c = ctxOf(p);
    callMethod(c, 'placement.bind', { PLACEMENT: 'CRM_DEAL_LIST_TOOLBAR', HANDLER: 'https://myapp.example/?handler=1', TITLE: 'Add invoice' });
    callMethod(c, 'placement.bind', { PLACEMENT: 'LEFT_MENU', HANDLER: 'https://myapp.example/?handler=2', OPTIONS: { role: 'USER' } });
    expect(callMethod(c, 'placement.get', {}).result).toEqual([
      {
        placement: 'CRM_DEAL_LIST_TOOLBAR', userId: 0, handler: 'https://myapp.example/?handler=1', options: [], title: 'Add invoice', description: '',
        langAll: { en: { TITLE: 'Add invoice', DESCRIPTION: '', GROUP_NAME: '' } },
      },
      { placement: 'LEFT_MENU', userId: 0, handler: 'https://myapp.example/?handler=2', options: { role: 'USER' }, title: '', description: '', langAll: [] },
    ]);
  });

  it('rule 7: crm.item.list/get with a select return only the selected keys (plus id); * adds fm, observers, entityTypeId', () => {
    const p = mkPortal();
    seedDeals(p, 2);
    seedContacts(p, 3);
    const c = ctxOf(p);
    const items = (r: MethodResult) => (r.result as { items: Row[] }).items;
    expect(Object.keys(items(callMethod(c, 'crm.item.list', { entityTypeId: 2, select: ['id', 'title', 'stageId'] }))[0]!)).toEqual(['id', 'title', 'stageId']);
    expect(Object.keys(items(callMethod(c, 'crm.item.list', { entityTypeId: 2, select: ['title'] }))[0]!)).toEqual(['id', 'title']);
    expect(Object.keys(items(callMethod(c, 'crm.item.list', { entityTypeId: 2, select: ['id', 'entityTypeId'] }))[0]!)).toEqual(['id', 'entityTypeId']);
    const star = items(callMethod(c, 'crm.item.list', { entityTypeId: 3, select: ['*'] }))[2]!;
    expect([star['observers'], star['entityTypeId'], Array.isArray(star['fm'])]).toEqual([[], 3, true]);
    const got = (callMethod(c, 'crm.item.get', { entityTypeId: 2, id: 1 }).result as { item: Row }).item;
    expect([got['observers'], got['entityTypeId']]).toEqual([[], 2]);
  });

  it('rule 10a: crm.contact.userfield.list returns labels as strings with filter.LANG and omits them without it', () => {
    const p = mkPortal();
    const c = ctxOf(p);
    callMethod(c, 'crm.contact.userfield.add', { fields: { FIELD_NAME: 'PROBE', USER_TYPE_ID: 'string', LABEL: 'Probe' } });
    const plain = rows(callMethod(c, 'crm.contact.userfield.list', {}))[0]!;
    for (const k of ['EDIT_FORM_LABEL', 'LIST_COLUMN_LABEL', 'LIST_FILTER_LABEL', 'ERROR_MESSAGE', 'HELP_MESSAGE']) expect(k in plain, k).toBe(false);
    const de = rows(callMethod(c, 'crm.contact.userfield.list', { filter: { LANG: 'de' } }))[0]!;
    expect([de['EDIT_FORM_LABEL'], de['LIST_COLUMN_LABEL'], de['ERROR_MESSAGE'], de['HELP_MESSAGE']]).toEqual(['Probe', 'Probe', null, null]);
    const got = res(callMethod(c, 'crm.contact.userfield.get', { id: plain['ID'] }));
    expect(got['EDIT_FORM_LABEL']).toMatchObject({ en: 'Probe', de: 'Probe' });
  });

  it('rule 10b: crm.item contacts carry categoryId and the multifield-derived phone/email fields; crm.item.fields has no legacy-only fields', () => {
    const p = mkPortal();
    seedContacts(p, 3); // contact 3 has a WORK phone
    const c = ctxOf(p);
    const item = (callMethod(c, 'crm.item.get', { entityTypeId: 3, id: 3 }).result as { item: Row }).item;
    expect(item).toMatchObject({ categoryId: 0, phone: '+1003', phoneWork: '+1003', phoneMobile: '', email: '', emailWork: '', imol: '', shortName: null });
    expect('PHONE' in res(callMethod(c, 'crm.contact.get', { id: 3 }))).toBe(true);
    expect('phoneWork' in res(callMethod(c, 'crm.contact.get', { id: 3 }))).toBe(false);
    const fields = (callMethod(c, 'crm.item.fields', { entityTypeId: 3 }).result as { fields: Row }).fields;
    expect(['addressCity', 'address', 'faceId'].filter((k) => k in fields)).toEqual([]);
    expect(['utmSource', 'phoneWork', 'categoryId'].every((k) => k in fields)).toBe(true);
  });

  it('rule 10c: documented error texts of legacy lists, product rows, user fields and event.bind/unbind', () => {
    const p = mkPortal();
    seedDeals(p, 1);
    const c = ctxOf(p);
    const e = (cx: typeof c, m: string, prm: Row) => { const x = err(() => callMethod(cx, m, prm)); return [x.status, x.code, x.description]; };
    expect(e(c, 'crm.deal.list', { filter: 'x' })).toEqual([400, '', "Parameter 'filter' must be array."]);
    expect(e(c, 'crm.contact.list', { order: 'x' })).toEqual([400, '', "Parameter 'order' must be array."]);
    expect(e(c, 'crm.deal.productrows.get', {})).toEqual([400, '', 'The parameter id is invalid or not defined.']);
    expect(e(c, 'crm.contact.userfield.add', { fields: { FIELD_NAME: 'X' } })).toEqual([400, '', "The 'USER_TYPE_ID' field is not found."]);
    const user = ctxOf(p, { userId: 2, isAdmin: false });
    expect(e(user, 'crm.contact.userfield.add', { fields: { FIELD_NAME: 'Y', USER_TYPE_ID: 'string' } })).toEqual([400, '', 'Access denied']);
    expect(e(user, 'event.bind', { event: 'ONCRMDEALADD', event_type: 'offline' })).toEqual([403, 'ACCESS_DENIED', 'Access denied! Offline events binding requires administrator access rights']);
    expect(e(user, 'event.bind', { event: 'ONCRMDEALADD', handler: 'https://a/', auth_type: 1 })).toEqual([403, 'ACCESS_DENIED', 'Access denied! Event binding with AUTH_TYPE requires administrator access rights']);
    expect(e(user, 'event.unbind', { event: 'ONCRMDEALADD', event_type: 'offline' })).toEqual([403, 'ACCESS_DENIED', 'Access denied! Offline events unbinding requires administrator access rights']);
    expect(e(user, 'event.unbind', { event: 'ONCRMDEALADD', handler: 'https://a/', auth_type: 1 })).toEqual([403, 'ACCESS_DENIED', 'Access denied! Event unbinding with AUTH_TYPE requires administrator access rights']);
    expect(e(c, 'event.unbind', { event: 'ONCRMDEALADD' })).toEqual([400, 'ERROR_ARGUMENT', "Argument 'HANDLER' is null or empty"]);
  });

  it('rule 10d: crm.contact/deal/company.fields describe types, isReadOnly and isRequired as the docs field lists; the writable ones are stored', () => {
    const p = mkPortal();
    seedDeals(p, 1);
    const c = ctxOf(p);
    type Desc = Record<string, { type: string; isReadOnly: boolean; isRequired: boolean; isImmutable: boolean }>;
    const fields = (m: string) => callMethod(c, m, {}).result as Desc;
    const pick = (d: Desc, k: string) => [d[k]?.type, d[k]?.isReadOnly, d[k]?.isRequired];
    const contact = fields('crm.contact.fields');
    expect(pick(contact, 'NAME')).toEqual(['string', false, true]);
    expect(pick(contact, 'COMPANY_ID')).toEqual(['crm_company', false, false]);
    expect(pick(contact, 'LEAD_ID')).toEqual(['crm_lead', true, false]);
    expect(pick(contact, 'PHOTO')).toEqual(['file', false, false]);
    expect(pick(contact, 'ORIGINATOR_ID')).toEqual(['string', false, false]);
    expect('FACE_ID' in contact).toBe(false);
    const deal = fields('crm.deal.fields');
    expect([...pick(deal, 'CATEGORY_ID'), deal['CATEGORY_ID']?.isImmutable]).toEqual(['crm_category', false, false, true]);
    expect(pick(deal, 'CONTACT_ID')).toEqual(['crm_contact', false, false]);
    expect(pick(deal, 'QUOTE_ID')).toEqual(['crm_quote', true, false]);
    expect(pick(deal, 'LOCATION_ID')).toEqual(['location', false, false]);
    expect(pick(deal, 'IS_RECURRING')).toEqual(['char', false, false]);
    const company = fields('crm.company.fields');
    expect(pick(company, 'IS_MY_COMPANY')).toEqual(['char', false, false]);
    expect('SOURCE_ID' in company).toBe(false);
    callMethod(c, 'crm.deal.update', { id: 1, fields: { ADDITIONAL_INFO: 'note', IS_RECURRING: 'Y', ORIGINATOR_ID: 'shop' } });
    expect(res(callMethod(c, 'crm.deal.get', { id: 1 }))).toMatchObject({ ADDITIONAL_INFO: 'note', IS_RECURRING: 'Y', ORIGINATOR_ID: 'shop', IS_RETURN_CUSTOMER: 'N' });
    const item = (callMethod(c, 'crm.item.get', { entityTypeId: 2, id: 1 }).result as { item: Row }).item;
    expect([item['additionalInfo'], item['isRecurring'], item['locationId']]).toEqual(['note', 'Y', null]);
  });

  it('rule 10e: crm.product.list and crm.productsection.list return the fields of crm-product-fields.md / crm-product-section-fields.md', () => {
    const p = mkPortal();
    p.sections.set(1, { id: 1, catalogId: 25, name: 'Shoes', sectionId: null, xmlId: null, code: 'shoes' });
    p.products.set(7, { id: 7, name: 'Boot', sectionId: 1, catalogId: 25, price: 10, currencyId: 'USD', active: true, sort: 100, xmlId: null, dateCreate: p.clock.now(), timestampX: p.clock.now() });
    const c = ctxOf(p);
    expect(Object.keys(rows(callMethod(c, 'crm.productsection.list', {}))[0]!).sort()).toEqual(['CATALOG_ID', 'ID', 'NAME', 'SECTION_ID', 'XML_ID']);
    const product = rows(callMethod(c, 'crm.product.list', {}))[0]!;
    for (const k of ['ACTIVE', 'CATALOG_ID', 'CREATED_BY', 'CURRENCY_ID', 'DATE_CREATE', 'DESCRIPTION', 'DESCRIPTION_TYPE', 'DETAIL_PICTURE', 'ID', 'MEASURE', 'MODIFIED_BY', 'NAME', 'PREVIEW_PICTURE', 'PRICE', 'SECTION_ID', 'SORT', 'TIMESTAMP_X', 'VAT_ID', 'VAT_INCLUDED', 'XML_ID']) {
      expect(k in product, k).toBe(true);
    }
  });
});
