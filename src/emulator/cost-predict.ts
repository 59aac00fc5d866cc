/**
 * The cost model's prediction for one call, as a small stable interface for outside readers (the
 * probe, src/probe; the benches): given the method, its cost kind, the rows it returned and the shape
 * of the query, how much server time (`time.processing`, seconds) does the emulator predict, and
 * would it be charged alone? A thin layer over costs.ts.
 */
import { costModel, isComplexFilter, processingOf, type CostModelPatch } from './costs.js';
import type { CostKind } from './types.js';

export interface CostQuery {
  /** Lower-case method name. */
  method: string;
  kind: CostKind;
  /** Rows the call returned (list calls). */
  rows?: number;
  /** start >= 0 (a counted page) rather than start=-1. */
  startNonNegative?: boolean;
  /** Rows matching the filter (the answer's `total` of a counted page); the count's cost is proportional. */
  matching?: number;
  /**
   * The filter's complexity: `true`/`false`, or the number of leaf conditions (>= 3 is complex).
   * Prefer `filter`, which also sees LIKE operators and logic groups.
   */
  filterComplexity?: number | boolean;
  /** The call's `filter` parameter; complexity is read from it (costs.ts `isComplexFilter`). */
  filter?: unknown;
}

function complex(q: CostQuery): boolean {
  if (q.filter !== undefined && isComplexFilter(q.filter)) return true;
  if (typeof q.filterComplexity === 'boolean') return q.filterComplexity;
  return (q.filterComplexity ?? 0) >= 3;
}

/** Predicted `time.processing` in seconds under the default cost model, or under `costs` when given. */
export function predictProcessing(q: CostQuery, costs?: CostModelPatch): number {
  return processingOf(costModel(costs), q.method, q.kind, {
    rows: q.rows,
    startNonNegative: q.startNonNegative,
    matching: q.matching,
    complexFilter: complex(q),
  });
}

/** Seconds the load limiter charges for `calls` such calls of one method in one HTTP request (0 under the floor). */
export function predictCharge(q: CostQuery, calls = 1, costs?: CostModelPatch): number {
  const model = costModel(costs);
  const sum = predictProcessing(q, costs) * calls;
  return sum > model.minimalFixTime ? Math.round(sum * 1e6) / 1e6 : 0;
}
