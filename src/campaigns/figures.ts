/**
 * Treatment vs holdout figures from the members' won deals, pure (no I/O; measure.ts reads the
 * store). Days are 'YYYY-MM-DD' strings.
 *
 *  - The campaign: every member of each group, purchases with a day in [from, to).
 *  - A step planned on day P: the members of each group who had not converted (no won deal in
 *    [start, P]) — treatment members who had were dropped from the step, and the holdout members
 *    who had are left out the same way, so both groups are alike — and their purchases in (P, to).
 *
 * Per group: members, reached (sends done), converted (≥ 1 won deal), conversion rate, purchases,
 * revenue and margin per member. Lift (relative, of purchases per member, 90 % interval), the
 * conversion difference (90 % interval) and the incremental revenue and margin
 * = (per member in treatment − per member in holdout) × treatment members: lift.ts.
 */
import type { CampaignGroup } from './group.js';
import { conversionDifference, isSignificant, relativeLift, type Interval, type Sums } from './lift.js';

export interface MemberDeal {
  day: string;
  amount: number;
  margin: number;
}

export interface MemberOutcome {
  id: number;
  grp: CampaignGroup;
  /** the member's won deals with a day in [start, window end) */
  deals: readonly MemberDeal[];
}

export interface GroupFigures {
  members: number;
  reached: number;
  converted: number;
  conversionRate: number | null;
  purchases: number;
  revenue: number;
  margin: number;
  purchasesPerMember: number | null;
  revenuePerMember: number | null;
  marginPerMember: number | null;
}

export interface Comparison {
  groups: { treatment: GroupFigures; holdout: GroupFigures };
  /** relative lift of purchases per member, and its 90 % interval */
  lift: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  significant: boolean;
  /** conversion rate, treatment − holdout, with its 90 % interval */
  conversionDiff: Interval | null;
  incrementalRevenue: number | null;
  incrementalMargin: number | null;
}

export interface CompareOptions {
  /** purchases counted with from ≤ day < to (from exclusive when `after` is set: day > after) */
  from: string;
  to: string;
  /** a step's plan day: members with a purchase in [from, after] are left out, and purchases count from the next day */
  after?: string;
  /** sends done per group (the holdout gets none) */
  reached?: Partial<Record<CampaignGroup, number>>;
}

interface Acc {
  figures: GroupFigures;
  purchases: Sums;
}

const emptyAcc = (): Acc => ({
  figures: { members: 0, reached: 0, converted: 0, conversionRate: null, purchases: 0, revenue: 0, margin: 0, purchasesPerMember: null, revenuePerMember: null, marginPerMember: null },
  purchases: { n: 0, sum: 0, sumSq: 0 },
});

function add(acc: Acc, deals: readonly MemberDeal[]): void {
  const f = acc.figures;
  f.members++;
  if (deals.length) f.converted++;
  f.purchases += deals.length;
  for (const d of deals) {
    f.revenue += d.amount;
    f.margin += d.margin;
  }
  acc.purchases.n++;
  acc.purchases.sum += deals.length;
  acc.purchases.sumSq += deals.length ** 2;
}

function finish(acc: Acc, reached: number): GroupFigures {
  const f = acc.figures;
  const per = (x: number) => (f.members ? x / f.members : null);
  return {
    ...f, reached, conversionRate: per(f.converted), purchasesPerMember: per(f.purchases), revenuePerMember: per(f.revenue), marginPerMember: per(f.margin),
  };
}

/** Treatment vs holdout over `members` (see the module comment). */
export function compareGroups(members: readonly MemberOutcome[], o: CompareOptions): Comparison {
  const acc = { treatment: emptyAcc(), holdout: emptyAcc() };
  for (const m of members) {
    if (o.after !== undefined && m.deals.some((d) => d.day >= o.from && d.day <= o.after!)) continue;
    const lo = o.after ?? o.from;
    add(acc[m.grp], m.deals.filter((d) => (o.after !== undefined ? d.day > lo : d.day >= lo) && d.day < o.to));
  }
  const t = finish(acc.treatment, o.reached?.treatment ?? 0);
  const h = finish(acc.holdout, o.reached?.holdout ?? 0);
  const lift = relativeLift(acc.treatment.purchases, acc.holdout.purchases);
  const inc = (a: number | null, b: number | null) => (a === null || b === null ? null : (a - b) * t.members);
  return {
    groups: { treatment: t, holdout: h },
    lift: lift?.estimate ?? null, ciLow: lift?.low ?? null, ciHigh: lift?.high ?? null, significant: isSignificant(lift),
    conversionDiff: conversionDifference(t.converted, t.members, h.converted, h.members),
    incrementalRevenue: inc(t.revenuePerMember, h.revenuePerMember),
    incrementalMargin: inc(t.marginPerMember, h.marginPerMember),
  };
}
