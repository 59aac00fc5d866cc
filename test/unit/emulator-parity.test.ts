// Parity of the emulator's shapes and strictness with the official docs (issue 12, items 4–5).
// One test per rule; docs/emulator-parity.md lists the rules, the docs page each one follows
// and the name of its test here.
import { describe, expect, it } from 'vitest';
import { callMethod } from '../../src/emulator/methods/index.js';
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
});
