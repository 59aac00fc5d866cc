/**
 * A run's per-customer scores computed when they are consumed (issue 16 item 5: 1M customers under
 * 1 GB). A CustomerScore is ~1 KB live (half of it the interest tags), so a run that kept one per
 * customer needed ~1 GB at 1M before anything else; the view keeps the run's columns (~150 bytes a
 * customer) and the labeler, and builds customer i's score from them on `at(i)`. What a run counts
 * (segments, lifecycle stages, level drift) is read from the columns without building the scores.
 *
 * The scores are those scorePortal returns (it builds its array with a view): the labeler's result
 * depends only on the columns and the current thresholds. Relabelling with other thresholds
 * (pinning) is `relabelRun`: the thresholds are swapped and the segment sizes recounted.
 */
import { LIFECYCLE_CODES, type LifecycleCode, type SegmentCode } from './codes.js';
import { emptySizes } from './history.js';
import type { CustomerLabeler } from './labels.js';
import type { CustomerScore, ScoringRun } from './types.js';

type Thresholds = NonNullable<ScoringRun['thresholds']>;

export class ScoreView implements Iterable<CustomerScore> {
  constructor(private readonly labeler: CustomerLabeler) {}

  get length(): number {
    return this.labeler.count;
  }

  /** Customer i's whole score (a new object each time: keep it only as long as it is needed). */
  at(i: number): CustomerScore {
    return this.labeler.score(i);
  }

  id(i: number): string {
    return this.labeler.id(i);
  }

  isBuyer(i: number): boolean {
    return this.labeler.isBuyer(i);
  }

  segment(i: number): SegmentCode {
    return this.labeler.segment(i);
  }

  *[Symbol.iterator](): Iterator<CustomerScore> {
    const n = this.length;
    for (let i = 0; i < n; i++) yield this.at(i);
  }

  /** Customers per segment under the current thresholds (segmentSizes of the scores). */
  segmentSizes(): Record<SegmentCode, number> {
    const sizes = emptySizes();
    for (let i = 0; i < this.length; i++) sizes[this.labeler.segment(i)]++;
    return sizes;
  }

  /** Customers per lifecycle stage. */
  lifecycleSizes(): Record<LifecycleCode, number> {
    const sizes = Object.fromEntries(LIFECYCLE_CODES.map((c) => [c, 0])) as Record<LifecycleCode, number>;
    for (let i = 0; i < this.length; i++) sizes[this.labeler.lifecycle(i)]++;
    return sizes;
  }

  /** Share of buyers whose R, F or M level differs between the current thresholds and `th` (0 without buyers). */
  levelDrift(th: Thresholds): number {
    let buyers = 0;
    let moved = 0;
    for (let i = 0; i < this.length; i++) {
      if (!this.labeler.isBuyer(i)) continue;
      buyers++;
      if (this.labeler.levelsDiffer(i, th)) moved++;
    }
    return buyers ? moved / buyers : 0;
  }

  /** Later scores use `th`. */
  setThresholds(th: ScoringRun['thresholds']): void {
    this.labeler.setThresholds(th);
  }
}

/** A scoring run whose customers are a ScoreView (scorePortalView). */
export interface ScoredPortal extends Omit<ScoringRun, 'customers'> {
  customers: ScoreView;
}

/** Relabels a run with other thresholds: r/f/m/cell/segment of every later score, and the segment sizes. */
export function relabelRun(run: ScoredPortal, th: Thresholds): void {
  run.customers.setThresholds(th);
  run.thresholds = th;
  run.segmentSizes = run.customers.segmentSizes();
}
