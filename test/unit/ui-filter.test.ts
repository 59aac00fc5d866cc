/** Filter AST validation, SQL compilation (parameters only), the UI's row model and sessions. */
import { describe, expect, it } from 'vitest';
import { compileFilter, needsContacts, segmentFilterSchema, type SegmentFilter } from '../../src/segments/index.js';
import { signSession, verifySession } from '../../src/server/ui-api/session.js';
import { uiLang, segmentLabel, lifecycleLabel } from '../../src/server/ui-api/labels.js';
import { SEGMENT_CODES, LIFECYCLE_CODES } from '../../src/scoring/index.js';
import { decodeState, encodeState, fromFilter, newRow, rowIssue, rowToCondition, toFilter, type Kind } from '../../ui/src/filterModel.js';

describe('filter AST', () => {
  it('rejects unknown fields, bad UF keys, bad dates and bad segment codes', () => {
    for (const bad of [
      { all: [{ field: 'sql', values: ['x'] }] },
      { all: [{ field: 'uf', key: "UF_CRM_X'; DROP TABLE contacts; --", op: 'eq', value: 'a' }] },
      { all: [{ field: 'last_purchase', from: '2024-1-1' }] },
      { all: [{ field: 'segment', values: ['vip'] }] },
      { all: [{ field: 'range', key: 'contact_id', min: 1 }] },
    ]) expect(segmentFilterSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });

  it('compiles to placeholders: user text never enters the SQL string', () => {
    const evil = "x' OR 1=1 --";
    const f = segmentFilterSchema.parse({
      all: [
        { field: 'segment', values: ['champions', 'loyal'] },
        { field: 'city', op: 'contains', values: [evil] },
        { field: 'uf', key: 'UF_CRM_SOURCE', op: 'eq', value: evil },
        { field: 'interests', mode: 'all', values: [evil, 'bikes'] },
        { field: 'range', key: 'p_alive', min: 0.5, max: null },
        { field: 'last_purchase', from: '2024-01-01', to: '2024-12-31' },
        { field: 'reachable', value: true },
      ],
      exclude: { all: [{ field: 'sleeping', value: true }] },
    });
    const q = compileFilter(7, 9, f);
    expect(q.fromWhere).not.toContain(evil);
    expect(q.fromWhere).not.toContain('OR 1=1');
    expect(q.params[0]).toBe(7);
    expect(q.params[1]).toBe(9);
    expect(q.params).toContainEqual(['champions', 'loyal']);
    expect(q.params).toContain(`%x' OR 1=1 --%`);
    expect(q.fromWhere).toContain('JOIN contacts c');
    expect(q.fromWhere).toMatch(/NOT COALESCE\(\(\(NOT l\.sleeping\)|NOT COALESCE\(\(\(l\.sleeping\)\)/);
    // every placeholder has a parameter
    const maxPh = Math.max(...[...q.fromWhere.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    expect(maxPh).toBe(q.params.length);
  });

  it('search, previous segment, relative purchase days, interests ever and fixed lists compile to placeholders', () => {
    const evil = "x' OR 1=1 --";
    const f = segmentFilterSchema.parse({
      all: [
        { field: 'search', text: evil },
        { field: 'prev_segment', values: ['at_risk'] },
        { field: 'range', key: 'next_purchase_days', max: 7 },
        { field: 'range', key: 'first_purchase_days', max: 30 },
        { field: 'interests', when: 'ever', values: [evil] },
        { field: 'contact', ids: [1, 2] },
      ],
    });
    const q = compileFilter(7, 9, f, { searchIds: new Map([[evil.toLowerCase(), [42]]]) });
    expect(q.fromWhere).not.toContain(evil);
    expect(q.fromWhere).toContain('JOIN contacts c');
    expect(q.params).toContainEqual([42]);
    expect(q.params).toContainEqual([1, 2]);
    const maxPh = Math.max(...[...q.fromWhere.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    expect(maxPh).toBe(q.params.length);
    expect(segmentFilterSchema.safeParse({ all: [{ field: 'contact', ids: Array.from({ length: 1001 }, (_, i) => i + 1) }] }).success).toBe(false);
    expect(segmentFilterSchema.safeParse({ all: [{ field: 'search', text: '   ' }] }).success).toBe(false);
  });

  it('joins contacts only when a contact field is used (fast label-only counts)', () => {
    expect(needsContacts({ all: [{ field: 'segment', values: ['lost'] }] })).toBe(false);
    expect(compileFilter(1, 1, { all: [] }).fromWhere).toBe('FROM contact_labels l WHERE l.portal_id = $1 AND l.run_id = $2 AND TRUE');
    expect(needsContacts({ all: [], exclude: { all: [{ field: 'has_email', value: true }] } })).toBe(true);
  });

  it('inlines saved segments and refuses unknown or cyclic ones', () => {
    const saved = new Map<string, SegmentFilter>([
      ['vip', { all: [{ field: 'segment', values: ['champions'] }] }],
      ['loop', { all: [{ field: 'saved', id: 'loop' }] }],
    ]);
    const q = compileFilter(1, 1, { all: [], exclude: { all: [{ field: 'saved', id: 'vip' }] } }, { saved });
    expect(q.params).toContainEqual(['champions']);
    expect(() => compileFilter(1, 1, { all: [{ field: 'saved', id: 'nope' }] }, { saved })).toThrow(/not found/);
    expect(() => compileFilter(1, 1, { all: [{ field: 'saved', id: 'loop' }] }, { saved })).toThrow(/saved segment cycle: loop → loop/);
  });
});

describe('UI filter rows', () => {
  it('drops incomplete rows and accepts numbers from number inputs', () => {
    const seg = newRow('segment');
    const money = newRow('monetary');
    money.min = 1000 as unknown as string; // v-model on type=number
    const empty = newRow('clv');
    const f = toFilter([seg, money, empty], 'vip');
    expect(f).toEqual({ all: [{ field: 'range', key: 'monetary', min: 1000, max: null }], exclude: { all: [{ field: 'saved', id: 'vip' }] } });
    expect(segmentFilterSchema.safeParse(f).success).toBe(true);
  });

  it('round-trips every kind through the AST', () => {
    const rows = [newRow('segment'), newRow('interests'), newRow('rfm'), newRow('city'), newRow('uf'), newRow('last_purchase'), newRow('has_phone'), newRow('responsible')];
    rows[0]!.values = ['lost'];
    rows[1]!.values = ['bikes', 'tents'];
    rows[1]!.mode = 'all';
    rows[2]!.text = '555, 54x, 111';
    rows[3]!.text = 'Berlin, Kyiv';
    rows[4]!.key = 'UF_CRM_TIER';
    rows[4]!.op = 'eq';
    rows[4]!.text = 'gold';
    rows[5]!.from = '2024-01-01';
    rows[6]!.bool = false;
    rows[7]!.values = ['3', '5'];
    // a bad RFM cell is an error of the row, never silently dropped
    expect(rowIssue(rows[2]!)).toEqual({ key: 'errRfmCell', vars: { cell: '54x', n: 5 } });
    expect(rowToCondition(rows[2]!)).toBeNull();
    rows[2]!.text = '555, 111';
    const f = toFilter(rows, '', 'Ивано');
    expect(segmentFilterSchema.safeParse(f).success).toBe(true);
    expect(rowToCondition(rows[2]!)).toEqual({ field: 'rfm', values: ['555', '111'] });
    const back = fromFilter(f);
    expect(back.search).toBe('Ивано');
    expect(toFilter(back.rows, back.excludeSavedId, back.search)).toEqual(f);
  });

  it('a refusal-reason row becomes the refusal_reason condition and back; the schema bounds its values', () => {
    const row = Object.assign(newRow('refusal_reason'), { values: ['price', 'lost: out of stock'] });
    const f = toFilter([row], '', '');
    expect(f.all).toEqual([{ field: 'refusal_reason', values: ['price', 'lost: out of stock'] }]);
    expect(segmentFilterSchema.safeParse(f).success).toBe(true);
    expect(toFilter(fromFilter(f).rows, '', '')).toEqual(f);
    expect(rowToCondition(newRow('refusal_reason'))).toBeNull();
    // attacker input: too many values, a nested value, an empty one
    for (const values of [Array.from({ length: 101 }, (_, i) => `r${i}`), [{ $ne: 1 }], [''], []]) {
      expect(segmentFilterSchema.safeParse({ all: [{ field: 'refusal_reason', values }] }).success).toBe(false);
    }
    const q = compileFilter(7, 9, segmentFilterSchema.parse({ all: [{ field: 'refusal_reason', values: ["Price' OR 1=1 --"] }] }));
    expect(q.fromWhere).not.toContain('OR 1=1');
    expect(q.params).toContainEqual(["price' or 1=1 --"]);
    expect(needsContacts(segmentFilterSchema.parse({ all: [{ field: 'refusal_reason', values: ['x'] }] }))).toBe(false);
  });

  it('says what is wrong with a row instead of dropping it: not a number, min above max, a level off the scale, a cell like 999', () => {
    const bad = (kind: Kind, min: string, max = '') => Object.assign(newRow(kind), { min, max });
    expect(rowIssue(bad('monetary', 'abc'))).toEqual({ key: 'errNumber', vars: { v: 'abc' } });
    expect(rowIssue(bad('monetary', '500', '100'))).toEqual({ key: 'errMinMax', vars: { min: 500, max: 100 } });
    expect(rowIssue(bad('r', '6'))).toEqual({ key: 'errLevel', vars: { n: 5 } });
    expect(rowIssue(bad('r', '3'), 3)).toBeNull();
    expect(rowIssue(bad('p_alive', '120'))).toEqual({ key: 'errPercent' });
    expect(rowIssue(Object.assign(newRow('rfm'), { text: '999' }))).toEqual({ key: 'errRfmCell', vars: { cell: '999', n: 5 } });
    expect(rowIssue(Object.assign(newRow('rfm'), { text: '333' }), 3)).toBeNull();
    expect(rowIssue(Object.assign(newRow('last_purchase'), { from: '2026-05-01', to: '2026-01-01' }))).toEqual({ key: 'errDateOrder' });
    // numbers as typed in the user's language; the chance still buying in percent
    expect(rowToCondition(bad('monetary', '1 000,5'))).toEqual({ field: 'range', key: 'monetary', min: 1000.5, max: null });
    expect(rowToCondition(bad('p_alive', '50'))).toEqual({ field: 'range', key: 'p_alive', min: 0.5, max: null });
    expect(fromFilter({ all: [{ field: 'range', key: 'p_alive', min: 0.5, max: null }] }).rows[0]!.min).toBe('50');
  });

  it('the list state travels in the URL and back (filter, order, columns, page, view), a broken value starts fresh', () => {
    const st = { filter: { all: [{ field: 'search', text: 'Москва' }, { field: 'sleeping', value: true }] }, sort: 'clv', dir: 'asc' as const, columns: ['name', 'phone'], page: 3, view: 'Мои спящие' };
    const v = encodeState(st);
    expect(v).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeState(v)).toEqual(st);
    expect(decodeState('not-base64!')).toBeNull();
    expect(decodeState(undefined)).toBeNull();
  });
});

describe('sessions', () => {
  const secret = 's'.repeat(40);
  it('verifies, expires and rejects tampering', () => {
    const tok = signSession(secret, { p: 1, m: 'member', u: 5, a: false, l: 'ru' }, 60, 1_000_000);
    const s = verifySession(secret, tok, 1_000_000 + 1000);
    expect(s).toMatchObject({ p: 1, m: 'member', u: 5, a: false, l: 'ru' });
    expect(verifySession(secret, tok, 1_000_000 + 61_000)).toBe('expired');
    const [payload, sig] = tok.split('.');
    const forged = Buffer.from(JSON.stringify({ p: 1, m: 'member', u: 5, a: true, l: 'ru', exp: 9e9 })).toString('base64url');
    expect(verifySession(secret, `${forged}.${sig}`)).toBe('bad_signature');
    expect(verifySession('t'.repeat(40), tok, 1_000_000)).toBe('bad_signature');
    expect(verifySession(secret, payload)).toBe('malformed');
    expect(verifySession(secret, undefined)).toBe('missing');
  });
});

describe('languages', () => {
  it('maps Bitrix24 LANG codes (ua = Ukrainian)', () => {
    expect(uiLang('ua')).toBe('ua');
    expect(uiLang('uk')).toBe('ua');
    expect(uiLang('de')).toBe('de');
    expect(uiLang('by')).toBe('ru');
    expect(uiLang('fr')).toBe('en');
    expect(uiLang(null)).toBe('en');
  });

  it('every segment and lifecycle has a name in all five languages', () => {
    for (const l of ['en', 'ru', 'pl', 'de', 'ua'] as const) {
      for (const c of SEGMENT_CODES) expect(segmentLabel(c, l).name, `${c}/${l}`).toBeTruthy();
      for (const c of LIFECYCLE_CODES) expect(lifecycleLabel(c, l).name, `${c}/${l}`).toBeTruthy();
    }
    expect(segmentLabel('champions', 'ua').name).toBe('Чемпіони');
  });
});
