/**
 * The probe: the same calls against a portal and against the reference emulator, compared check by
 * check (docs/emulator-parity.md, "Probe"). A difference is a finding about the emulator's rules
 * (or the portal), never an error of the probe.
 */
import { predictProcessing } from '../emulator/cost-predict.js';
import { PAGE } from '../emulator/query.js';
import { methods } from '../emulator/methods/index.js';
import { compareError, compareKeys, compareRows, outcome, type Difference } from './compare.js';
import type { Answer, Caller } from './http.js';
import { startReference } from './reference.js';
import { ERROR_STEPS, SHAPE_STEPS, probeContactName, type Memo, type ShapeStep } from './steps.js';
import { costChecks, timeChecks } from './time.js';
import { writeCycle } from './write.js';

export interface CheckResult {
  check: string;
  status: 'ok' | 'differs' | 'skipped';
  differences: Difference[];
  note?: string;
}

export interface CostRow {
  method: string;
  predicted: number;
  observed: number;
}

export interface ProbeReport {
  portal: string;
  results: CheckResult[];
  differences: Difference[];
  costs: CostRow[];
}

export interface ProbeOptions {
  /** Calls the portal (through its incoming webhook). */
  target: Caller;
  /** Name of the portal in the report (its host). */
  portal: string;
  write: boolean;
  /** The reference; default: an in-process emulator started for this run. */
  reference?: Caller;
  now?: () => Date;
}

/** Both sides' answers to one call. */
interface Pair { ref: Answer; seen: Answer; method: string; params: Record<string, unknown> }

export class Probe {
  readonly results: CheckResult[] = [];
  readonly costs: CostRow[] = [];
  /** Every successful answer of the portal / the reference, for the time-block and cost checks. */
  readonly answers: Pair[] = [];
  readonly memo: { ref: Memo; seen: Memo } = { ref: {}, seen: {} };

  constructor(private readonly target: Caller, private readonly reference: Caller) {}

  async both(method: string, params: Record<string, unknown>, refParams = params): Promise<Pair> {
    const seen = await this.target(method, params);
    const ref = await this.reference(method, refParams);
    const pair = { ref, seen, method, params };
    this.answers.push(pair);
    return pair;
  }

  record(check: string, differences: Difference[], note?: string): void {
    this.results.push({ check, status: differences.length ? 'differs' : 'ok', differences, ...(note ? { note } : {}) });
  }

  skip(check: string, note: string): void {
    this.results.push({ check, status: 'skipped', differences: [], note });
  }
}

function resultOf(a: Answer): unknown {
  return a.body?.['result'];
}

async function shapeCheck(p: Probe, step: ShapeStep): Promise<void> {
  const params = typeof step.params === 'function' ? step.params(p.memo.seen) : step.params;
  const refParams = typeof step.params === 'function' ? step.params(p.memo.ref) : step.params;
  if (!params || !refParams) return p.skip(step.check, 'no record to ask for (an earlier list was empty)');
  const { ref, seen } = await p.both(step.method, params, refParams);
  if (ref.status !== 200) return p.skip(step.check, `the reference answered ${outcome(ref)}`);
  if (seen.status !== 200) {
    const scope = seen.body?.['error'] === 'insufficient_scope';
    if (scope) return p.skip(step.check, 'the webhook lacks the scope');
    return p.record(step.check, [{ check: step.check, path: 'status/error', expected: '200', seen: outcome(seen) }]);
  }
  const refRows = step.rows(resultOf(ref));
  const rows = step.rows(resultOf(seen));
  step.remember?.(refRows, p.memo.ref);
  step.remember?.(rows, p.memo.seen);
  if (!rows.length) return p.skip(step.check, 'the portal returned no rows');
  const diffs = step.exactKeys ? compareKeys(step.check, step.exactKeys, rows) : compareRows(step.check, refRows, rows, step.schema);
  diffs.push(...envelopeDiffs(step.check, ref, seen));
  p.record(step.check, diffs);
}

/** total/next hoisted next to result for lists (present on the reference ⇒ present on the portal). */
function envelopeDiffs(check: string, ref: Answer, seen: Answer): Difference[] {
  const out: Difference[] = [];
  for (const k of ['total']) {
    const r = ref.body !== null && k in ref.body;
    const s = seen.body !== null && k in seen.body;
    if (r !== s) out.push({ check, path: k, expected: r ? 'present' : 'absent', seen: s ? 'present' : 'absent' });
  }
  return out;
}

async function errorChecks(p: Probe): Promise<void> {
  for (const step of ERROR_STEPS) {
    const { ref, seen } = await p.both(step.method, step.params);
    p.record(step.check, compareError(step.check, ref, seen));
  }
}

/** Paging by the emulator's rules (query.ts): pages of PAGE rows, `next` only when rows remain, start=-1 has no count. */
async function pagingChecks(p: Probe): Promise<void> {
  const base = { select: ['ID'], order: { ID: 'ASC' } };
  const first = (await p.both('crm.contact.list', { ...base, start: 0 })).seen;
  const total = Number(first.body?.['total']);
  if (first.status !== 200 || !Number.isFinite(total)) return p.skip('paging', `crm.contact.list answered ${outcome(first)}`);
  p.record('paging: start=0', pageDiffs('paging: start=0', first, total, 0));
  if (total > PAGE) {
    const second = (await p.both('crm.contact.list', { ...base, start: PAGE })).seen;
    p.record(`paging: start=${PAGE}`, pageDiffs(`paging: start=${PAGE}`, second, total, PAGE));
  } else p.skip(`paging: start=${PAGE}`, `only ${total} contacts`);
  const fast = (await p.both('crm.contact.list', { ...base, start: -1 })).seen;
  const rows = Array.isArray(resultOf(fast)) ? (resultOf(fast) as unknown[]).length : -1;
  const d: Difference[] = [];
  const check = 'paging: start=-1';
  if (fast.body?.['total'] !== 0) d.push({ check, path: 'total', expected: '0 (no count)', seen: JSON.stringify(fast.body?.['total']) });
  if (fast.body && 'next' in fast.body) d.push({ check, path: 'next', expected: 'absent', seen: JSON.stringify(fast.body['next']) });
  if (rows !== Math.min(PAGE, total)) d.push({ check, path: 'rows', expected: String(Math.min(PAGE, total)), seen: String(rows) });
  p.record(check, d);
}

function pageDiffs(check: string, a: Answer, total: number, start: number): Difference[] {
  const d: Difference[] = [];
  const rows = Array.isArray(resultOf(a)) ? (resultOf(a) as unknown[]).length : -1;
  const wantRows = Math.max(0, Math.min(PAGE, total - start));
  if (rows !== wantRows) d.push({ check, path: 'rows', expected: String(wantRows), seen: String(rows) });
  const wantNext = start + PAGE < total ? String(start + PAGE) : 'absent';
  const next = a.body && 'next' in a.body ? JSON.stringify(a.body['next']) : 'absent';
  if (next !== wantNext) d.push({ check, path: 'next', expected: wantNext, seen: next });
  if (a.body?.['total'] !== total) d.push({ check, path: 'total', expected: String(total), seen: JSON.stringify(a.body?.['total']) });
  return d;
}

export async function runProbe(o: ProbeOptions): Promise<ProbeReport> {
  const own = o.reference ? null : await startReference();
  const p = new Probe(o.target, o.reference ?? own!.call);
  try {
    for (const step of SHAPE_STEPS) await shapeCheck(p, step);
    await errorChecks(p);
    await pagingChecks(p);
    if (o.write) await writeCycle(p, probeContactName((o.now ?? (() => new Date()))()));
    await timeChecks(p);
    costChecks(p, (q) => predictProcessing(q), (m) => methods.get(m)?.cost);
  } finally {
    await own?.close();
  }
  return { portal: o.portal, results: p.results, differences: p.results.flatMap((r) => r.differences), costs: p.costs };
}

