/**
 * GET /dashboard/backtest?run=run:<id> (default: the latest run): the track record of the predicted
 * value stored with a score run (src/pipeline/backtest.ts): the calibration by decile of predicted
 * value, its error figures and the 80 % ranges' coverage.
 *
 * Admins get every figure. A non-admin gets what the dashboard gives them: shares and counts of
 * purchase days (a decile's counts withheld when it has fewer than MIN_GROUP customers), never an
 * amount of money (predicted / actual revenue, the revenue error per customer). The non-admin payload
 * is built field by field, so a figure added later stays admin-only until it is added here.
 */
import { z } from 'zod';
import type { Db } from '../../store/index.js';
import type { StoredBacktest } from '../../scoring/backtest.js';
import { HttpError, type Authed } from './http.js';
import { suppress } from './visibility.js';

export const backtestQuery = z.object({ run: z.string().max(20).regex(/^run:\d{1,15}$/, 'run must be run:<id>').optional() }).strict();

export interface BacktestAnswer {
  run: { id: number; asOf: string };
  backtest: StoredBacktest | null;
}

/** The run's stored backtest (null for runs stored before backtests existed); 404 for a run of another portal or none. */
export async function readBacktest(db: Db, portalId: number, runId: number | null): Promise<BacktestAnswer> {
  const { rows } = await db.query<{ id: number; asOf: Date; fits: { backtest?: StoredBacktest } | null }>(
    runId === null
      ? `SELECT id, as_of AS "asOf", fits FROM score_runs WHERE portal_id = $1 AND status = 'done' ORDER BY created_at DESC, id DESC LIMIT 1`
      : `SELECT id, as_of AS "asOf", fits FROM score_runs WHERE portal_id = $1 AND status = 'done' AND id = $2`,
    runId === null ? [portalId] : [portalId, runId],
  );
  const r = rows[0];
  if (!r) {
    if (runId === null) throw new HttpError(409, 'NOT_SCORED', 'no scoring run yet: run the sync first');
    throw new HttpError(404, 'NO_SUCH_RUN', `no done score run ${runId} on this portal`);
  }
  return { run: { id: Number(r.id), asOf: new Date(r.asOf).toISOString().slice(0, 10) }, backtest: r.fits?.backtest ?? null };
}

/** What a non-admin sees of it (see the module comment). */
export function backtestView(a: Authed, answer: BacktestAnswer): BacktestAnswer | Record<string, unknown> {
  const b = answer.backtest;
  if (a.session.a || !b || b.status !== 'done') return answer;
  return {
    run: answer.run,
    backtest: {
      status: b.status, fitUntil: b.fitUntil, holdoutEnd: b.holdoutEnd, horizonDays: b.horizonDays, customers: b.customers,
      valueSource: b.valueSource, models: b.models,
      coverage: b.coverage, valueCoverage: b.valueCoverage, insideRange: b.insideRange, valueInsideRange: b.valueInsideRange, expectedInside: b.expectedInside,
      predicted: b.predicted, actual: b.actual, predictedValue: null, actualValue: null,
      mae: b.mae, valueMae: null, relativeError: b.relativeError, valueRelativeError: b.valueRelativeError,
      deciles: b.deciles.map((d) => {
        const n = suppress(a, d.customers);
        return {
          decile: d.decile, customers: n, predicted: n === null ? null : d.predicted, actual: n === null ? null : d.actual,
          predictedValue: null, actualValue: null, coverage: n === null ? null : d.coverage, insideRange: n === null ? null : d.insideRange,
        };
      }),
    },
  };
}
