/**
 * The 80 % range follows CLV (src/writeback/diff.ts keepRangeWithClv): a range that moved while CLV
 * stayed within its tolerance is not written; it is written with CLV, and when it appears or goes.
 */
import { describe, expect, it } from 'vitest';
import { diffRecord, type Tolerances } from '../../src/writeback/diff.js';
import type { FieldRegistry, RegisteredField } from '../../src/writeback/fields.js';

const NAMES = ['UF_CRM_SEG_CLV', 'UF_CRM_SEG_CLV_LOW', 'UF_CRM_SEG_CLV_HIGH', 'UF_CRM_SEG_PURCHASES_LOW', 'UF_CRM_SEG_PURCHASES_HIGH'];
const registry: FieldRegistry = new Map(NAMES.map((n, i) => [n, { id: i + 1, fieldName: n, items: {} } as unknown as RegisteredField]));
const tol: Tolerances = { clv: 0.05, pAlive: 0.05 };
const held = { UF_CRM_SEG_CLV: 5637.3, UF_CRM_SEG_CLV_LOW: 0, UF_CRM_SEG_CLV_HIGH: 9092.99, UF_CRM_SEG_PURCHASES_LOW: 0, UF_CRM_SEG_PURCHASES_HIGH: 8 };

describe('the CLV range is written with CLV', () => {
  it('a range that jumped a whole purchase while CLV moved 0.4 % is not written (a real case: another customer\'s deals moved the portal rate)', () => {
    const want = { UF_CRM_SEG_CLV: 5662.14, UF_CRM_SEG_CLV_LOW: 0, UF_CRM_SEG_CLV_HIGH: 10229.62, UF_CRM_SEG_PURCHASES_LOW: 0, UF_CRM_SEG_PURCHASES_HIGH: 9 };
    expect(diffRecord(want, held, null, registry, tol).changed).toEqual({});
  });
  it('when CLV moves beyond its tolerance, the changed range goes with it', () => {
    const want = { UF_CRM_SEG_CLV: 7000, UF_CRM_SEG_CLV_LOW: 0, UF_CRM_SEG_CLV_HIGH: 12000, UF_CRM_SEG_PURCHASES_LOW: 0, UF_CRM_SEG_PURCHASES_HIGH: 10 };
    expect(diffRecord(want, held, null, registry, tol).changed).toEqual({ UF_CRM_SEG_CLV: 7000, UF_CRM_SEG_CLV_HIGH: 12000, UF_CRM_SEG_PURCHASES_HIGH: 10 });
  });
  it('a range that appears (the CRM holds none) or goes (no range any more) is written alone', () => {
    const none = { UF_CRM_SEG_CLV: 5637.3, UF_CRM_SEG_CLV_LOW: '', UF_CRM_SEG_CLV_HIGH: '', UF_CRM_SEG_PURCHASES_LOW: '', UF_CRM_SEG_PURCHASES_HIGH: '' };
    const want = { UF_CRM_SEG_CLV: 5637.3, UF_CRM_SEG_CLV_LOW: 0, UF_CRM_SEG_CLV_HIGH: 9092.99, UF_CRM_SEG_PURCHASES_LOW: 0, UF_CRM_SEG_PURCHASES_HIGH: 8 };
    expect(diffRecord(want, none, null, registry, tol).changed).toEqual({ UF_CRM_SEG_CLV_LOW: 0, UF_CRM_SEG_CLV_HIGH: 9092.99, UF_CRM_SEG_PURCHASES_LOW: 0, UF_CRM_SEG_PURCHASES_HIGH: 8 });
    const gone = { UF_CRM_SEG_CLV: 5637.3, UF_CRM_SEG_CLV_LOW: null, UF_CRM_SEG_CLV_HIGH: null, UF_CRM_SEG_PURCHASES_LOW: null, UF_CRM_SEG_PURCHASES_HIGH: null };
    expect(diffRecord(gone, held, null, registry, tol).changed).toEqual({ UF_CRM_SEG_CLV_LOW: null, UF_CRM_SEG_CLV_HIGH: null, UF_CRM_SEG_PURCHASES_LOW: null, UF_CRM_SEG_PURCHASES_HIGH: null });
  });
});
