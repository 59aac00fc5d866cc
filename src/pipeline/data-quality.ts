/**
 * The data-quality checks of a score run (issue 15 item 5; docs/data-quality.md): per check the
 * count of problem records, a sample of their ids, and how many of the run's customers would get
 * another segment without the problem ("moved"), computed by rescoring the run's own input with
 * the problem taken out and relabelling it as the next run would (pinned to this run's bounds
 * unless they drift too far: `relabel`, the run's pinning rule):
 *  - zeroWon:         won deals with amount 0 left out of every customer's purchases;
 *  - noRate:          won deals in a currency without a rate left out (their amount is in an
 *                     unknown currency: today it counts at face value);
 *  - duplicates:      the customers sharing an e-mail or phone merged into one (deals pooled);
 *                     each of them gets the merged customer's segment;
 *  - noCustomer,
 *    unlinkedRevenue: 0 by construction: such deals are in no customer's input, so taking them
 *                     out (or tying them to an unknown customer) changes no existing label.
 * A check warns when moved > WARN_SHARE of the run's customers.
 */
import { problemDeals, sharedChannels, unlinkedRevenue, type CustomerKind, type Db } from '../store/index.js';
import { scorePortalView, type CustomerInput, type ScoredPortal, type ScoringSettings, type SectionNode, type SegmentCode } from '../scoring/index.js';

export const WARN_SHARE = 0.01;
/** ids kept per check (links to single records) */
export const SAMPLE_SIZE = 20;

export const DQ_CHECKS = ['zeroWon', 'noCustomer', 'noRate', 'duplicates', 'unlinkedRevenue'] as const;
export type DqCheckKey = (typeof DQ_CHECKS)[number];

export interface DqCheck {
  key: DqCheckKey;
  /** what the ids are: deals, or customers of the run's kind */
  records: 'deal' | 'contact' | 'company';
  count: number;
  sample: number[];
  /** customers whose segment would differ without the problem */
  moved: number;
  /** duplicates: groups of customers sharing a value */
  groups?: number;
  /** noRate: the currencies without a rate */
  currencies?: string[];
  /** unlinkedRevenue: share of the won revenue (base currency) in those deals; null: no revenue */
  share?: number | null;
}

export interface DataQuality {
  kind: CustomerKind;
  customers: number;
  warnShare: number;
  checks: DqCheck[];
}

/** What rescoring needs besides the input: the run's day, settings, sections, and its relabelling rule. */
export interface DqContext {
  asOfDay: string;
  settings: ScoringSettings;
  sections: SectionNode[];
  /** relabels a counterfactual run as the next run would be relabelled against `actual` (threshold pinning) */
  relabel: (cf: ScoredPortal, actual: ScoredPortal) => void;
}

/** A run's input; one that tells its length gets its columns sized at once (scorePortal). */
type Input = Iterable<CustomerInput> & { readonly length?: number };

const mergedId = (group: number): string => `dup:${group}`;
const isMerged = (id: string): boolean => id.startsWith('dup:');

/**
 * Customers whose segment differs between the run and a rescoring of `input`; `group` maps a
 * duplicate to its group, whose merged customer `input` holds instead (mergedInput). A rescoring
 * drops, merges or changes customers but never reorders them, so the two runs are compared walking
 * both at once (no map of a million segments): only the merged customers' segments are looked up.
 */
function moved(actual: ScoredPortal, input: Input, k: DqContext, group: ReadonlyMap<number, number> = new Map()): number {
  // a segment is the R, F and M levels' (and the rules'): the value models (BG/NBD, Gamma-Gamma) are not fitted
  const rfmOnly: ScoringSettings = { ...k.settings, models: { ...k.settings.models, enabled: false } };
  const cf = scorePortalView({ asOf: k.asOfDay, customers: input, sections: k.sections }, rfmOnly);
  k.relabel(cf, actual);
  const a = actual.customers;
  const c = cf.customers;
  const mergedSeg = new Map<string, SegmentCode>();
  for (let j = 0; j < c.length; j++) if (isMerged(c.id(j))) mergedSeg.set(c.id(j), c.segment(j));
  let n = 0;
  for (let i = 0, j = 0; i < a.length; i++) {
    const g = group.get(Number(a.id(i)));
    let seg: SegmentCode | undefined;
    if (g !== undefined) seg = mergedSeg.get(mergedId(g));
    else {
      while (j < c.length && isMerged(c.id(j))) j++;
      if (j === c.length || c.id(j) !== a.id(i)) throw new Error(`data quality: customer ${a.id(i)} is not in the rescoring at its place`);
      seg = c.segment(j++);
    }
    if (seg !== a.segment(i)) n++;
  }
  return n;
}

/** The customers of `input` as `f` maps them, one at a time (each pass over the input is a pass over the result). */
const mapped = (input: Input, f: (c: CustomerInput) => CustomerInput): Input => ({
  length: input.length,
  *[Symbol.iterator]() {
    for (const c of input) yield f(c);
  },
});

/** Moved by leaving the given won deals out (0 without rescoring when no customer holds one). */
function movedWithout(actual: ScoredPortal, input: Input, deals: ReadonlySet<number>, k: DqContext): number {
  if (!deals.size || !someCustomer(input, (c) => c.won.some((d) => d.id !== undefined && deals.has(d.id)))) return 0;
  return moved(actual, mapped(input, (c) => ({ ...c, won: c.won.filter((d) => d.id === undefined || !deals.has(d.id)) })), k);
}

function someCustomer(input: Iterable<CustomerInput>, test: (c: CustomerInput) => boolean): boolean {
  for (const c of input) if (test(c)) return true;
  return false;
}

/** Groups (connected components) of customers linked by shared values: customer id → group's first id. */
export function duplicateGroups(shared: readonly number[][]): Map<number, number> {
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    while (parent.get(r) !== undefined && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  for (const ids of shared) {
    for (const id of ids) if (!parent.has(id)) parent.set(id, id);
    for (const id of ids.slice(1)) {
      const a = find(ids[0]!);
      const b = find(id);
      if (a !== b) parent.set(Math.max(a, b), Math.min(a, b));
    }
  }
  return new Map([...parent.keys()].map((id) => [id, find(id)]));
}

/**
 * The input with each group of duplicates merged into one customer (id `dup:<first id>`, deals pooled
 * once) at its first member's place. The merged customers are built in a first pass; the others are
 * passed through as the input yields them (the input is not copied).
 */
function mergedInput(input: Iterable<CustomerInput>, group: ReadonlyMap<number, number>): Iterable<CustomerInput> {
  const merged = new Map<number, CustomerInput & { won: CustomerInput['won'][number][]; lost: NonNullable<CustomerInput['lost']>[number][] }>();
  // the group's first member in the input: where its merged customer goes
  const firstOf = new Map<number, string>();
  for (const c of input) {
    const g = group.get(Number(c.id));
    if (g === undefined) continue;
    let m = merged.get(g);
    if (!m) {
      m = { id: mergedId(g), kind: c.kind, createdAt: c.createdAt ?? null, won: [], lost: [], openDeals: 0 };
      merged.set(g, m);
      firstOf.set(g, c.id);
    }
    const seen = new Set(m.won.map((d) => d.id));
    m.won.push(...c.won.filter((d) => d.id === undefined || !seen.has(d.id)));
    m.lost.push(...(c.lost ?? []));
    m.openDeals = (m.openDeals ?? 0) + (c.openDeals ?? 0);
    if (c.createdAt && (!m.createdAt || String(c.createdAt) < String(m.createdAt))) m.createdAt = c.createdAt;
  }
  return {
    *[Symbol.iterator]() {
      for (const c of input) {
        const g = group.get(Number(c.id));
        if (g === undefined) yield c;
        else if (firstOf.get(g) === c.id) yield merged.get(g)!;
      }
    },
  };
}

const sample = (ids: readonly number[]) => ids.slice(0, SAMPLE_SIZE);

/**
 * The checks for one kind of customer of a run. `input` is the run's scoring input (won deals with
 * their ids), `actual` the run after its thresholds were settled.
 */
export async function dataQualityOf(
  db: Db, portalId: number, kind: CustomerKind, input: Input, actual: ScoredPortal, k: DqContext,
): Promise<DataQuality> {
  const deals = await problemDeals(db, portalId);
  const unlinked = await unlinkedRevenue(db, portalId, kind);
  const group = duplicateGroups(await sharedChannels(db, portalId, kind));
  const dupIds = [...group.keys()].sort((a, b) => a - b);
  const dupMoved = group.size ? moved(actual, mergedInput(input, group), k, group) : 0;
  const checks: DqCheck[] = [
    { key: 'zeroWon', records: 'deal', count: deals.zeroWon.length, sample: sample(deals.zeroWon), moved: movedWithout(actual, input, new Set(deals.zeroWon), k) },
    { key: 'noCustomer', records: 'deal', count: deals.noCustomer.length, sample: sample(deals.noCustomer), moved: 0 },
    {
      key: 'noRate', records: 'deal', count: deals.noRate.length, sample: sample(deals.noRate), currencies: deals.noRateCurrencies,
      moved: movedWithout(actual, input, new Set(deals.noRate), k),
    },
    { key: 'duplicates', records: kind, count: dupIds.length, sample: sample(dupIds), groups: new Set(group.values()).size, moved: dupMoved },
    { key: 'unlinkedRevenue', records: 'deal', count: unlinked.deals.length, sample: sample(unlinked.deals), share: unlinked.share, moved: 0 },
  ];
  return { kind, customers: actual.customers.length, warnShare: WARN_SHARE, checks };
}
