/**
 * The cost model's prediction for one call, as a small stable interface for outside readers (the
 * probe, src/probe): given the method, its cost kind, the rows it returned and the shape of the
 * query, how much server time (`time.processing`, seconds) does the emulator predict? A thin layer
 * over `Limits.cost`; the current model ignores `startNonNegative` and `filterComplexity`.
 */
import { Limits, type LimitsOptions } from './limits.js';
import type { CostKind } from './types.js';

export interface CostQuery {
  /** Lower-case method name. */
  method: string;
  kind: CostKind;
  /** Rows the call returned (list calls). */
  rows?: number;
  /** start >= 0 (a counted page) rather than start=-1. */
  startNonNegative?: boolean;
  /** Number of filter conditions. */
  filterComplexity?: number;
}

/** Predicted `time.processing` in seconds under the default cost model, or under `costs` when given. */
export function predictProcessing(q: CostQuery, costs?: LimitsOptions['costs']): number {
  return new Limits({ costs }).cost(q.method, q.kind, q.rows);
}
