/**
 * Command line (the only file of the scoring engine that does I/O).
 *
 *   fit   --transactions FILE.csv --until YYYY-MM-DD [--unit day|week]
 *         → one JSON line {"customers":N,"bgnbd":{r,alpha,a,b,ll},"gammagamma":{p,q,gamma,ll}}
 *   score --transactions FILE.csv --as-of YYYY-MM-DD [--scale 3|5] [--horizon-days N] [--format csv|json]
 *         → one row per customer (csv with a header, or one JSON array)
 *   backtest --transactions FILE.csv --until YYYY-MM-DD --horizon-days N [--unit day|week]
 *         → fit on the purchases up to --until, predict the next N days, compare with the file's
 *           purchases in (until, until + N]: one JSON line {"coverage","predicted","actual","deciles":[…],…}
 *           (backtest.ts explains every figure)
 *
 * Bad input prints "error: …" naming the file line and exits with code 2.
 */
import { readFileSync } from 'node:fs';
import { formatDay, parseIsoDay, tryParseIsoDay } from './dates.js';
import { backtest } from './backtest.js';
import { csvEscape } from './csv.js';
import { customersFromTransactions, InputError, parseTransactions } from './transactions.js';
import { fitBgNbd } from './bgnbd.js';
import { compressTriples } from './triples.js';
import { fitGammaGamma } from './gammagamma.js';
import { summarizeCustomer } from './summary.js';
import { modelTimes, scorePortal, spendRows } from './index.js';

class UsageError extends Error {}

const USAGE = `usage:
  npm run cli -- fit --transactions FILE.csv --until YYYY-MM-DD [--unit day|week]
  npm run cli -- score --transactions FILE.csv --as-of YYYY-MM-DD [--scale 3|5] [--horizon-days N] [--format csv|json]
  npm run cli -- backtest --transactions FILE.csv --until YYYY-MM-DD --horizon-days N [--unit day|week]`;

const FLAGS: Record<string, { required: string[]; optional: string[] }> = {
  fit: { required: ['transactions', 'until'], optional: ['unit'] },
  score: { required: ['transactions', 'as-of'], optional: ['scale', 'horizon-days', 'format'] },
  backtest: { required: ['transactions', 'until', 'horizon-days'], optional: ['unit'] },
};

export function parseArgs(argv: readonly string[]): { command: string; flags: Record<string, string> } {
  const [command, ...rest] = argv;
  if (!command || !(command in FLAGS)) throw new UsageError(command ? `unknown command "${command}"` : 'missing command');
  const spec = FLAGS[command]!;
  const allowed = new Set([...spec.required, ...spec.optional]);
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (!allowed.has(name)) throw new UsageError(`unknown flag --${name} for "${command}"`);
    if (value === undefined) {
      value = rest[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`flag --${name} needs a value`);
    }
    flags[name] = value;
  }
  for (const name of spec.required) if (!(name in flags)) throw new UsageError(`missing required flag --${name}`);
  return { command, flags };
}

function dateFlag(flags: Record<string, string>, name: string): number {
  const v = flags[name]!;
  if (tryParseIsoDay(v) === null) throw new UsageError(`--${name} "${v}" is not a date (YYYY-MM-DD)`);
  return parseIsoDay(v);
}

function readTransactions(file: string) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return parseTransactions(text, file);
}

function round(v: number, digits = 6): number {
  return Number(v.toFixed(digits));
}

export function runFit(flags: Record<string, string>): string {
  const unit = flags.unit ?? 'day';
  if (unit !== 'day' && unit !== 'week') throw new UsageError(`--unit must be day or week, got "${unit}"`);
  const untilDay = dateFlag(flags, 'until');
  const unitDays = unit === 'week' ? 7 : 1;
  const customers = customersFromTransactions(readTransactions(flags.transactions!), untilDay);
  const summaries = customers.map((c) => summarizeCustomer(c, untilDay, new Set())).filter((s) => s.days.length > 0);
  const repeat = summaries.filter((s) => s.days.length > 1);
  if (repeat.length === 0) throw new InputError(`${flags.transactions}: no customer has a repeat purchase up to ${flags.until}: nothing to fit`);
  const bg = fitBgNbd(compressTriples(summaries.map((s) => modelTimes(s.days, untilDay, unitDays))), { starts: 4 });
  const gg = fitGammaGamma(spendRows(repeat), { starts: 3 });
  return JSON.stringify({
    customers: summaries.length,
    bgnbd: { r: round(bg.params.r), alpha: round(bg.params.alpha), a: round(bg.params.a), b: round(bg.params.b), ll: round(bg.ll, 4) },
    gammagamma: { p: round(gg.params.p), q: round(gg.params.q), gamma: round(gg.params.gamma), ll: round(gg.ll, 4) },
  });
}

export const SCORE_COLUMNS = [
  'customer_id', 'recency_days', 'frequency', 'monetary', 'r', 'f', 'm', 'rfm', 'segment', 'lifecycle', 'sleeping',
  'expected_next_purchase', 'p_alive', 'expected_purchases', 'predicted_clv',
  // the 80 % ranges over the horizon (value-distribution.ts); empty without purchases
  'purchases_low', 'purchases_high', 'clv_low', 'clv_high',
] as const;

function horizonFlag(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 3650) throw new UsageError(`--horizon-days must be an integer from 1 to 3650, got "${text}"`);
  return Number(text);
}

export function runBacktest(flags: Record<string, string>): string {
  const unit = flags.unit ?? 'week';
  if (unit !== 'day' && unit !== 'week') throw new UsageError(`--unit must be day or week, got "${unit}"`);
  const untilDay = dateFlag(flags, 'until');
  const horizonDays = horizonFlag(flags['horizon-days']!);
  const rows = readTransactions(flags.transactions!);
  const end = untilDay + horizonDays;
  let last = -Infinity;
  for (const t of rows) last = Math.max(last, t.day);
  if (!rows.some((t) => t.day <= untilDay)) throw new InputError(`${flags.transactions}: no transaction on or before ${flags.until}: nothing to fit`);
  if (last < end) process.stderr.write(`warning: the data ends on ${formatDay(last)}, before the hold-out's end ${formatDay(end)}: later purchases count as none\n`);
  const result = backtest(customersFromTransactions(rows, end), untilDay, horizonDays, { models: { timeUnit: unit } });
  const r = (v: number | null, digits = 4) => (v === null ? null : round(v, digits));
  return JSON.stringify({
    ...result,
    coverage: r(result.coverage), valueCoverage: r(result.valueCoverage), insideRange: r(result.insideRange),
    valueInsideRange: r(result.valueInsideRange), expectedInside: r(result.expectedInside),
    predicted: r(result.predicted, 2), actual: result.actual, predictedValue: r(result.predictedValue, 2), actualValue: r(result.actualValue, 2),
    mae: r(result.mae), valueMae: r(result.valueMae, 2), relativeError: r(result.relativeError), valueRelativeError: r(result.valueRelativeError),
    deciles: result.deciles.map((d) => ({
      ...d, predicted: r(d.predicted, 2), predictedValue: r(d.predictedValue, 2), actualValue: r(d.actualValue, 2), coverage: r(d.coverage), insideRange: r(d.insideRange),
    })),
  });
}

export function runScore(flags: Record<string, string>): string {
  const asOfDay = dateFlag(flags, 'as-of');
  const scale = Number(flags.scale ?? '5');
  if (scale !== 3 && scale !== 5) throw new UsageError(`--scale must be 3 or 5, got "${flags.scale}"`);
  const horizonText = flags['horizon-days'] ?? '365';
  if (!/^\d+$/.test(horizonText) || Number(horizonText) < 1) throw new UsageError(`--horizon-days must be a positive integer, got "${horizonText}"`);
  const format = flags.format ?? 'csv';
  if (format !== 'csv' && format !== 'json') throw new UsageError(`--format must be csv or json, got "${format}"`);
  const customers = customersFromTransactions(readTransactions(flags.transactions!), asOfDay);
  const run = scorePortal({ asOf: asOfDay, customers }, { rfm: { scale }, models: { horizonDays: Number(horizonText) } });
  for (const w of run.warnings) process.stderr.write(`warning: ${w}\n`);
  const rows = run.customers.map((c) => ({
    customer_id: c.id,
    recency_days: c.recencyDays,
    frequency: c.frequency,
    monetary: round(c.monetary, 2),
    r: c.r,
    f: c.f,
    m: c.m,
    rfm: c.rfm,
    segment: c.segment,
    lifecycle: c.lifecycle,
    sleeping: c.sleeping,
    expected_next_purchase: c.expectedNextPurchase,
    p_alive: round(c.pAlive, 6),
    expected_purchases: round(c.expectedPurchases, 6),
    predicted_clv: round(c.predictedClv, 2),
    purchases_low: c.intervals?.purchasesLow ?? null,
    purchases_high: c.intervals?.purchasesHigh ?? null,
    clv_low: c.intervals ? round(c.intervals.clvLow, 2) : null,
    clv_high: c.intervals ? round(c.intervals.clvHigh, 2) : null,
  }));
  if (format === 'json') return JSON.stringify(rows);
  const lines = [SCORE_COLUMNS.join(',')];
  for (const row of rows) lines.push(SCORE_COLUMNS.map((k) => (row[k] === null ? '' : csvEscape(String(row[k])))).join(','));
  return lines.join('\n');
}

export function main(argv: readonly string[]): number {
  try {
    const { command, flags } = parseArgs(argv);
    const out = command === 'fit' ? runFit(flags) : command === 'backtest' ? runBacktest(flags) : runScore(flags);
    process.stdout.write(out + '\n');
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof InputError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); // the reader closed the pipe (e.g. | head)
  throw e;
});
process.exitCode = main(process.argv.slice(2));
