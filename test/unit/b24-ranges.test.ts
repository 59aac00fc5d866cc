import { describe, expect, it } from 'vitest';
import { nextWidth, planRanges, settleRange } from '../../src/b24/ranges.js';
import { itemRowToLegacy, legacyFilterToItem } from '../../src/b24/fields.js';

describe('range splitting', () => {
  it('plans consecutive half-open ranges up to maxId inclusive', () => {
    expect(planRanges(1, 120, 50, 10)).toEqual([{ lo: 1, hi: 51 }, { lo: 51, hi: 101 }, { lo: 101, hi: 121 }]);
    expect(planRanges(1, 1000, 50, 2)).toHaveLength(2);
    expect(planRanges(200, 100, 50, 5)).toEqual([]);
  });

  it('a range of ≤50 IDs is complete after one call even when it returns 50 rows', () => {
    const ids = Array.from({ length: 50 }, (_, i) => i + 1);
    expect(settleRange({ lo: 1, hi: 51 }, ids)).toEqual({ done: true });
  });

  it('a wide range that returned 50 rows re-queues its remainder', () => {
    const ids = Array.from({ length: 50 }, (_, i) => 100 + i * 2);
    expect(settleRange({ lo: 100, hi: 400 }, ids)).toEqual({ done: false, rest: { lo: 199, hi: 400 } });
    expect(settleRange({ lo: 100, hi: 400 }, ids.slice(0, 49))).toEqual({ done: true });
  });

  it('adapts the width to density, never below 50', () => {
    expect(nextWidth(2500, 2500)).toBe(50); // dense IDs
    expect(nextWidth(500, 2500)).toBe(200); // 1 row per 5 IDs → 40 rows per 200
    expect(nextWidth(0, 1000)).toBe(2000);
  });
});

describe('legacy ⇄ crm.item field mapping', () => {
  it('maps filter keys with operators', () => {
    expect(legacyFilterToItem({ '>ID': 5, '>DATE_MODIFY': 'x', '=ASSIGNED_BY_ID': 1, '@STAGE_ID': ['WON'] })).toEqual({
      '>id': 5, '>updatedTime': 'x', '=assignedById': 1, '@stageId': ['WON'],
    });
  });
  it('maps a crm.item deal row to the legacy shape', () => {
    expect(itemRowToLegacy({ id: 7, title: 'T', opportunity: 1200, currencyId: 'USD', updatedTime: '2024-01-01T00:00:00+00:00', contactId: 3, opened: 'Y', UF_CRM_X: 1 })).toEqual({
      ID: '7', TITLE: 'T', OPPORTUNITY: '1200.00', CURRENCY_ID: 'USD', DATE_MODIFY: '2024-01-01T00:00:00+00:00', CONTACT_ID: '3', OPENED: 'Y', UF_CRM_X: '1',
    });
  });
});
