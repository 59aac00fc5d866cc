/**
 * Gamma–Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV: Using
 * Iso-Value Curves for Customer Base Analysis", JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma
 * Model of Monetary Value", note 025).
 *
 * A customer's x transaction values are Gamma(p, ν); ν ~ Gamma(q, γ) across customers. The mean
 * z̄ of x values has the density (note 025, eq. 4)
 *   f(z̄ | p,q,γ; x) = Γ(px+q)/(Γ(px)Γ(q)) · γ^q · z̄^(px−1) · x^(px) / (γ + x z̄)^(px+q)
 * and E[M | p,q,γ; x, z̄] = p(γ + x z̄)/(px + q − 1) (eq. 5; needs q > 1).
 */
import { minimizeMultiStart, nelderMead } from './optimize.js';
import { lnGamma } from './special.js';

export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

export interface SpendRow {
  /** number of transactions averaged (the repeat purchases in the papers) */
  x: number;
  /** their mean value, > 0 */
  zbar: number;
  weight?: number;
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  ll: number;
  converged: boolean;
  evaluations: number;
  customers: number;
}

export function gammaGammaLogLikelihoodOne(g: GammaGammaParams, x: number, zbar: number): number {
  const { p, q, gamma } = g;
  const px = p * x;
  return (
    lnGamma(px + q) - lnGamma(px) - lnGamma(q) + q * Math.log(gamma) +
    (px - 1) * Math.log(zbar) + px * Math.log(x) - (px + q) * Math.log(gamma + x * zbar)
  );
}

interface Prepared {
  /** per distinct x: x, Σw, Σ w·ln z̄ */
  groups: { x: number; w: number; wLnZ: number }[];
  x: Float64Array;
  xz: Float64Array;
  w: Float64Array;
}

/** Spend rows as columns (weight null = 1 each): what scorePortal passes, without an object per row. */
export interface SpendColumns {
  x: ArrayLike<number>;
  zbar: ArrayLike<number>;
  weight: ArrayLike<number> | null;
}

function spendColumnsOf(rows: readonly SpendRow[]): SpendColumns {
  return { x: rows.map((r) => r.x), zbar: rows.map((r) => r.zbar), weight: rows.map((r) => r.weight ?? 1) };
}

/**
 * Rows for the likelihood. With more than `maxRows` rows, the z̄ inside ln(γ + x z̄) is taken from
 * bins of relative width `binWidth` on the log scale (per x; the weighted mean z̄ of the bin);
 * the Σ w ln z̄ terms stay exact. The log-likelihood moves by O(binWidth²) per customer.
 * (Bins are found through a map per x keyed by the bin number: the same bins, in the same order,
 * as a text key "x|bin" would give, without a string per row.)
 */
function prepare(rows: SpendColumns, maxRows = Infinity, binWidth = 0.01): Prepared {
  const n = rows.x.length;
  const weightOf = (i: number) => (rows.weight === null ? 1 : rows.weight[i]!);
  const byX = new Map<number, { x: number; w: number; wLnZ: number }>();
  for (let i = 0; i < n; i++) {
    const x = rows.x[i]!;
    const weight = weightOf(i);
    let g = byX.get(x);
    if (!g) byX.set(x, (g = { x, w: 0, wLnZ: 0 }));
    g.w += weight;
    g.wLnZ += weight * Math.log(rows.zbar[i]!);
  }
  if (n <= maxRows) {
    const x = new Float64Array(n);
    const xz = new Float64Array(n);
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = rows.x[i]!;
      xz[i] = rows.x[i]! * rows.zbar[i]!;
      w[i] = weightOf(i);
    }
    return { groups: [...byX.values()], x, xz, w };
  }
  const binsByX = new Map<number, Map<number, number>>();
  const bx: number[] = [];
  const bz: number[] = [];
  const bw: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = rows.x[i]!;
    const z = rows.zbar[i]!;
    const w = weightOf(i);
    let bins = binsByX.get(x);
    if (!bins) binsByX.set(x, (bins = new Map()));
    const key = Math.round(Math.log(z) / binWidth);
    const b = bins.get(key);
    if (b !== undefined) {
      bz[b] = (bz[b]! * bw[b]! + z * w) / (bw[b]! + w);
      bw[b]! += w;
    } else {
      bins.set(key, bx.length);
      bx.push(x);
      bz.push(z);
      bw.push(w);
    }
  }
  return {
    groups: [...byX.values()],
    x: Float64Array.from(bx),
    xz: Float64Array.from(bx, (x, i) => x * bz[i]!),
    w: Float64Array.from(bw),
  };
}

function llPrepared(g: GammaGammaParams, d: Prepared): number {
  const { p, q, gamma } = g;
  const lnGq = lnGamma(q);
  const lnGam = Math.log(gamma);
  let ll = 0;
  for (const grp of d.groups) {
    const px = p * grp.x;
    ll += grp.w * (lnGamma(px + q) - lnGamma(px) - lnGq + q * lnGam + px * Math.log(grp.x)) + (px - 1) * grp.wLnZ;
  }
  for (let i = 0; i < d.x.length; i++) ll -= d.w[i]! * (p * d.x[i]! + q) * Math.log(gamma + d.xz[i]!);
  return ll;
}

export function gammaGammaLogLikelihood(g: GammaGammaParams, rows: readonly SpendRow[]): number {
  return llPrepared(g, prepare(spendColumnsOf(rows)));
}

export interface GammaGammaFitOptions {
  starts?: number;
  maxEvaluations?: number;
  maxRows?: number;
}

export function fitGammaGamma(rows: readonly SpendRow[], options: GammaGammaFitOptions = {}): GammaGammaFit {
  return fitGammaGammaColumns(spendColumnsOf(rows), options);
}

/** fitGammaGamma on columns. */
export function fitGammaGammaColumns(rows: SpendColumns, options: GammaGammaFitOptions = {}): GammaGammaFit {
  const maxRows = options.maxRows ?? Infinity;
  const d = prepare(rows, maxRows);
  let customers = 0;
  let sumZ = 0;
  for (let i = 0; i < rows.x.length; i++) {
    const w = rows.weight === null ? 1 : rows.weight[i]!;
    customers += w;
    sumZ += w * rows.zbar[i]!;
  }
  const meanZ = customers > 0 ? sumZ / customers : 1;
  // E[z] = pγ/(q−1): start from p = 1, q = 2, γ = mean z̄
  const lnG0 = Math.log(meanZ);
  const allStarts = [
    [0, Math.log(2), lnG0],
    [Math.log(5), Math.log(3), lnG0 + 1],
    [Math.log(0.5), Math.log(1.5), lnG0 - 1],
  ];
  const starts = allStarts.slice(0, Math.max(1, Math.min(allStarts.length, options.starts ?? 3)));
  const objectiveFor = (data: Prepared) => (theta: readonly number[]): number => {
    for (const v of theta) if (!(Math.abs(v) < 30)) return Infinity;
    return -llPrepared(unpack(theta), data);
  };
  let res;
  if (d.x.length > 2000) {
    // the starts race on 10 %-wide bins, the winner is polished on the data
    const rough = minimizeMultiStart(objectiveFor(prepare(rows, 0, 0.1)), starts, { maxEvaluations: options.maxEvaluations ?? 3000, ftol: 1e-9, xtol: 1e-5 });
    const polished = nelderMead(objectiveFor(d), rough.x, { maxEvaluations: options.maxEvaluations ?? 3000, step: 0.05, ftol: 1e-11, xtol: 1e-6 });
    res = { ...polished, evaluations: rough.evaluations + polished.evaluations };
  } else {
    res = minimizeMultiStart(objectiveFor(d), starts, { maxEvaluations: options.maxEvaluations ?? 3000 });
  }
  return { params: unpack(res.x), ll: -res.f, converged: res.converged && Number.isFinite(res.f), evaluations: res.evaluations, customers };
}

function unpack(theta: readonly number[]): GammaGammaParams {
  return { p: Math.exp(theta[0]!), q: Math.exp(theta[1]!), gamma: Math.exp(theta[2]!) };
}

/** E[M | x, z̄] = p(γ + x z̄)/(px + q − 1); for x = 0 the population mean pγ/(q−1). NaN when q ≤ 1. */
export function gammaGammaExpectedValue(g: GammaGammaParams, x: number, zbar: number): number {
  if (!(g.q > 1)) return NaN;
  if (x <= 0 || !(zbar > 0)) return (g.p * g.gamma) / (g.q - 1);
  return (g.p * (g.gamma + x * zbar)) / (g.p * x + g.q - 1);
}
