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
});
