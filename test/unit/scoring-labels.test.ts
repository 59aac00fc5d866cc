import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatDay, parseIsoDay } from '../../src/scoring/dates.js';
import { summarizeCustomer } from '../../src/scoring/summary.js';
import { lifecycleStage } from '../../src/scoring/lifecycle.js';
import { ruleBasedPAlive, sleepingStatus } from '../../src/scoring/sleeping.js';
import { activeInterests, buildSectionIndex } from '../../src/scoring/interests.js';
import { diffRuns, sizesOverTime } from '../../src/scoring/history.js';
import { DEFAULT_SETTINGS, scoringSettingsSchema, type InterestMapEntry } from '../../src/scoring/settings.js';
import { scorePortal, SEGMENT_CODES, type CustomerInput } from '../../src/scoring/index.js';

const AS_OF = '2024-06-30';
const asOf = parseIsoDay(AS_OF);
const noResp = new Set(DEFAULT_SETTINGS.lifecycle.noResponseReasons.map((r) => r.toLowerCase()));
const daysAgo = (n: number) => formatDay(asOf - n);
const summarize = (c: Partial<CustomerInput>) => summarizeCustomer({ id: 'x', won: [], ...c }, asOf, noResp);

describe('purchase days', () => {
  it('merges same-day deals, nets refunds, drops days that net to ≤ 0, ignores deals after as-of', () => {
    const s = summarize({
      won: [
        { date: daysAgo(10), amount: 100 },
        { date: daysAgo(10), amount: 50 },
        { date: daysAgo(5), amount: 80 },
        { date: daysAgo(5), amount: -30 }, // partial refund: day worth 50
        { date: daysAgo(3), amount: 40 },
        { date: daysAgo(3), amount: -40 }, // full refund: no purchase
        { date: daysAgo(2), amount: 10 },
        { date: daysAgo(2), amount: -25 }, // over-refund: no purchase
        { date: daysAgo(-1), amount: 999 }, // future
      ],
    });
    expect(Array.from(s.days)).toEqual([asOf - 10, asOf - 5]);
    expect(Array.from(s.values)).toEqual([150, 50]);
  });
  it('a free order (all deals of the day are 0) is a purchase day of value 0, unless disabled', () => {
    const c: CustomerInput = { id: 'z', won: [{ date: daysAgo(1), amount: 0 }] };
    expect(summarizeCustomer(c, asOf, noResp).days).toHaveLength(1);
    expect(summarizeCustomer(c, asOf, noResp, false).days).toHaveLength(0);
  });
  it('thousands of purchases for one contact', () => {
    const won = Array.from({ length: 5000 }, (_, i) => ({ date: asOf - i, amount: 1 + (i % 7) }));
    const s = summarize({ won });
    expect(s.days).toHaveLength(5000);
    const sl = sleepingStatus(s.days, asOf, DEFAULT_SETTINGS.sleeping);
    expect(sl.medianGapDays).toBe(1);
    expect(sl.sleeping).toBe(false);
  });
  it('rejects a non-finite amount and a bad date', () => {
    expect(() => summarize({ won: [{ date: daysAgo(1), amount: NaN }] })).toThrow();
    expect(() => summarize({ won: [{ date: '2024-02-30', amount: 1 }] })).toThrow(/calendar date/);
  });
});

describe('lifecycle stages', () => {
  const L = DEFAULT_SETTINGS.lifecycle;
  const cases: [string, Partial<CustomerInput>, string, string | null][] = [
    ['no deals at all', {}, 'uninterested', null],
    ['only lost without response', { lost: [{ reason: 'Не отвечает' }, { reasonId: 'NO_RESPONSE' }] }, 'uninterested', null],
    ['lost with a real reason', { lost: [{ reason: 'No response' }, { reason: 'Too expensive', date: daysAgo(40) }, { reason: 'Chose a competitor', date: daysAgo(20) }] }, 'refused', 'Chose a competitor'],
    ['lost without any reason counts as refused', { lost: [{}] }, 'refused', null],
    ['open deal, no win', { openDeals: 1, lost: [{ reason: 'Too expensive' }] }, 'in_negotiation', null],
    ['one purchase', { won: [{ date: daysAgo(400), amount: 10 }], openDeals: 2 }, 'one_time', null],
    ['two purchase days', { won: [{ date: daysAgo(400), amount: 10 }, { date: daysAgo(300), amount: 10 }] }, 'returning', null],
    ['three purchase days but spread over years', { won: [{ date: daysAgo(900), amount: 1 }, { date: daysAgo(500), amount: 1 }, { date: daysAgo(10), amount: 1 }] }, 'returning', null],
    ['three purchase days within 12 months', { won: [{ date: daysAgo(300), amount: 1 }, { date: daysAgo(100), amount: 1 }, { date: daysAgo(10), amount: 1 }] }, 'regular', null],
    ['two deals on the same day are one purchase day', { won: [{ date: daysAgo(5), amount: 1 }, { date: daysAgo(5), amount: 2 }] }, 'one_time', null],
  ];
  it.each(cases)('%s → %s', (_name, c, stage, reason) => {
    const r = lifecycleStage(summarize(c), asOf, L);
    expect(r.stage).toBe(stage);
    expect(r.refusalReason).toBe(reason);
  });
  it('thresholds are configurable', () => {
    const s = summarize({ won: [{ date: daysAgo(300), amount: 1 }, { date: daysAgo(10), amount: 1 }] });
    const l2 = scoringSettingsSchema.parse({ lifecycle: { regularMinPurchaseDays: 2 } }).lifecycle;
    expect(lifecycleStage(s, asOf, l2).stage).toBe('regular');
    const l3 = scoringSettingsSchema.parse({ lifecycle: { regularWindowMonths: 6, regularMinPurchaseDays: 2 } }).lifecycle;
    expect(lifecycleStage(s, asOf, l3).stage).toBe('returning');
  });
});

describe('sleeping', () => {
  const S = DEFAULT_SETTINGS.sleeping;
  const days = (...ago: number[]) => Int32Array.from(ago.map((a) => asOf - a).sort((a, b) => a - b));
  it('repeat buyer: sleeps after missing one whole cycle beyond the expected date (> 2 × median gap)', () => {
    // gaps 30, 30, 40 → median 30; last purchase `since` days ago
    const hist = (since: number) => days(since + 100, since + 70, since + 40, since);
    expect(sleepingStatus(hist(60), asOf, S)).toMatchObject({ sleeping: false, medianGapDays: 30, daysOverdue: 30 });
    expect(sleepingStatus(hist(61), asOf, S).sleeping).toBe(true);
    const s = sleepingStatus(hist(10), asOf, S);
    expect(s.expectedNextDay).toBe(asOf + 20);
    expect(s.daysOverdue).toBe(0);
    // factor 2 ⇒ > 3 × gap
    expect(sleepingStatus(hist(61), asOf, { ...S, missedCycles: 2 }).sleeping).toBe(false);
    expect(sleepingStatus(hist(91), asOf, { ...S, missedCycles: 2 }).sleeping).toBe(true);
  });
  it('one-time buyer: day threshold, no expected date', () => {
    expect(sleepingStatus(days(180), asOf, S)).toMatchObject({ sleeping: false, expectedNextDay: null });
    expect(sleepingStatus(days(181), asOf, S).sleeping).toBe(true);
    expect(sleepingStatus(days(0), asOf, S).sleeping).toBe(false);
  });
  it('no purchases: not applicable', () => {
    expect(sleepingStatus(new Int32Array(0), asOf, S).sleeping).toBeNull();
  });
  it('rule-based P(alive) is 1 while awake and halves per further missed cycle', () => {
    const awake = sleepingStatus(days(100, 70, 40), asOf, S);
    expect(ruleBasedPAlive(awake, S)).toBe(1);
    const asleep = sleepingStatus(days(150, 120, 90), asOf, S); // gap 30, since 90 = 3 cycles
    expect(ruleBasedPAlive(asleep, S)).toBeCloseTo(0.5, 12);
  });
});

describe('interests', () => {
  const tree = [
    { id: 1, parentId: null, name: 'Furniture' },
    { id: 2, parentId: 1, name: 'Kitchens' },
    { id: 3, parentId: null, name: 'Kids' },
    { id: 4, parentId: 3, name: 'Strollers' },
    { id: 5, parentId: 4, name: 'City strollers' },
    { id: 6, parentId: null, name: 'Books' },
  ];
  const map: InterestMapEntry[] = [
    { sectionId: 2, tag: 'kitchen', windowDays: 30, related: [] },
    { sectionId: 4, tag: 'stroller', windowDays: 90, related: [{ tag: 'kids_goods', windowDays: 1095 }] },
  ];
  const idx = buildSectionIndex(tree);
  const byId = new Map(map.map((e) => [e.sectionId, e]));
  const I = { ...DEFAULT_SETTINGS.interests, map };
  it('kitchen a month ago says little; a stroller implies kids goods for years', () => {
    const kitchenOld = activeInterests(new Map([[2, asOf - 45]]), asOf, I, idx, byId);
    expect(kitchenOld).toEqual([]);
    const kitchenNew = activeInterests(new Map([[2, asOf - 10]]), asOf, I, idx, byId);
    expect(kitchenNew).toEqual([{ tag: 'kitchen', name: 'kitchen', expiresOn: formatDay(asOf + 20), implied: false }]);
    const stroller = activeInterests(new Map([[5, asOf - 400]]), asOf, I, idx, byId); // child of a mapped section
    expect(stroller).toEqual([{ tag: 'kids_goods', name: 'kids_goods', expiresOn: formatDay(asOf - 400 + 1095), implied: true }]);
  });
  it('unmapped sections become tags at the configured depth with the default window', () => {
    const d1 = activeInterests(new Map([[6, asOf - 5]]), asOf, I, idx, byId);
    expect(d1).toEqual([{ tag: 'section:6', name: 'Books', expiresOn: formatDay(asOf + 360), implied: false }]);
    const deep = activeInterests(new Map([[5, asOf - 5]]), asOf, { ...I, map: [], depth: 2 }, idx, new Map());
    expect(deep.map((t) => t.name)).toEqual(['Strollers']);
    const top = activeInterests(new Map([[5, asOf - 5]]), asOf, { ...I, map: [], depth: 1 }, idx, new Map());
    expect(top.map((t) => t.name)).toEqual(['Kids']);
  });
  it('the same tag from two sources keeps the later expiry', () => {
    const two = activeInterests(new Map([[4, asOf - 80], [5, asOf - 10]]), asOf, I, idx, byId);
    expect(two.find((t) => t.tag === 'stroller')!.expiresOn).toBe(formatDay(asOf + 80));
  });
});

describe('history', () => {
  it('keeps the previous segment and the change date', () => {
    const prev = [
      { id: 'a', segment: 'loyal' as const, prevSegment: 'new' as const, changedAt: '2024-05-01' },
      { id: 'b', segment: 'loyal' as const, prevSegment: null, changedAt: '2024-04-01' },
      { id: 'gone', segment: 'lost' as const, prevSegment: null, changedAt: '2024-04-01' },
    ];
    const next = [
      { id: 'a', segment: 'loyal' as const },
      { id: 'b', segment: 'at_risk' as const },
      { id: 'c', segment: 'new' as const },
    ];
    const d = diffRuns(prev, next, '2024-06-01');
    expect(d.labels).toEqual([
      { id: 'a', segment: 'loyal', prevSegment: 'new', changedAt: '2024-05-01', changed: false },
      { id: 'b', segment: 'at_risk', prevSegment: 'loyal', changedAt: '2024-06-01', changed: true },
      { id: 'c', segment: 'new', prevSegment: null, changedAt: '2024-06-01', changed: true },
    ]);
    expect(d.sizes.loyal).toBe(1);
    expect(d.previousSizes.loyal).toBe(2);
    expect(d.removed).toEqual(['gone']);
    expect(d.transitions).toContainEqual({ from: 'loyal', to: 'at_risk', count: 1 });
    expect(sizesOverTime([{ runAt: 'r1', labels: next }])[0]!.sizes.new).toBe(1);
  });
});

describe('scorePortal', () => {
  it('edge cases: no purchases, a single purchase today, zero amounts, refunds', () => {
    const run = scorePortal({
      asOf: AS_OF,
      customers: [
        { id: 'none', won: [] },
        { id: 'today', won: [{ date: AS_OF, amount: 100 }] },
        { id: 'free', won: [{ date: daysAgo(3), amount: 0 }] },
        { id: 'refunded', won: [{ date: daysAgo(3), amount: 50 }, { date: daysAgo(3), amount: -50 }], lost: [{ reason: 'no response' }] },
      ],
    });
    const by = new Map(run.customers.map((c) => [c.id, c]));
    expect(by.get('none')).toMatchObject({ segment: 'no_purchases', lifecycle: 'uninterested', rfm: null, sleeping: null, pAlive: 0, predictedClv: 0 });
    expect(by.get('today')).toMatchObject({ recencyDays: 0, frequency: 1, lifecycle: 'one_time', sleeping: false, valueSource: 'rules' });
    expect(by.get('free')).toMatchObject({ frequency: 1, monetary: 0, lifecycle: 'one_time' });
    expect(by.get('refunded')).toMatchObject({ segment: 'no_purchases', lifecycle: 'uninterested' });
    expect(run.models.bgnbd.status).toBe('insufficient_data');
    expect(run.models.bgnbd.reason).toMatch(/at least 30/);
    expect(run.warnings.some((w) => w.includes('BG/NBD'))).toBe(true);
    for (const c of run.customers) expect(Number.isFinite(c.predictedClv)).toBe(true);
  });

  it('empty portal', () => {
    const run = scorePortal({ asOf: AS_OF, customers: [] });
    expect(run.customers).toEqual([]);
    expect(run.thresholds).toBeNull();
  });

  const customerArb = fc.record({
    won: fc.array(fc.record({ ago: fc.integer({ min: 0, max: 1500 }), amount: fc.integer({ min: -50, max: 5000 }) }), { maxLength: 12 }),
    open: fc.integer({ min: 0, max: 2 }),
    lost: fc.array(fc.constantFrom('no response', 'Too expensive', ''), { maxLength: 2 }),
  });
  it('every customer gets exactly one known segment and lifecycle stage; thresholds explain the levels (property)', () => {
    fc.assert(
      fc.property(fc.array(customerArb, { maxLength: 60 }), fc.constantFrom(3 as const, 5 as const), fc.constantFrom('quantile' as const, 'fixed' as const), (cs, scale, mode) => {
        const customers = cs.map((c, i) => ({
          id: `c${i}`,
          won: c.won.map((w) => ({ date: asOf - w.ago, amount: w.amount })),
          openDeals: c.open,
          lost: c.lost.map((reason) => ({ reason })),
        }));
        const run = scorePortal({ asOf: AS_OF, customers }, { rfm: { scale, mode } });
        expect(run.customers).toHaveLength(customers.length);
        expect(Object.values(run.segmentSizes).reduce((a, b) => a + b, 0)).toBe(customers.length);
        for (const c of run.customers) {
          expect(SEGMENT_CODES).toContain(c.segment);
          expect((c.segment === 'no_purchases') === (c.rfm === null)).toBe(true);
          if (c.rfm !== null) {
            expect(c.rfm).toHaveLength(3);
            expect(c.r).toBe(Math.min(scale, Math.max(1, c.r!)));
            // levels are reproducible from the stored thresholds
            expect(run.thresholds).not.toBeNull();
          }
          expect(Number.isFinite(c.predictedClv) && c.predictedClv >= 0).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('uses the models when enough customers repeat, and falls back to rules otherwise', () => {
    // 300 synthetic customers following the models' story (seeded): rate λ ~ Gamma(2)/40 per day,
    // drop-out after each purchase with p ~ U(0.02, 0.3), spend ~ customer mean × U(0.5, 1.5)
    let seed = 1;
    const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const exp = () => -Math.log(1 - rand());
    const customers: CustomerInput[] = Array.from({ length: 300 }, (_, i) => {
      const lambda = (exp() + exp()) / 40;
      const pDrop = 0.02 + 0.28 * rand();
      const meanSpend = 50 * (exp() + exp() + exp());
      let d = 100 + Math.floor(rand() * 600); // days ago of the first purchase
      const won = [{ date: asOf - d, amount: Math.round(meanSpend * (0.5 + rand())) }];
      for (;;) {
        if (rand() < pDrop) break;
        d -= Math.max(1, Math.round(exp() / lambda));
        if (d < 0) break;
        won.push({ date: asOf - d, amount: Math.round(meanSpend * (0.5 + rand())) });
      }
      return { id: `k${i}`, won };
    });
    const run = scorePortal({ asOf: AS_OF, customers }, { models: { timeUnit: 'day' } });
    expect([run.models.bgnbd.status, run.models.bgnbd.reason, run.models.gammagamma.reason]).toEqual(['ok', null, null]);
    expect(run.models.gammagamma.status).toBe('ok');
    const modelled = run.customers.filter((c) => c.valueSource === 'models');
    expect(modelled.length).toBe(300);
    // recent frequent buyers are more alive than long-gone ones
    const recent = run.customers.filter((c) => c.recencyDays! < 30 && c.frequency > 5);
    const gone = run.customers.filter((c) => c.recencyDays! > 400 && c.frequency > 5);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    if (recent.length && gone.length) expect(mean(recent.map((c) => c.pAlive))).toBeGreaterThan(mean(gone.map((c) => c.pAlive)));
    const fallback = scorePortal({ asOf: AS_OF, customers }, { models: { minRepeatCustomers: 10_000 } });
    expect(fallback.models.bgnbd.status).toBe('insufficient_data');
    expect(fallback.customers.every((c) => c.valueSource === 'rules')).toBe(true);
    const disabled = scorePortal({ asOf: AS_OF, customers }, { models: { enabled: false } });
    expect(disabled.models.gammagamma.status).toBe('disabled');
  });
});
