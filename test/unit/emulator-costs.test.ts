// The emulator's cost model (src/emulator/costs.ts) and its load limiter (src/emulator/limits.ts), one
// test per rule. Expected numbers are written out from the evidence (docs/emulator.md "Limits"), not
// read from the model's own table.
import { describe, expect, it } from 'vitest';
import { predictCharge, predictProcessing } from '../../src/emulator/cost-predict.js';
import { classify, CostSpecError, isComplexFilter, parseCostSpec, processingOf, costModel } from '../../src/emulator/costs.js';
import { Limits, RequestTally } from '../../src/emulator/limits.js';

const T0 = Date.UTC(2025, 5, 2, 9, 0, 0); // on a minute boundary
const KEY = 'app:x|crm.contact.list';

/** One HTTP request of `calls` × `seconds` of one method, committed at `at`. */
function request(l: Limits, key: string, method: string, calls: Array<number>, at: number): void {
  const t = new RequestTally();
  for (const s of calls) l.record(t, key, method, s, false);
  l.commit(t, at);
}

describe('processing of one call', () => {
  it('list: 0.03 s + 0.0007 s per returned row, no count with start=-1', () => {
    expect(predictProcessing({ method: 'crm.contact.list', kind: 'list', rows: 50, startNonNegative: false, matching: 0 })).toBeCloseTo(0.065, 9);
    expect(predictProcessing({ method: 'crm.deal.list', kind: 'list', rows: 0 })).toBeCloseTo(0.03, 9);
  });

  it('list with start >= 0 pays the count: 2.1e-5 s per matching row, proportional', () => {
    const at = (matching: number, startNonNegative: boolean): number =>
      predictProcessing({ method: 'crm.deal.list', kind: 'list', rows: 50, startNonNegative, matching });
    expect(at(100_000, true) - at(0, true)).toBeCloseTo(2.1, 9);
    expect(at(200_000, true) - at(0, true)).toBeCloseTo(4.2, 9);
    expect(at(100_000, false)).toBeCloseTo(0.065, 9); // start=-1: total 0, no count
    // the docs' huge-data.md case: 2,387,743 leads counted ≈ 50 s
    expect(at(2_387_743, true)).toBeGreaterThan(50);
  });

  it('complex filter: +0.2 s for LIKE, logic groups or 3+ conditions; simple filters pay nothing', () => {
    expect(isComplexFilter(undefined)).toBe(false);
    expect(isComplexFilter({ '>ID': 5 })).toBe(false);
    expect(isComplexFilter({ '>ID': 5, CATEGORY_ID: 0 })).toBe(false);
    expect(isComplexFilter({ '>ID': 5, '@ID': [1, 2, 3] })).toBe(false);
    expect(isComplexFilter({ '%NAME': 'Al' })).toBe(true);
    expect(isComplexFilter({ '=%NAME': 'Al%' })).toBe(true);
    expect(isComplexFilter({ '!%NAME': 'Al' })).toBe(true);
    expect(isComplexFilter({ '>ID': 1, '<ID': 9, TYPE_ID: 'CLIENT' })).toBe(true);
    expect(isComplexFilter({ logic: 'OR', a: { ID: 1 }, b: { ID: 2 } })).toBe(true);
    expect(isComplexFilter({ '0': { '>ID': 1 } })).toBe(true);
    const simple = predictProcessing({ method: 'crm.item.list', kind: 'list', rows: 10, startNonNegative: false, filter: { '>id': 3 } });
    const complexOne = predictProcessing({ method: 'crm.item.list', kind: 'list', rows: 10, startNonNegative: false, filter: { '%title': 'x' } });
    expect(complexOne - simple).toBeCloseTo(0.2, 9);
    expect(predictProcessing({ method: 'crm.deal.list', kind: 'list', rows: 0, filterComplexity: 3 })).toBeCloseTo(0.23, 9);
  });

  it('each class costs what the evidence says', () => {
    const cost = (method: string, kind: 'get' | 'write' | 'list' | 'bind' | 'other'): number => processingOf(costModel(), method, kind);
    expect(cost('crm.contact.get', 'get')).toBe(0.15);
    expect(cost('crm.item.get', 'get')).toBe(0.15);
    expect(cost('crm.contact.add', 'write')).toBe(0.3);
    expect(cost('crm.deal.update', 'write')).toBe(0.3);
    expect(cost('crm.item.update', 'write')).toBe(0.3);
    expect(cost('crm.contact.delete', 'write')).toBe(0.5);
    expect(cost('crm.deal.productrows.get', 'get')).toBe(0.1);
    expect(cost('crm.item.productrow.list', 'list')).toBe(0.1);
    expect(cost('crm.deal.productrows.set', 'write')).toBe(1.0);
    expect(cost('crm.item.productrow.add', 'write')).toBe(1.0);
    expect(cost('crm.contact.userfield.add', 'write')).toBe(0.2);
    expect(cost('crm.deal.userfield.update', 'write')).toBe(0.2);
    expect(cost('crm.contact.userfield.delete', 'write')).toBe(0.2);
    expect(cost('event.bind', 'bind')).toBe(0.2);
    expect(cost('placement.bind', 'bind')).toBe(0.2);
    expect(cost('crm.status.list', 'list')).toBe(0.01);
    expect(cost('crm.currency.list', 'list')).toBe(0.01);
    expect(cost('crm.contact.fields', 'get')).toBe(0.01);
    expect(cost('profile', 'get')).toBe(0.01);
    expect(classify('crm.contact.userfield.list', 'list')).toBe('read');
  });

  it('a per-method override replaces the whole computation; class changes apply', () => {
    const m = costModel({ methods: { 'CRM.Deal.List': 0.5 }, classes: { update: 0.5 } });
    expect(processingOf(m, 'crm.deal.list', 'list', { rows: 50, startNonNegative: true, matching: 1e6, complexFilter: true })).toBe(0.5);
    expect(processingOf(m, 'crm.contact.update', 'write')).toBe(0.5);
    expect(processingOf(costModel({ kinds: { write: 0.7 } }), 'crm.contact.delete', 'write')).toBe(0.7); // the old alias
  });

  it('parses the --costs flag and refuses bad specs', () => {
    expect(parseCostSpec('update=0.5, perRow=0.001,crm.deal.list=0.2')).toEqual({ classes: { update: 0.5 }, perRow: 0.001, methods: { 'crm.deal.list': 0.2 } });
    for (const bad of ['update', 'update=-1', 'update=x', 'nope=1', 'update=4000', '=1']) expect(() => parseCostSpec(bad), bad).toThrow(CostSpecError);
  });
});

describe('the load limiter', () => {
  it('floor: a single small list (≤ 0.1 s) is not counted', () => {
    const l = new Limits();
    request(l, KEY, 'crm.contact.list', [0.065], T0);
    expect(l.operating(KEY, T0).operating).toBe(0);
    request(l, KEY, 'crm.contact.list', [0.1], T0); // exactly the floor: not counted
    expect(l.operating(KEY, T0).operating).toBe(0);
    expect(l.snapshot(T0).methods['crm.contact.list']).toMatchObject({ calls: 2, operatingSeconds: 0, processingSeconds: 0.165, uncharged: 2 });
    expect(predictCharge({ method: 'crm.contact.list', kind: 'list', rows: 50, startNonNegative: false })).toBe(0);
  });

  it('the same page 50 times in one batch is counted 50 times', () => {
    const l = new Limits();
    request(l, KEY, 'crm.contact.list', Array.from({ length: 50 }, () => 0.065), T0);
    expect(l.operating(KEY, T0).operating).toBeCloseTo(3.25, 9);
    expect(predictCharge({ method: 'crm.contact.list', kind: 'list', rows: 50, startNonNegative: false }, 50)).toBeCloseTo(3.25, 9);
  });

  it('sums per method within a request: each method against the floor on its own', () => {
    const l = new Limits();
    const t = new RequestTally();
    l.record(t, 'app:x|crm.contact.list', 'crm.contact.list', 0.06, false);
    l.record(t, 'app:x|crm.deal.list', 'crm.deal.list', 0.06, false);
    l.record(t, 'app:x|crm.deal.list', 'crm.deal.list', 0.06, false);
    l.record(t, 'app:x|crm.contact.get', 'crm.contact.get', 0.15, false);
    l.commit(t, T0);
    expect(l.operating('app:x|crm.contact.list', T0).operating).toBe(0); // 0.06 alone
    expect(l.operating('app:x|crm.deal.list', T0).operating).toBeCloseTo(0.12, 9); // 0.06 + 0.06 > 0.1
    expect(l.operating('app:x|crm.contact.get', T0).operating).toBe(0.15);
  });

  it('calendar-minute buckets roll off exactly when the 10th minute after theirs begins', () => {
    const l = new Limits();
    request(l, KEY, 'crm.contact.list', [10], T0 + 59_999); // minute 09:00
    request(l, KEY, 'crm.contact.list', [20], T0 + 60_000); // minute 09:01
    expect(l.operating(KEY, T0 + 60_000)).toEqual({ operating: 30, resetAt: T0 / 1000 + 600 });
    expect(l.operating(KEY, T0 + 600_000 - 1).operating).toBe(30); // 09:09:59.999
    expect(l.operating(KEY, T0 + 600_000)).toEqual({ operating: 20, resetAt: T0 / 1000 + 660 }); // 09:10:00
    expect(l.operating(KEY, T0 + 660_000)).toEqual({ operating: 0, resetAt: T0 / 1000 + 660 + 600 });
  });

  it('blocks only when the sum is above the limit: equal passes, above blocks', () => {
    const l = new Limits();
    request(l, KEY, 'crm.contact.list', [240, 240], T0);
    expect(l.checkOperating(KEY, 'crm.contact.list', T0)).toBe(true); // 480 = limit
    request(l, KEY, 'crm.contact.list', [0.2], T0);
    expect(l.checkOperating(KEY, 'crm.contact.list', T0)).toBe(false); // 480.2 > 480
    expect(l.checkOperating('app:x|crm.deal.list', 'crm.deal.list', T0)).toBe(true); // other methods unaffected
  });

  it('480 s on cloud, 420 s self-hosted', () => {
    expect(new Limits().operatingLimit).toBe(480);
    const self = new Limits({ selfHosted: true });
    expect(self.operatingLimit).toBe(420);
    expect(new Limits({ selfHosted: true, operatingLimit: 100 }).operatingLimit).toBe(100);
    request(self, KEY, 'crm.contact.list', [420], T0);
    expect(self.checkOperating(KEY, 'crm.contact.list', T0)).toBe(true);
    request(self, KEY, 'crm.contact.list', [0.5], T0);
    expect(self.checkOperating(KEY, 'crm.contact.list', T0)).toBe(false);
    const cloud = new Limits();
    request(cloud, KEY, 'crm.contact.list', [420.5], T0);
    expect(cloud.checkOperating(KEY, 'crm.contact.list', T0)).toBe(true);
  });
});
