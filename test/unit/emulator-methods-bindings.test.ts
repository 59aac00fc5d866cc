import { describe, expect, it } from 'vitest';
import { callMethod, pushOfflineEvent } from '../../src/emulator/methods/index.js';
import { RestError } from '../../src/emulator/types.js';
import { ctxOf, mkPortal, seedContacts, seedDeals, T0 } from './emulator-methods-helpers.js';
import type { Portal } from '../../src/emulator/portal.js';

function err(fn: () => unknown): RestError {
  try { fn(); } catch (e) { if (e instanceof RestError) return e; throw e; }
  throw new Error('expected a RestError');
}
type Row = Record<string, unknown>;

describe('CRM user fields', () => {
  it('forces the UF_CRM_ prefix, 50-char limit, character set', () => {
    const p = mkPortal();
    const c = ctxOf(p);
    const add = (FIELD_NAME: string, extra: Row = {}) => callMethod(c, 'crm.contact.userfield.add', { fields: { FIELD_NAME, USER_TYPE_ID: 'string', LABEL: 'L', ...extra } });
    const own43 = 'A'.repeat(43);
    const id = add(own43).result as number;
    expect((callMethod(c, 'crm.contact.userfield.get', { id }).result as Row)['FIELD_NAME']).toBe(`UF_CRM_${own43}`);
    const e = err(() => add('B'.repeat(44)));
    expect([e.code, e.status]).toEqual(['ERROR_CORE', 400]);
    expect(err(() => add('bad-name')).code).toBe('ERROR_CORE');
    const names = [add('seg_rfm'), add('UF_X1'), add('UF_CRM_Y2')].map((r) => (callMethod(c, 'crm.contact.userfield.get', { id: r.result }).result as Row)['FIELD_NAME']);
    expect(names).toEqual(['UF_CRM_SEG_RFM', 'UF_CRM_X1', 'UF_CRM_Y2']);
    expect(err(() => add('FLAG', { USER_TYPE_ID: 'boolean', MULTIPLE: 'Y' })).code).toBe('ERROR_CORE');
    const miss = err(() => callMethod(c, 'crm.contact.userfield.add', { fields: { LABEL: 'x' } }));
    expect(miss.description).toBe("The 'FIELD_NAME' field is not found.\nThe 'USER_TYPE_ID' field is not found.");
    const nonAdmin = err(() => callMethod(ctxOf(p, { userId: 2, isAdmin: false }), 'crm.contact.userfield.add', { fields: { FIELD_NAME: 'Q', USER_TYPE_ID: 'string' } }));
    expect([nonAdmin.code, nonAdmin.description, nonAdmin.status]).toEqual(['', 'Access denied', 400]); // crm-contact-userfield-add.md
  });

  it('enumeration items, values by item ID, read back typed/legacy, XML_ID uniqueness, update LIST', () => {
    const p = mkPortal(); seedContacts(p, 2);
    const c = ctxOf(p);
    const fid = callMethod(c, 'crm.contact.userfield.add', {
      fields: {
        FIELD_NAME: 'SEGMENT', USER_TYPE_ID: 'enumeration', LABEL: { en: 'Segment', de: 'Segment DE' },
        LIST: [{ VALUE: 'Champions', XML_ID: 'CH', SORT: 10 }, { VALUE: 'At risk', XML_ID: 'AR', SORT: 20 }, { VALUE: '' }],
      },
    }).result as number;
    const got = callMethod(c, 'crm.contact.userfield.get', { id: fid }).result as Row;
    const list = got['LIST'] as Row[];
    expect(list.map((i) => [i['VALUE'], i['XML_ID']])).toEqual([['Champions', 'CH'], ['At risk', 'AR']]);
    expect(got['EDIT_FORM_LABEL']).toMatchObject({ en: 'Segment', de: 'Segment DE' });
    const ch = Number(list[0]!['ID']);
    const ar = Number(list[1]!['ID']);

    callMethod(c, 'crm.contact.update', { id: 1, fields: { UF_CRM_SEGMENT: ch } });
    expect((callMethod(c, 'crm.contact.get', { id: 1 }).result as Row)['UF_CRM_SEGMENT']).toBe(String(ch));
    callMethod(c, 'crm.item.update', { entityTypeId: 3, id: 2, fields: { ufCrmSegment: ar } });
    const item = (callMethod(c, 'crm.item.get', { entityTypeId: 3, id: 2 }).result as { item: Row }).item;
    expect(item['ufCrmSegment']).toBe(ar);
    const orig = (callMethod(c, 'crm.item.get', { entityTypeId: 3, id: 2, useOriginalUfNames: 'Y' }).result as { item: Row }).item;
    expect(orig['UF_CRM_SEGMENT']).toBe(ar);
    // filter by enumeration item ID
    expect((callMethod(c, 'crm.contact.list', { filter: { UF_CRM_SEGMENT: ch } }).result as Row[]).map((r) => r['ID'])).toEqual(['1']);
    // unknown item ID is rejected
    expect(err(() => callMethod(c, 'crm.contact.update', { id: 1, fields: { UF_CRM_SEGMENT: 99999 } })).code).toBe('ERROR_CORE');
    expect(err(() => callMethod(c, 'crm.item.update', { entityTypeId: 3, id: 1, fields: { ufCrmSegment: 99999 } })).code).toBe('CRM_FIELD_ERROR_VALUE_NOT_VALID');

    // XML_ID duplicate on update, then LIST edit: rename, delete, add
    const dup = err(() => callMethod(c, 'crm.contact.userfield.update', { id: fid, fields: { LIST: [{ VALUE: 'New', XML_ID: 'CH' }] } }));
    expect(dup.description).toBe('A list item with XML_ID=CH already exists');
    callMethod(c, 'crm.contact.userfield.update', { id: fid, fields: { LIST: [{ ID: ch, VALUE: 'Champs' }, { ID: ar, DEL: 'Y' }, { VALUE: 'Sleeping', XML_ID: 'SL' }] } });
    const after = (callMethod(c, 'crm.contact.userfield.get', { id: fid }).result as Row)['LIST'] as Row[];
    expect(after.map((i) => i['VALUE'])).toEqual(['Champs', 'Sleeping']);

    // crm.contact.fields carries the UF description with items
    const fields = callMethod(c, 'crm.contact.fields', {}).result as Record<string, Row>;
    expect(fields['UF_CRM_SEGMENT']).toMatchObject({ type: 'enumeration', isDynamic: true, listLabel: 'Segment', formLabel: 'Segment' });
    expect((fields['UF_CRM_SEGMENT']!['items'] as Row[]).map((i) => i['VALUE'])).toEqual(['Champs', 'Sleeping']);

    // list with LANG → labels as strings
    const l = callMethod(c, 'crm.contact.userfield.list', { filter: { LANG: 'de' } }).result as Row[];
    expect(l[0]!['EDIT_FORM_LABEL']).toBe('Segment DE');
    expect((callMethod(c, 'crm.contact.userfield.list', { filter: { FIELD_NAME: 'UF_CRM_NOPE' } }).result as Row[]).length).toBe(0);
    // company field lives apart from contact fields
    expect(err(() => callMethod(c, 'crm.company.userfield.get', { id: fid })).code).toBe('ERROR_NOT_FOUND');
    expect(callMethod(c, 'crm.contact.userfield.delete', { id: fid }).result).toBe(true);
    expect('UF_CRM_SEGMENT' in p.contacts.get(1)!.uf).toBe(false);
  });

  it('multiple, boolean, date and datetime values', () => {
    const p = mkPortal(); seedContacts(p, 1);
    const c = ctxOf(p);
    const add = (n: string, t: string, m = 'N') => callMethod(c, 'crm.contact.userfield.add', { fields: { FIELD_NAME: n, USER_TYPE_ID: t, MULTIPLE: m, LABEL: n } });
    add('TAGS', 'string', 'Y'); add('VIP', 'boolean'); add('D', 'date'); add('DT', 'datetime');
    callMethod(c, 'crm.contact.update', { id: 1, fields: { UF_CRM_TAGS: ['a', 'b'], UF_CRM_VIP: 'Y', UF_CRM_D: '2024-03-01', UF_CRM_DT: '2024-03-01T12:00:00+00:00' } });
    const leg = callMethod(c, 'crm.contact.get', { id: 1 }).result as Row;
    expect([leg['UF_CRM_TAGS'], leg['UF_CRM_VIP'], leg['UF_CRM_D'], leg['UF_CRM_DT']]).toEqual([['a', 'b'], '1', '2024-03-01T00:00:00+03:00', '2024-03-01T15:00:00+03:00']);
    const it = (callMethod(c, 'crm.item.get', { entityTypeId: 3, id: 1 }).result as { item: Row }).item;
    expect([it['ufCrmTags'], it['ufCrmVip']]).toEqual([['a', 'b'], 'Y']);
    expect(err(() => callMethod(c, 'crm.item.update', { entityTypeId: 3, id: 1, fields: { ufCrmTags: 'x' } })).code).toBe('100');
    expect((callMethod(c, 'crm.item.list', { entityTypeId: 3, filter: { ufCrmVip: 1 } }).result as { items: Row[] }).items.length).toBe(1);
    expect((callMethod(c, 'crm.item.list', { entityTypeId: 3, filter: { ufCrmVip: 0 } }).result as { items: Row[] }).items.length).toBe(0);
    // `UF_*` in legacy select skips multiple fields
    const sel = (callMethod(c, 'crm.contact.list', { select: ['UF_*'] }).result as Row[])[0]!;
    expect(Object.keys(sel).sort()).toEqual(['ID', 'UF_CRM_D', 'UF_CRM_DT', 'UF_CRM_VIP']);
  });
});

describe('placements', () => {
  it('bind/get/unbind, errors, duplicate', () => {
    const p = mkPortal();
    const c = ctxOf(p);
    expect(callMethod(c, 'placement.bind', { PLACEMENT: 'CRM_CONTACT_DETAIL_TAB', HANDLER: 'https://app.example/tab', TITLE: 'Segments' }).result).toBe(true);
    const dup = err(() => callMethod(c, 'placement.bind', { PLACEMENT: 'CRM_CONTACT_DETAIL_TAB', HANDLER: 'https://app.example/tab' }));
    expect([dup.code, dup.status]).toEqual(['ERROR_CORE', 400]);
    callMethod(c, 'placement.bind', { PLACEMENT: 'LEFT_MENU', HANDLER: 'https://app.example/menu' });
    expect(callMethod(c, 'placement.get', {}).result).toEqual([
      expect.objectContaining({ placement: 'CRM_CONTACT_DETAIL_TAB', handler: 'https://app.example/tab', title: 'Segments', userId: 0 }),
      expect.objectContaining({ placement: 'LEFT_MENU' }),
    ]);
    expect(err(() => callMethod(c, 'placement.bind', { PLACEMENT: 'NOPE', HANDLER: 'https://a/' })).code).toBe('ERROR_PLACEMENT_NOT_FOUND');
    // CRM placements need the crm scope
    const noCrm = ctxOf(p, { scopes: new Set(['placement']) });
    expect(err(() => callMethod(noCrm, 'placement.bind', { PLACEMENT: 'CRM_DEAL_DETAIL_TAB', HANDLER: 'https://a/' })).code).toBe('ERROR_PLACEMENT_NOT_FOUND');
    const a = err(() => callMethod(c, 'placement.bind', { HANDLER: 'https://a/' }));
    expect([a.code, a.extra['argument']]).toEqual(['ERROR_ARGUMENT', 'PLACEMENT']);
    callMethod(c, 'placement.bind', { PLACEMENT: 'REST_APP_URI', HANDLER: 'https://a/1' });
    expect(err(() => callMethod(c, 'placement.bind', { PLACEMENT: 'REST_APP_URI', HANDLER: 'https://a/2' })).code).toBe('ERROR_PLACEMENT_MAX_COUNT');
    expect(callMethod(c, 'placement.unbind', { PLACEMENT: 'CRM_CONTACT_DETAIL_TAB' }).result).toEqual({ count: 1 });
    expect(callMethod(c, 'placement.unbind', { PLACEMENT: 'CRM_CONTACT_DETAIL_TAB' }).result).toEqual({ count: 0 });
    expect(err(() => callMethod(ctxOf(p, { userId: 2, isAdmin: false }), 'placement.get', {})).code).toBe('ACCESS_DENIED');
    expect(callMethod(ctxOf(p, { userId: 2, isAdmin: false }), 'placement.list', {}).result).toContain('CRM_CONTACT_DETAIL_TAB');
  });
});

describe('events', () => {
  it('bind/get/unbind online and offline', () => {
    const p = mkPortal();
    const c = ctxOf(p);
    expect(callMethod(c, 'event.bind', { event: 'onCrmDealUpdate', handler: 'https://app.example/ev' }).result).toBe(true);
    expect(err(() => callMethod(c, 'event.bind', { event: 'ONCRMDEALUPDATE', handler: 'https://app.example/ev' })).code).toBe('ERROR_HANDLER_ALREADY_EXIST');
    expect(err(() => callMethod(c, 'event.bind', { event: 'ONNOSUCH', handler: 'https://a/' })).code).toBe('ERROR_EVENT_NOT_FOUND');
    expect(err(() => callMethod(c, 'event.bind', { event: 'ONCRMDEALADD' })).code).toBe('ERROR_ARGUMENT');
    expect(callMethod(c, 'event.bind', { event: 'ONCRMCONTACTUPDATE', event_type: 'offline' }).result).toBe(true);
    const user = ctxOf(p, { userId: 2, isAdmin: false });
    const off = err(() => callMethod(user, 'event.bind', { event: 'ONCRMDEALADD', event_type: 'offline' }));
    expect([off.code, off.status]).toEqual(['ACCESS_DENIED', 403]);
    expect(callMethod(user, 'event.bind', { event: 'ONCRMDEALADD', handler: 'https://a/u' }).result).toBe(true);
    expect(callMethod(c, 'event.get', {}).result).toEqual([
      { event: 'ONCRMDEALUPDATE', handler: 'https://app.example/ev', auth_type: '0', offline: 0 },
      { event: 'ONCRMCONTACTUPDATE', connector_id: '', offline: 1 },
      { event: 'ONCRMDEALADD', handler: 'https://a/u', auth_type: '2', offline: 0 },
    ]);
    expect(callMethod(c, 'event.unbind', { event: 'ONCRMDEALUPDATE', handler: 'https://app.example/ev' }).result).toEqual({ count: 1 });
    expect(callMethod(c, 'event.unbind', { event: 'ONCRMCONTACTUPDATE', event_type: 'offline' }).result).toEqual({ count: 1 });
    const hook = err(() => callMethod(ctxOf(p, { kind: 'webhook', clientId: null }), 'event.bind', { event: 'ONCRMDEALADD', handler: 'https://a/' }));
    expect(hook.code).toBe('WRONG_AUTH_TYPE');
  });

  function queue(p: Portal, n: number): void {
    for (let i = 1; i <= n; i++) {
      pushOfflineEvent(p, { clientId: 'local.abc.123', timestampX: T0 + i, eventName: 'ONCRMCONTACTUPDATE', eventData: { FIELDS: { ID: i } }, eventAdditional: { user_id: '1' }, messageId: `m${i}` });
    }
  }

  it('offline get: limit, clear=1 default, process_id reservation, disjoint sets, clear', () => {
    const p = mkPortal();
    queue(p, 5);
    // the queue keeps only the latest record per object (messageId)
    pushOfflineEvent(p, { clientId: 'local.abc.123', timestampX: T0 + 100, eventName: 'ONCRMCONTACTUPDATE', eventData: { FIELDS: { ID: 1 } }, eventAdditional: {}, messageId: 'm1' });
    expect(p.offlineEvents.length).toBe(5);
    const c = ctxOf(p);
    const a = callMethod(c, 'event.offline.get', { clear: 0, limit: 2 }).result as { process_id: string; events: Row[] };
    expect(a.events.map((e) => e['MESSAGE_ID'])).toEqual(['m2', 'm3']);
    const b = callMethod(c, 'event.offline.get', { clear: 0, limit: 2 }).result as { process_id: string; events: Row[] };
    expect(b.events.map((e) => e['MESSAGE_ID'])).toEqual(['m4', 'm5']);
    expect(b.process_id).not.toBe(a.process_id);
    expect(p.offlineEvents.length).toBe(5);
    expect(callMethod(c, 'event.offline.clear', { process_id: a.process_id }).result).toBe(true);
    expect(p.offlineEvents.map((e) => e.messageId).sort()).toEqual(['m1', 'm4', 'm5']);
    const d = callMethod(c, 'event.offline.get', {}).result as { events: Row[] }; // clear=1
    expect(d.events.map((e) => e['MESSAGE_ID'])).toEqual(['m1']);
    expect(d.events[0]).toMatchObject({ EVENT_NAME: 'ONCRMCONTACTUPDATE', EVENT_DATA: { FIELDS: { ID: 1 } } });
    expect(p.offlineEvents.map((e) => e.messageId)).toEqual(['m4', 'm5']);
    // clearing by message_id inside a process
    callMethod(c, 'event.offline.clear', { process_id: b.process_id, message_id: ['m4'] });
    expect(p.offlineEvents.map((e) => e.messageId)).toEqual(['m5']);
  });
});

describe('side effects and product data', () => {
  it('bizproc.workflow.start records; wrong template / mismatch', () => {
    const p = mkPortal(); seedContacts(p, 7); seedDeals(p, 1);
    p.bizprocTemplates.push({ id: 5, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Win-back', autoExecute: 0 });
    const c = ctxOf(p);
    const id = callMethod(c, 'bizproc.workflow.start', { TEMPLATE_ID: 5, DOCUMENT_ID: ['crm', 'CCrmDocumentContact', 'CONTACT_7'], PARAMETERS: { who: 'user_1' } }).result;
    expect(typeof id).toBe('string');
    expect(p.workflowStarts).toEqual([expect.objectContaining({ id, templateId: 5, documentId: ['crm', 'CCrmDocumentContact', 'CONTACT_7'], parameters: { who: 'user_1' }, startedBy: 1 })]);
    expect(err(() => callMethod(c, 'bizproc.workflow.start', { TEMPLATE_ID: 6, DOCUMENT_ID: ['crm', 'CCrmDocumentContact', 'CONTACT_7'] })).code).toBe('ERROR_WRONG_WORKFLOW_ID');
    expect(err(() => callMethod(c, 'bizproc.workflow.start', { TEMPLATE_ID: 5, DOCUMENT_ID: ['crm', 'CCrmDocumentDeal', 'DEAL_1'] })).description).toBe('Template type and DOCUMENT_ID mismatch!');
    expect(err(() => callMethod(ctxOf(p, { userId: 2, isAdmin: false }), 'bizproc.workflow.start', { TEMPLATE_ID: 5 })).code).toBe('ACCESS_DENIED');
    expect((callMethod(c, 'bizproc.workflow.template.list', {}).result as Row[])[0]).toMatchObject({ ID: '5', NAME: 'Win-back' });
  });
  it('timeline comment needs lowercase fields; todo recorded', () => {
    const p = mkPortal(); seedContacts(p, 1);
    const c = ctxOf(p);
    expect(err(() => callMethod(c, 'crm.timeline.comment.add', { FIELDS: { ENTITY_ID: 1, ENTITY_TYPE: 'contact', COMMENT: 'x' } })).code).toBe('100');
    const cid = callMethod(c, 'crm.timeline.comment.add', { fields: { ENTITY_ID: 1, ENTITY_TYPE: 'contact', COMMENT: 'Segment: Champions' } }).result;
    expect(p.timelineComments).toEqual([expect.objectContaining({ id: cid, entityId: 1, entityType: 'contact', comment: 'Segment: Champions' })]);
    const t = callMethod(c, 'crm.activity.todo.add', { ownerTypeId: 3, ownerId: 1, deadline: '2024-09-01T10:00:00+03:00', title: 'Call' }).result as Row;
    expect(p.todos[0]).toMatchObject({ id: t['id'], ownerTypeId: 3, ownerId: 1, title: 'Call' });
  });
  it('productrow.list with an ownerId array; required filter; legacy rows', () => {
    const p = mkPortal(); seedDeals(p, 3);
    const row = (id: number, ownerId: number, price: number) => ({
      id, ownerType: 'D', ownerId, productId: 10 + id, productName: `P${id}`, price, priceExclusive: price, priceNetto: price, priceBrutto: price,
      quantity: 2, discountTypeId: 2, discountRate: 0, discountSum: 0, taxRate: null, taxIncluded: false, customized: true, measureCode: 796, measureName: 'pcs', sort: 10, type: 1,
    });
    p.productRows.set(1, [row(1, 1, 10)]); p.productRows.set(3, [row(2, 3, 20), row(3, 3, 30)]);
    const c = ctxOf(p);
    const r = callMethod(c, 'crm.item.productrow.list', { filter: { '=ownerType': 'D', '=ownerId': [3, 1, 2] } });
    const pr = (r.result as { productRows: Row[] }).productRows;
    expect(pr.map((x) => [x['id'], x['ownerId'], x['price']])).toEqual([[1, 1, 10], [2, 3, 20], [3, 3, 30]]);
    expect(r.total).toBe(3);
    expect((callMethod(c, 'crm.item.productrow.list', { filter: { '=ownerType': 'D', '=ownerId': 3, '>price': 25 } }).result as { productRows: Row[] }).productRows.map((x) => x['id'])).toEqual([3]);
    const e = err(() => callMethod(c, 'crm.item.productrow.list', { filter: { '=ownerType': 'D' } }));
    expect([e.code, e.status]).toEqual(['100', 400]);
    const leg = callMethod(c, 'crm.deal.productrows.get', { id: 3 }).result as Row[];
    expect(leg[0]).toMatchObject({ ID: '2', OWNER_ID: '3', OWNER_TYPE: 'D', PRICE: 20, QUANTITY: 2, PRICE_ACCOUNT: '20.00', TAX_INCLUDED: 'N' });
  });
  it('status, category, currency lists', () => {
    const p = mkPortal();
    const c = ctxOf(p);
    const st = callMethod(c, 'crm.status.list', { filter: { ENTITY_ID: 'DEAL_STAGE' } });
    expect((st.result as Row[]).map((s) => [s['STATUS_ID'], s['SEMANTICS']])).toEqual([['NEW', null], ['PREPARATION', null], ['WON', 'S'], ['LOSE', 'F'], ['APOLOGY', 'F']]);
    expect(st.total).toBe(5);
    const cats = callMethod(c, 'crm.category.list', { entityTypeId: 2 }).result as { categories: Row[] };
    expect(cats.categories.map((x) => [x['id'], x['isDefault']])).toEqual([[0, 'Y'], [1, 'N']]);
    expect((callMethod(c, 'crm.currency.list', {}).result as Row[])[0]).toMatchObject({ CURRENCY: 'USD', AMOUNT: '1.0000', BASE: 'Y' });
  });
});
