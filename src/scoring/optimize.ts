/**
 * Nelder–Mead simplex minimiser with the dimension-adaptive coefficients of Gao & Han (2012)
 * and restarts: after convergence the search restarts from the best point with a fresh simplex
 * until a restart no longer improves the minimum. Several starting points may be given; the best
 * result wins. Non-finite objective values are treated as +∞ (the simplex walks away from them).
 */

export interface MinimizeOptions {
  /** stop when the spread of f over the simplex is below ftol·(|f_best| + 1e-12) … */
  ftol?: number;
  /** … and the simplex diameter (max |x_i − x_best|) is below xtol */
  xtol?: number;
  maxEvaluations?: number;
  /** initial simplex step along each axis */
  step?: number;
  maxRestarts?: number;
}

export interface MinimizeResult {
  x: number[];
  f: number;
  evaluations: number;
  converged: boolean;
  restarts: number;
}

export function nelderMead(
  f: (x: readonly number[]) => number,
  start: readonly number[],
  options: MinimizeOptions = {},
): MinimizeResult {
  const ftol = options.ftol ?? 1e-12;
  const xtol = options.xtol ?? 1e-8;
  const maxEvaluations = options.maxEvaluations ?? 5000;
  const maxRestarts = options.maxRestarts ?? 5;
  const step = options.step ?? 0.5;
  let evaluations = 0;
  const safeF = (x: readonly number[]): number => {
    evaluations++;
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  let best = runSimplex(safeF, start, step, ftol, xtol, () => evaluations < maxEvaluations);
  let restarts = 0;
  while (restarts < maxRestarts && evaluations < maxEvaluations) {
    const again = runSimplex(safeF, best.x, step / 4, ftol, xtol, () => evaluations < maxEvaluations);
    restarts++;
    const improved = best.f - again.f > ftol * (Math.abs(best.f) + 1e-12);
    if (again.f <= best.f) best = again;
    if (!improved) break;
  }
  return { x: best.x, f: best.f, evaluations, converged: best.converged && evaluations < maxEvaluations, restarts };
}

export function minimizeMultiStart(
  f: (x: readonly number[]) => number,
  starts: readonly (readonly number[])[],
  options: MinimizeOptions = {},
): MinimizeResult & { starts: number } {
  let best: MinimizeResult | null = null;
  let evaluations = 0;
  for (const s of starts) {
    const r = nelderMead(f, s, options);
    evaluations += r.evaluations;
    if (best === null || r.f < best.f) best = r;
  }
  if (best === null) throw new Error('minimizeMultiStart needs at least one start');
  return { ...best, evaluations, starts: starts.length };
}

function runSimplex(
  f: (x: readonly number[]) => number,
  start: readonly number[],
  step: number,
  ftol: number,
  xtol: number,
  budgetLeft: () => boolean,
): { x: number[]; f: number; converged: boolean } {
  const n = start.length;
  const alpha = 1;
  const beta = 1 + 2 / n; // expansion
  const gamma = 0.75 - 1 / (2 * n); // contraction
  const delta = 1 - 1 / n; // shrink
  const pts: number[][] = [start.slice()];
  for (let i = 0; i < n; i++) {
    const p = start.slice();
    p[i] = p[i]! + step;
    pts.push(p);
  }
  const vals = pts.map((p) => f(p));
  const order = (): void => {
    const idx = pts.map((_, i) => i).sort((i, j) => vals[i]! - vals[j]!);
    const p2 = idx.map((i) => pts[i]!);
    const v2 = idx.map((i) => vals[i]!);
    for (let i = 0; i <= n; i++) {
      pts[i] = p2[i]!;
      vals[i] = v2[i]!;
    }
  };
  while (budgetLeft()) {
    order();
    const fBest = vals[0]!;
    const fWorst = vals[n]!;
    let diameter = 0;
    for (let i = 1; i <= n; i++) {
      for (let k = 0; k < n; k++) diameter = Math.max(diameter, Math.abs(pts[i]![k]! - pts[0]![k]!));
    }
    if (Number.isFinite(fWorst) && fWorst - fBest <= ftol * (Math.abs(fBest) + 1e-12) && diameter <= xtol) {
      return { x: pts[0]!, f: fBest, converged: true };
    }
    const centroid = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) centroid[k]! += pts[i]![k]! / n;
    const along = (t: number): number[] => centroid.map((c, k) => c + t * (c - pts[n]![k]!));
    const xr = along(alpha);
    const fr = f(xr);
    if (fr < vals[0]!) {
      const xe = along(alpha * beta);
      const fe = f(xe);
      if (fe < fr) replaceWorst(xe, fe);
      else replaceWorst(xr, fr);
    } else if (fr < vals[n - 1]!) {
      replaceWorst(xr, fr);
    } else {
      const outside = fr < vals[n]!;
      const xc = along(outside ? alpha * gamma : -gamma);
      const fc = f(xc);
      if (fc <= (outside ? fr : vals[n]!)) replaceWorst(xc, fc);
      else {
        for (let i = 1; i <= n; i++) {
          pts[i] = pts[i]!.map((v, k) => pts[0]![k]! + delta * (v - pts[0]![k]!));
          vals[i] = f(pts[i]!);
        }
      }
    }
  }
  order();
  return { x: pts[0]!, f: vals[0]!, converged: false };

  function replaceWorst(x: number[], v: number): void {
    pts[n] = x;
    vals[n] = v;
  }
}
