/**
 * The filter builder's rows for what a customer is (ui/src/filterModel.ts): each row becomes a
 * condition the server's schema accepts, comes back from it as the same row, and says what is
 * wrong with its input instead of dropping it.
 */
import { describe, expect, it } from 'vitest';
import { segmentFilterSchema } from '../../src/segments/index.js';
import { fromFilter, newRow, rowIssue, rowToCondition, toFilter, withCrmField, type Row } from '../../ui/src/filterModel.js';

const row = (kind: Row['kind'], o: Partial<Row> = {}): Row => ({ ...newRow(kind), ...o });

describe('customer rows', () => {
  const cases: Array<[Row, Record<string, unknown>]> = [
    [row('age', { min: '25', max: '40' }), { field: 'age', min: 25, max: 40 }],
    [row('post', { op: 'contains', text: 'manager, director' }), { field: 'post', op: 'contains', values: ['manager', 'director'] }],
    [row('post', { op: 'empty' }), { field: 'post', op: 'empty' }],
    [row('created', { from: '2025-01-01', min: '90' }), { field: 'created', from: '2025-01-01', to: null, days: 90 }],
    [row('company_industry', { op: 'not_in', values: ['IT'] }), { field: 'company_industry', op: 'not_in', values: ['IT'] }],
    [row('company_size', { values: ['EMPLOYEES_2', 'EMPLOYEES_3'] }), { field: 'company_size', op: 'in', values: ['EMPLOYEES_2', 'EMPLOYEES_3'] }],
    [row('company_revenue', { min: '1 000 000' }), { field: 'company_revenue', min: 1_000_000, max: null }],
    [row('responsible', { op: 'not_in', values: ['3', '7'] }), { field: 'responsible', op: 'not_in', values: [3, 7] }],
    [{ ...withCrmField(newRow('crm'), 'UF_CRM_TIER', 'list'), values: ['12'] }, { field: 'crm', key: 'UF_CRM_TIER', op: 'in', values: ['12'] }],
    [{ ...withCrmField(newRow('crm'), 'COMMENTS', 'text'), text: ' fair ' }, { field: 'crm', key: 'COMMENTS', op: 'contains', value: 'fair' }],
    [{ ...withCrmField(newRow('crm'), 'UF_CRM_BUDGET', 'number'), min: '1000,5' }, { field: 'crm', key: 'UF_CRM_BUDGET', op: 'range', min: 1000.5, max: null }],
    [{ ...withCrmField(newRow('crm'), 'UF_CRM_VISITED', 'date'), to: '2025-05-01' }, { field: 'crm', key: 'UF_CRM_VISITED', op: 'dates', from: null, to: '2025-05-01' }],
    [{ ...withCrmField(newRow('crm'), 'OPENED', 'bool'), bool: false }, { field: 'crm', key: 'OPENED', op: 'is', value: 'N' }],
    [{ ...withCrmField(newRow('crm'), 'UTM_SOURCE', 'text'), op: 'empty' }, { field: 'crm', key: 'UTM_SOURCE', op: 'empty' }],
  ];
  it('each row → a condition the server accepts → the same condition again', () => {
    for (const [r, want] of cases) {
      const c = rowToCondition(r);
      expect(c, JSON.stringify(want)).toEqual(want);
      const f = toFilter([r], '');
      expect(segmentFilterSchema.safeParse(f).success, JSON.stringify(want)).toBe(true);
      const back = fromFilter(f).rows[0]!;
      expect(rowToCondition(back), JSON.stringify(want)).toEqual(want);
    }
  });
  it('an incomplete row is no condition yet', () => {
    for (const r of [row('age'), row('post', { op: 'in' }), row('created'), row('company_industry'), row('crm'), withCrmField(newRow('crm'), 'COMMENTS', 'text')]) {
      expect(rowToCondition(r), r.kind).toBeNull();
    }
  });
  it('wrong input is said at the row', () => {
    expect(rowIssue(row('age', { min: '-1' }))?.key).toBe('errAge');
    expect(rowIssue(row('age', { min: '30.5' }))?.key).toBe('errAge');
    expect(rowIssue(row('age', { min: '50', max: '40' }))?.key).toBe('errMinMax');
    expect(rowIssue(row('age', { min: 'abc' }))?.key).toBe('errNumber');
    expect(rowIssue(row('created', { from: '2025-02-01', to: '2025-01-01' }))?.key).toBe('errDateOrder');
    expect(rowIssue(row('created', { min: 'x' }))?.key).toBe('errNumber');
    expect(rowIssue(row('company_revenue', { min: '5', max: '1' }))?.key).toBe('errMinMax');
    expect(rowIssue({ ...withCrmField(newRow('crm'), 'UF_CRM_BUDGET', 'number'), min: 'ten' })?.key).toBe('errNumber');
    expect(rowIssue({ ...withCrmField(newRow('crm'), 'UF_CRM_VISITED', 'date'), from: '2025-03-01', to: '2025-01-01' })?.key).toBe('errDateOrder');
    expect(rowToCondition(row('age', { min: '-1' }))).toBeNull();
  });
});
