/**
 * The `time` blocks: their keys and types against the reference, the operating-time bookkeeping
 * (`operating`, `operating_reset_at`), and `processing` against the emulator's cost model.
 */
import { DEFAULT_COST_MODEL, startIsNonNegative } from '../emulator/costs.js';
import type { CostQuery } from '../emulator/cost-predict.js';
import type { CostKind } from '../emulator/types.js';
import { compareTimeBlocks, timeOf, type Difference, type Row } from './compare.js';
import type { Probe } from './run.js';

/** A `processing` within 0.01 s + 25 % of the prediction agrees with the model. */
export const COST_TOLERANCE_ABS = 0.01;
export const COST_TOLERANCE_REL = 0.25;

const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** Rows a list answer returned, counted as the emulator's cost model counts them. */
export function rowsOf(result: unknown): number | undefined {
  if (Array.isArray(result)) return result.length;
  if (result && typeof result === 'object') {
    for (const k of ['items', 'productRows', 'categories']) {
      const v = (result as Row)[k];
      if (Array.isArray(v)) return v.length;
    }
  }
  return undefined;
}

export async function timeChecks(p: Probe): Promise<void> {
  const ok = p.answers.filter((a) => a.seen.status === 200 && a.ref.status === 200);
  const ref = ok.map((a) => timeOf(a.ref)).filter((t): t is Row => t !== null);
  const seen = ok.map((a) => timeOf(a.seen)).filter((t): t is Row => t !== null);
  p.record('time block', compareTimeBlocks('time block', ref, seen));
  // operating: the model charges a request's processing of a method only above the 0.1 s floor (limits.ts)
  const params = { select: ['ID'], order: { ID: 'ASC' }, start: -1 };
  const t1 = timeOf((await p.both('crm.contact.list', params)).seen);
  const t2 = timeOf((await p.both('crm.contact.list', params)).seen);
  if (!t1 || !t2 || typeof t1['operating'] !== 'number' || typeof t2['operating'] !== 'number') {
    return p.skip('operating', 'no operating value in the time block');
  }
  const check = 'operating accumulates processing';
  const processing = Number(t2['processing']);
  const charged = processing > DEFAULT_COST_MODEL.minimalFixTime ? processing : 0;
  const want = r6(Number(t1['operating']) + charged);
  const got = Number(t2['operating']);
  const how = charged ? 'previous + processing' : `previous: ${processing} s <= ${DEFAULT_COST_MODEL.minimalFixTime} s is not counted`;
  p.record(check, Math.abs(got - want) > COST_TOLERANCE_ABS ? [{ check, path: 'time.operating', expected: `${want} (${how})`, seen: String(got) }] : []);
  const reset = Number(t2['operating_reset_at']);
  const delta = reset - Math.floor(Number(t2['start']));
  const rc = 'operating_reset_at within 10 minutes';
  p.record(rc, Number.isInteger(reset) && delta > 0 && delta <= 601 ? [] : [{ check: rc, path: 'time.operating_reset_at', expected: 'start < reset_at <= start + 600 (whole seconds, rounded up)', seen: String(t2['operating_reset_at']) }]);
}

/** The call as the cost model sees it: rows returned, a counted page (start >= 0) and its total, the filter. */
export function costQueryOf(method: string, kind: CostKind, params: Record<string, unknown>, body: Row | null): CostQuery {
  const total = body?.['total'];
  return {
    method, kind,
    rows: rowsOf(body?.['result']),
    startNonNegative: startIsNonNegative(params['start']),
    matching: typeof total === 'number' ? total : undefined,
    filter: params['filter'],
  };
}

export function costChecks(
  p: Probe,
  predict: (q: CostQuery) => number,
  kindOf: (method: string) => CostKind | undefined,
): void {
  const byMethod = new Map<string, Difference[]>();
  for (const a of p.answers) {
    const kind = kindOf(a.method);
    const t = timeOf(a.seen);
    if (a.seen.status !== 200 || !kind || !t || typeof t['processing'] !== 'number') continue;
    const predicted = r6(predict(costQueryOf(a.method, kind, a.params, a.seen.body)));
    const observed = t['processing'];
    p.costs.push({ method: a.method, predicted, observed });
    const check = `cost ${a.method}`;
    const list = byMethod.get(check) ?? [];
    byMethod.set(check, list);
    if (Math.abs(observed - predicted) > COST_TOLERANCE_ABS + COST_TOLERANCE_REL * predicted) {
      list.push({ check, path: 'time.processing', expected: `${predicted} s`, seen: `${observed} s` });
    }
  }
  for (const [check, diffs] of byMethod) p.record(check, diffs);
}
