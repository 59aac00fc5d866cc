/**
 * The write-back's plan as it is kept until its updates go out: per changed customer only its
 * id, its place in the order (tier, value: priority.ts) and its saved segment, in typed arrays
 * (21 bytes a customer). The changed values are computed again a page at a time, in this order,
 * right before they are written (plan.ts). Holding every update's values instead made a first
 * write-back of 1M contacts (1M updates of ~20 fields) peak at 994 and 1,284 MB, and run out of a
 * 640 MB V8 heap (issue 16 item 5, docs/benchmarks.md).
 */
import { comparePriority, type Tier } from './priority.js';
import type { SemValues } from './diff.js';

/** A planned update with its values, as a batch sends it. */
export interface Pending {
  id: number;
  changed: SemValues;
  /** the write-back order (priority.ts): tier, then value */
  tier: Tier;
  value: number;
  /** the app's own interest tags, recorded when the interests field is written (own-interests.ts) */
  own?: string[];
  /** the tags the app owned before (what it last wrote), to merge again with the portal's current value */
  owned?: string[];
}

/** One customer of the plan: its place in the order and its saved segment (null: none). */
export interface PlanEntry {
  id: number;
  tier: Tier;
  value: number;
  saved: string | null;
}

export class PlanOrder {
  private ids = new Float64Array(1024);
  private values = new Float64Array(1024);
  private tiers = new Uint8Array(1024);
  /** index into `codes`, -1: no saved segment */
  private saved = new Int32Array(1024);
  private readonly codes: string[] = [];
  private readonly codeIndex = new Map<string, number>();
  private order: Uint32Array | null = null;
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(e: PlanEntry): void {
    if (this.order) throw new Error('the plan is sorted: nothing can be added');
    if (this.n === this.ids.length) this.grow();
    const k = this.n++;
    this.ids[k] = e.id;
    this.values[k] = e.value;
    this.tiers[k] = e.tier;
    this.saved[k] = e.saved === null ? -1 : this.code(e.saved);
  }

  /** Puts the customers in write-back order (priority.ts: tier, value descending, id). */
  sort(): void {
    const { ids, values, tiers } = this;
    const order = new Uint32Array(this.n);
    for (let k = 0; k < this.n; k++) order[k] = k;
    order.sort((a, b) => comparePriority(tiers[a]!, values[a]!, ids[a]!, tiers[b]!, values[b]!, ids[b]!));
    this.order = order;
  }

  /** The k-th customer in write-back order (after sort). */
  at(k: number): PlanEntry {
    if (!this.order) throw new Error('the plan is not sorted');
    const i = this.order[k]!;
    const s = this.saved[i]!;
    return { id: this.ids[i]!, tier: this.tiers[i] as Tier, value: this.values[i]!, saved: s < 0 ? null : this.codes[s]! };
  }

  /** How many customers have this tier. */
  count(tier: Tier): number {
    let c = 0;
    for (let k = 0; k < this.n; k++) if (this.tiers[k] === tier) c++;
    return c;
  }

  private code(s: string): number {
    let i = this.codeIndex.get(s);
    if (i === undefined) {
      i = this.codes.push(s) - 1;
      this.codeIndex.set(s, i);
    }
    return i;
  }

  private grow(): void {
    const size = this.ids.length * 2;
    const copy = <T extends Float64Array | Uint8Array | Int32Array>(a: T, b: T): T => { b.set(a); return b; };
    this.ids = copy(this.ids, new Float64Array(size));
    this.values = copy(this.values, new Float64Array(size));
    this.tiers = copy(this.tiers, new Uint8Array(size));
    this.saved = copy(this.saved, new Int32Array(size));
  }
}
