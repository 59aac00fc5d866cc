/** The probe's output: a human table (one row per check, one per difference) and one JSON line, last. */
import type { ProbeReport } from './run.js';

function cut(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function table(r: ProbeReport): string {
  const rows: string[][] = [['CHECK', 'RESULT', 'EXPECTED', 'SEEN']];
  for (const c of r.results) {
    if (c.status !== 'differs') rows.push([c.check, c.status, '', c.note ?? '']);
    for (const d of c.differences) rows.push([d.path ? `${c.check} · ${d.path}` : c.check, 'differs', d.expected, d.seen]);
  }
  const w = [58, 8, 34, 34];
  const lines = rows.map((cols) => cols.map((c, i) => cut(c, w[i]!).padEnd(w[i]!)).join('  ').trimEnd());
  const n = r.differences.length;
  return [`b24-segments probe · ${r.portal} · ${r.results.length} checks · ${n} difference${n === 1 ? '' : 's'}`, '', ...lines].join('\n');
}

/** `{"portal":…, "checks":N, "differences":[…], "costs":[{method, predicted, observed}]}` */
export function jsonLine(r: ProbeReport): string {
  return JSON.stringify({ portal: r.portal, checks: r.results.length, differences: r.differences, costs: r.costs });
}
