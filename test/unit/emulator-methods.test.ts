import { describe, expect, it } from 'vitest';
import { callMethod, methods } from '../../src/emulator/methods/index.js';
import { addDeal, deleteDeal, updateDeal } from '../../src/emulator/methods/data.js';
import { RestError, type CrmEvent, type MethodResult } from '../../src/emulator/types.js';
import { ufCamel } from '../../src/emulator/serialize.js';
import { ctxOf, mkPortal, seedContacts, seedDeals, T0 } from './emulator-methods-helpers.js';

function err(fn: () => unknown): RestError {
  try { fn(); } catch (e) { if (e instanceof RestError) return e; throw e; }
  throw new Error('expected a RestError');
}
type Row = Record<string, unknown>;
const rows = (r: MethodResult) => r.result as Row[];
const ids = (r: MethodResult) => rows(r).map((x) => Number(x['ID']));

describe('registry and dispatch', () => {
  it('registers lower-case names and rejects unknown methods with 404', () => {
    expect(methods.has('crm.contact.list')).toBe(true);
    expect(methods.has('batch')).toBe(false);
    const p = mkPortal();
    const e = err(() => callMethod(ctxOf(p), 'crm.nothing.here', {}));
    expect([e.code, e.description, e.status]).toEqual(['ERROR_METHOD_NOT_FOUND', 'Method not found!', 404]);
    expect(callMethod(ctxOf(p), 'CRM.Contact.List', {}).total).toBe(0);
  });
  it('checks scope, app context and admin rights', () => {
    const p = mkPortal();
    const e1 = err(() => callMethod(ctxOf(p, { scopes: new Set(['user']) }), 'crm.contact.list', {}));
    expect([e1.code, e1.status]).toEqual(['insufficient_scope', 403]);
    const hook = ctxOf(p, { kind: 'webhook', clientId: null });
    const e2 = err(() => callMethod(hook, 'placement.bind', { PLACEMENT: 'LEFT_MENU', HANDLER: 'https://a/' }));
    expect([e2.code, e2.description, e2.status]).toEqual(['WRONG_AUTH_TYPE', 'Current authorization type is denied for this method Application context required', 403]);
    const e3 = err(() => callMethod(ctxOf(p, { userId: 2, isAdmin: false }), 'app.option.set', { options: { a: 1 } }));
    expect([e3.code, e3.status]).toEqual(['ACCESS_DENIED', 400]); // app-option-set.md: 400
    // internal calls have every scope
    expect(callMethod(ctxOf(p, { kind: 'internal', scopes: new Set() }), 'crm.deal.list', {}).total).toBe(0);
    // user.current accepts user_brief
    expect((callMethod(ctxOf(p, { scopes: new Set(['user_brief']) }), 'user.current', {}).result as Row)['ID']).toBe('1');
  });
});

describe('global methods', () => {
  it('profile, app.info, app.option', () => {
    const p = mkPortal();
    const c = ctxOf(p);
    expect(callMethod(c, 'profile', {}).result).toMatchObject({ ID: '1', ADMIN: true, NAME: 'Ann', TIME_ZONE_OFFSET: 10800 });
    expect(callMethod(c, 'app.info', {}).result).toMatchObject({ CODE: 'seg', INSTALLED: true, STATUS: 'L', PAYMENT_EXPIRED: 'N', LICENSE_FAMILY: 'std' });
    expect(callMethod(c, 'app.option.set', { options: { a: 1 } }).result).toBe(true);
    expect(callMethod(c, 'app.option.set', { b: 'x' }).result).toBe(true); // no wrapper, merged
    expect(callMethod(c, 'app.option.get', {}).result).toEqual({ a: 1, b: 'x' });
    expect(callMethod(c, 'app.option.get', { option: 'b' }).result).toBe('x');
    expect(callMethod(c, 'app.option.get', { option: 'zz' }).result).toBeNull();
  });
  it('user.get filters by ID and pages', () => {
    const p = mkPortal();
    const r = callMethod(ctxOf(p), 'user.get', { ID: 2 });
    expect(ids(r)).toEqual([2]);
    expect(r.total).toBe(1);
    expect(callMethod(ctxOf(p), 'user.get', { filter: { ACTIVE: true } }).total).toBe(2);
  });
});

describe('paging', () => {
  for (const [n, total, next, len] of [[49, 49, undefined, 49], [50, 50, undefined, 50], [51, 51, 50, 50]] as const) {
    it(`${n} rows → total ${total}, next ${String(next)}`, () => {
      const p = mkPortal(); seedContacts(p, n);
      const r = callMethod(ctxOf(p), 'crm.contact.list', {});
      expect([r.total, r.next, rows(r).length]).toEqual([total, next, len]);
      if (n === 51) {
        const r2 = callMethod(ctxOf(p), 'crm.contact.list', { start: 50 });
        expect(ids(r2)).toEqual([51]);
        expect(r2.next).toBeUndefined();
      }
    });
  }
  it('start=-1: no count (total 0), no next, first 50', () => {
    const p = mkPortal(); seedContacts(p, 120);
    const r = callMethod(ctxOf(p), 'crm.contact.list', { start: -1, order: { ID: 'ASC' }, filter: { '>ID': 60 } });
    expect(r.total).toBe(0);
    expect(r.next).toBeUndefined();
    expect(ids(r)[0]).toBe(61);
    expect(ids(r).at(-1)).toBe(110);
  });
  it('keyset export survives deletes and inserts (sorted ID index)', () => {
    const p = mkPortal(); seedDeals(p, 130);
    deleteDeal(p, 51, 1); deleteDeal(p, 100, 1);
    addDeal(p, { title: 'late' }, 1);
    const seen: number[] = [];
    let last = 0;
    for (;;) {
      const r = callMethod(ctxOf(p), 'crm.item.list', { entityTypeId: 2, order: { id: 'ASC' }, filter: { '>id': last }, start: -1, select: ['id'] });
      const items = (r.result as { items: Row[] }).items;
      seen.push(...items.map((i) => i['id'] as number));
      if (items.length < 50) break;
      last = items.at(-1)!['id'] as number;
    }
    expect(seen.length).toBe(129);
    expect(seen.includes(51) || seen.includes(100)).toBe(false);
    expect(seen.at(-1)).toBe(131);
    // JS SDK uses the UPPER key `>ID` even for crm.item.list
    const r = callMethod(ctxOf(p), 'crm.item.list', { entityTypeId: 2, filter: { '>ID': 129 }, start: -1 });
    expect((r.result as { items: Row[] }).items.map((i) => i['id'])).toEqual([130, 131]);
  });
});

describe('filters, order, select', () => {
  const p = mkPortal(); seedDeals(p, 20);
  const c = ctxOf(p);
  const q = (filter: Row, extra: Row = {}) => ids(callMethod(c, 'crm.deal.list', { filter, order: { ID: 'ASC' }, ...extra }));
  it('operators', () => {
    expect(q({ ID: 3 })).toEqual([3]);
    expect(q({ '=STAGE_ID': 'WON', '<=ID': 5 })).toEqual([1, 3, 5]);
    expect(q({ '!STAGE_ID': 'WON', '<ID': 5 })).toEqual([2, 4]);
    expect(q({ '!=STAGE_ID': 'WON', '<ID': 7 })).toEqual([2, 4, 6]);
    expect(q({ '>OPPORTUNITY': 1800 })).toEqual([19, 20]);
    expect(q({ '>=OPPORTUNITY': 1900 })).toEqual([19, 20]);
    expect(q({ '@ID': [2, 7, 99] })).toEqual([2, 7]);
    expect(q({ '!@ID': [1, 2, 3], '<ID': 6 })).toEqual([4, 5]);
    expect(q({ '%TITLE': 'eal 1', '<ID': 12 })).toEqual([1, 10, 11]);
    expect(q({ '=%TITLE': 'Deal 2%' })).toEqual([2, 20]);
    expect(q({ '%=TITLE': '%l 5' })).toEqual([5]);
    expect(q({ STAGE_SEMANTIC_ID: 'S', '<ID': 4 })).toEqual([1, 3]);
    expect(q({ CONTACT_ID: 2 })).toEqual([4, 8, 12, 16, 20]); // primary only
    expect(q({ CONTACT_ID: 1, '<ID': 5 })).toEqual([1, 2, 3]);
  });
  it('dates compare as instants (ISO and YYYY-MM-DD)', () => {
    expect(q({ '>=CLOSEDATE': '2024-02-20', '<=CLOSEDATE': '2024-02-21' })).toEqual([19, 20]);
    expect(q({ '<CLOSEDATE': '2024-02-03T00:00:00+03:00' })).toEqual([1]);
    expect(q({ '>DATE_CREATE': '2024-08-15T10:38:20+03:00', '<ID': 3 })).toEqual([1, 2]);
    expect(q({ '>DATE_CREATE': '2024-08-15T07:38:21Z' })).toEqual([]);
  });
  it('order ASC/DESC case-insensitive', () => {
    expect(ids(callMethod(c, 'crm.deal.list', { order: { OPPORTUNITY: 'desc' }, filter: { '<ID': 4 } }))).toEqual([3, 2, 1]);
    expect(ids(callMethod(c, 'crm.deal.list', { order: { ID: 'DESC' }, filter: { '>ID': 17 } }))).toEqual([20, 19, 18]);
    expect(ids(callMethod(c, 'crm.deal.list', { order: { stage_id: 'asc', id: 'desc' }, filter: { '<ID': 5 } }))).toEqual([4, 2, 3, 1]);
  });
  it('select *, UF_*, explicit; multifields only when named', () => {
    const p2 = mkPortal(); seedContacts(p2, 3);
    const c2 = ctxOf(p2);
    callMethod(c2, 'crm.contact.userfield.add', { fields: { FIELD_NAME: 'SEG', USER_TYPE_ID: 'string', LABEL: 'Seg' } });
    callMethod(c2, 'crm.contact.update', { id: 3, fields: { UF_CRM_SEG: 'vip' } });
    const def = rows(callMethod(c2, 'crm.contact.list', { filter: { ID: 3 } }))[0]!;
    expect(def['UF_CRM_SEG']).toBe('vip');
    expect(def['PHONE']).toBeUndefined();
    expect(def['NAME']).toBe('Name3');
    const star = rows(callMethod(c2, 'crm.contact.list', { filter: { ID: 3 }, select: ['*'] }))[0]!;
    expect('UF_CRM_SEG' in star).toBe(false);
    const uf = rows(callMethod(c2, 'crm.contact.list', { filter: { ID: 3 }, select: ['UF_*'] }))[0]!;
    expect(Object.keys(uf).sort()).toEqual(['ID', 'UF_CRM_SEG']);
    const ex = rows(callMethod(c2, 'crm.contact.list', { filter: { ID: 3 }, select: ['NAME', 'PHONE'] }))[0]!;
    expect(ex).toEqual({ ID: '3', NAME: 'Name3', PHONE: [{ ID: expect.any(String), VALUE_TYPE: 'WORK', VALUE: '+1003', TYPE_ID: 'PHONE' }] });
    expect(ids(callMethod(c2, 'crm.contact.list', { filter: { PHONE: '+1003' } }))).toEqual([3]);
  });
  it('crm.item: unknown filter field → INVALID_ARG_VALUE; OR groups; !%', () => {
    const e = err(() => callMethod(c, 'crm.item.list', { entityTypeId: 2, filter: { nope: 1 } }));
    expect([e.code, e.status]).toEqual(['INVALID_ARG_VALUE', 400]);
    expect(e.description).toContain("field 'nope'");
    const r = callMethod(c, 'crm.item.list', { entityTypeId: 2, filter: { 0: { logic: 'OR', id: 2, '>opportunity': 1900 }, '!%title': 'Deal 2' }, order: { id: 'asc' } });
    expect((r.result as { items: Row[] }).items.map((i) => i['id'])).toEqual([]); // 2 and 20 both excluded by !%
    const r2 = callMethod(c, 'crm.item.list', { entityTypeId: 2, filter: { 0: { logic: 'OR', id: 3, '>opportunity': 1900 } }, order: { id: 'asc' } });
    expect((r2.result as { items: Row[] }).items.map((i) => i['id'])).toEqual([3, 20]);
    const r3 = callMethod(c, 'crm.item.list', { entityTypeId: 2, filter: { contactIds: 2, '<id': 9 } });
    expect((r3.result as { items: Row[] }).items.map((i) => i['id'])).toEqual([4, 8]);
    const r4 = callMethod(c, 'crm.item.list', { entityTypeId: 2, filter: { contactIds: 1, '<id': 5 } }); // any linked contact
    expect((r4.result as { items: Row[] }).items.map((i) => i['id'])).toEqual([1, 2, 3, 4]);
  });
});

describe('serialisation', () => {
  it('legacy strings vs crm.item typed values of the same deal', () => {
    const p = mkPortal(); seedDeals(p, 4);
    const c = ctxOf(p);
    const leg = callMethod(c, 'crm.deal.get', { id: 4 }).result as Row;
    expect(leg).toMatchObject({
      ID: '4', OPPORTUNITY: '400.00', CATEGORY_ID: '0', STAGE_ID: 'NEW', STAGE_SEMANTIC_ID: 'P', CONTACT_ID: '2', COMPANY_ID: null,
      CLOSED: 'N', OPENED: 'Y', BEGINDATE: '2024-01-01T00:00:00+03:00', DATE_CREATE: '2024-08-15T10:38:21+03:00', ASSIGNED_BY_ID: '1',
    });
    expect('CONTACT_IDS' in leg).toBe(false);
    const it = (callMethod(c, 'crm.item.get', { entityTypeId: 2, id: 4 }).result as { item: Row }).item;
    expect(it).toMatchObject({
      id: 4, opportunity: 400, categoryId: 0, stageId: 'NEW', stageSemanticId: 'P', contactId: 2, contactIds: [2, 1], companyId: 0,
      closed: 'N', opened: 'Y', begindate: '2024-01-01T00:00:00+03:00', createdTime: '2024-08-15T10:38:21+03:00', assignedById: 1, entityTypeId: 2,
    });
    const won = callMethod(c, 'crm.deal.get', { id: 1 }).result as Row;
    expect([won['STAGE_SEMANTIC_ID'], won['CLOSED']]).toEqual(['S', 'Y']);
  });
  it('contact fm only with * in crm.item; HAS_PHONE derived', () => {
    const p = mkPortal(); seedContacts(p, 3);
    const c = ctxOf(p);
    const full = (callMethod(c, 'crm.item.get', { entityTypeId: 3, id: 3 }).result as { item: Row }).item;
    expect(full['fm']).toEqual([{ id: expect.any(Number), valueType: 'WORK', value: '+1003', typeId: 'PHONE' }]);
    expect(full['hasPhone']).toBe('Y');
    const sel = (callMethod(c, 'crm.item.list', { entityTypeId: 3, select: ['id', 'name'], filter: { id: 3 } }).result as { items: Row[] }).items[0]!;
    expect(sel['fm']).toBeUndefined();
    expect(sel['name']).toBe('Name3');
    expect((callMethod(c, 'crm.contact.get', { id: 3 }).result as Row)['HAS_PHONE']).toBe('Y');
  });
  it('UF camelCase rule', () => {
    expect(ufCamel('UF_CRM_2_1639669411830')).toBe('ufCrm2_1639669411830');
    expect(ufCamel('UF_CRM_1720019876534')).toBe('ufCrm_1720019876534');
    expect(ufCamel('UF_CRM_SEG_RFM')).toBe('ufCrmSegRfm');
    expect(ufCamel('UF_CRM_10_DIGIT10')).toBe('UF_CRM_10_DIGIT10');
  });
});

describe('not found shapes', () => {
  const p = mkPortal();
  const c = ctxOf(p);
  const shape = (m: string, prm: Row) => { const e = err(() => callMethod(c, m, prm)); return [e.code, e.description, e.status]; };
  it('per family', () => {
    expect(shape('crm.contact.get', { id: 9 })).toEqual(['', 'Not found', 400]);
    expect(shape('crm.deal.get', { id: 9 })).toEqual(['', 'Not found', 400]);
    expect(shape('crm.contact.update', { id: 9, fields: {} })).toEqual(['', 'Contact is not found', 400]);
    expect(shape('crm.company.update', { id: 9, fields: {} })).toEqual(['', 'Company is not found', 400]);
    expect(shape('crm.company.delete', { id: 9 })).toEqual(['', 'Company is not found', 400]);
    expect(shape('crm.deal.contact.items.get', { id: 9 })).toEqual(['', 'Not found.', 400]);
    expect(shape('crm.item.get', { entityTypeId: 2, id: 9 })).toEqual(['NOT_FOUND', 'Element not found', 400]);
    expect(shape('crm.item.get', { entityTypeId: 999, id: 9 })).toEqual(['NOT_FOUND', 'SPA not found', 400]);
    expect(shape('crm.contact.userfield.get', { id: 9 })).toEqual(['ERROR_NOT_FOUND', "The entity with ID '9' is not found", 400]);
    expect(shape('crm.contact.get', { id: 0 })).toEqual(['', 'ID is not defined or invalid.', 400]);
  });
});

describe('companies (B2B write-back)', () => {
  it('crm.company.add/update/delete and crm.item.update (entityTypeId 4) write, read back and emit events', () => {
    const p = mkPortal();
    const evs: CrmEvent[] = [];
    p.eventSink = (e) => evs.push(e);
    const c = ctxOf(p, { userId: 2, isAdmin: false });
    const id = callMethod(c, 'crm.company.add', { fields: { TITLE: 'Acme', INDUSTRY: 'IT' } }).result as number;
    callMethod(ctxOf(p), 'crm.company.userfield.add', { fields: { FIELD_NAME: 'UF_CRM_SEG_FREQUENCY', USER_TYPE_ID: 'integer' } });
    expect(callMethod(c, 'crm.company.update', { id, fields: { TITLE: 'Acme Ltd', UF_CRM_SEG_FREQUENCY: 4 }, params: { REGISTER_SONET_EVENT: 'N' } }).result).toBe(true);
    const got = callMethod(c, 'crm.company.get', { id }).result as Row;
    expect([got['TITLE'], got['INDUSTRY'], String(got['UF_CRM_SEG_FREQUENCY'])]).toEqual(['Acme Ltd', 'IT', '4']);
    const item = callMethod(c, 'crm.item.update', { entityTypeId: 4, id, fields: { ufCrmSegFrequency: 7 } }).result as { item: Row };
    expect(String(item.item['ufCrmSegFrequency'])).toBe('7');
    const dealId = callMethod(c, 'crm.deal.add', { fields: { TITLE: 'D', COMPANY_ID: id } }).result as number;
    callMethod(c, 'crm.company.delete', { id });
    expect(p.companies.has(id)).toBe(false);
    expect(p.deals.get(dealId)!.companyId).toBeNull(); // the deal loses its company, as in the CRM
    expect(evs.filter((e) => e.event.startsWith('ONCRMCOMPANY')).map((e) => e.event)).toEqual(['ONCRMCOMPANYADD', 'ONCRMCOMPANYUPDATE', 'ONCRMCOMPANYUPDATE', 'ONCRMCOMPANYDELETE']);
  });
});

describe('writes and events', () => {
  it('add/update/delete through any method emit events and stamp modify data', () => {
    const p = mkPortal();
    const evs: CrmEvent[] = [];
    p.eventSink = (e) => evs.push(e);
    p.clock.advance(60_000);
    const c = ctxOf(p, { userId: 2, isAdmin: false });
    const id = callMethod(c, 'crm.contact.add', { fields: { NAME: 'Zed', EMAIL: [{ VALUE: 'z@x.io', VALUE_TYPE: 'WORK' }] } }).result as number;
    expect(id).toBe(1);
    callMethod(c, 'crm.contact.update', { id, fields: { LAST_NAME: 'Zulu' } });
    const dealId = callMethod(c, 'crm.deal.add', { fields: { TITLE: 'D', CONTACT_IDS: [id], OPPORTUNITY: '12.5' } }).result as number;
    callMethod(c, 'crm.item.update', { entityTypeId: 2, id: dealId, fields: { stageId: 'WON' } });
    callMethod(c, 'crm.item.update', { entityTypeId: 2, id: dealId, fields: { stageId: 'WON' } }); // no change: skipped
    updateDeal(p, dealId, { title: 'admin' }, 1);
    callMethod(c, 'crm.deal.delete', { id: dealId });
    callMethod(c, 'crm.contact.delete', { id });
    expect(evs.map((e) => `${e.event}:${String((e.data['FIELDS'] as Row)['ID'])}:${e.userId}`)).toEqual([
      'ONCRMCONTACTADD:1:2', 'ONCRMCONTACTUPDATE:1:2', 'ONCRMDEALADD:1:2', 'ONCRMDEALUPDATE:1:2', 'ONCRMDEALUPDATE:1:1', 'ONCRMDEALDELETE:1:2', 'ONCRMCONTACTDELETE:1:2',
    ]);
  });
  it('update stamps dateModify/modifyById; legacy update ignores a foreign-funnel stage; crm.item moves funnels', () => {
    const p = mkPortal(); seedDeals(p, 2);
    const evs: string[] = [];
    p.eventSink = (e) => evs.push(e.event);
    p.clock.advance(3_600_000);
    const c = ctxOf(p, { userId: 2, isAdmin: false });
    callMethod(c, 'crm.deal.update', { id: 2, fields: { STAGE_ID: 'C1:NEW', TITLE: 'x' } });
    expect(p.deals.get(2)).toMatchObject({ stageId: 'NEW', title: 'x', modifyById: 2, dateModify: T0 + 3_600_000 });
    callMethod(c, 'crm.item.update', { entityTypeId: 2, id: 2, fields: { categoryId: 1, stageId: 'C1:WON' } });
    expect(p.deals.get(2)).toMatchObject({ categoryId: 1, stageId: 'C1:WON', closed: true });
    expect(evs).toEqual(['ONCRMDEALUPDATE', 'ONCRMDEALMOVETOCATEGORY']);
    const e = err(() => callMethod(c, 'crm.item.update', { entityTypeId: 2, id: 2, fields: { stageId: 'NOPE' } }));
    expect(e.code).toBe('CRM_FIELD_ERROR_VALUE_NOT_VALID');
  });
  it('invalid e-mail on legacy update → ERROR_CORE', () => {
    const p = mkPortal(); seedContacts(p, 1);
    const e = err(() => callMethod(ctxOf(p), 'crm.contact.update', { id: 1, fields: { EMAIL: [{ VALUE: 'bad' }] } }));
    expect([e.code, e.status]).toEqual(['ERROR_CORE', 400]);
  });
});
