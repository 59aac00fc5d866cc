/** Markdown tables of a run's lower bounds (bench/lib/bounds.ts), shared by the sync and cycle benches. */
import type { BoundModel, RunBounds } from './bounds.js';

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '∞');
const f3 = (x: number) => x.toFixed(3);

/** One line naming the model the bounds were computed under. */
export function modelLine(m: BoundModel, costs: unknown): string {
  const c = costs as { classes?: Record<string, number>; perRow?: number; perCountedRow?: number; complexFilter?: number } | undefined;
  const cl = c?.classes;
  const list = cl ? `list ${cl.list} s + ${c?.perRow} s/row + ${c?.perCountedRow} s/matching row (start ≥ 0) + ${c?.complexFilter} s (complex filter); get ${cl.get}; add ${cl.add}; update ${cl.update}; delete ${cl.delete}; product-row read ${cl.productRowRead} / write ${cl.productRowWrite}; user-field write ${cl.userFieldWrite}; read ${cl.read}` : `costs ${JSON.stringify(costs)}`;
  return `Model (the portal's /_emulator/limits): bucket ${m.burst} @ ${m.drain}/s; operating limit ${m.opLimit} s per method per ${m.buckets} × ${m.bucketSec}-s calendar buckets ("sum > limit"); floor ${m.floor} s per method per request; ${list}.`;
}

/** Per-method table, then the request and first-window rows, then the largest bound. */
export function boundsTable(b: RunBounds, measured: number): string[] {
  const out: string[] = [];
  out.push('| method | calls | processing s | s per call | free calls per request (floor) | charged s | bound as grouped s | bound for any grouping s |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of b.methods) {
    const free = Number.isFinite(x.freePerRequest) ? String(x.freePerRequest) : 'all';
    out.push(`| ${x.method} | ${x.calls} | ${f1(x.processingSeconds)} | ${f3(x.perCall)} | ${free} | ${f1(x.chargedSeconds)} | ${f1(x.asGrouped)} | ${f1(x.anyGrouping)} |`);
  }
  out.push(`| requests | ${b.requests} | | | | | ${f1(b.requestBound)} | |`);
  out.push(`| first window${b.window.k > 1 ? ` (${b.window.k}th)` : ''} | ${b.window.requestsAfter} requests after it | | | | | | ${f1(b.window.bound)} |`);
  out.push('');
  out.push(`Largest valid bound: **${f1(b.largest.bound)} s** (${b.largest.by}); measured ${f1(measured)} s = **${ratio(measured, b.largest.bound)}×**.`);
  return out;
}

export function ratio(measured: number, bound: number): string {
  return bound > 0 ? (measured / bound).toFixed(2) : '—';
}
