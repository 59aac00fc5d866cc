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
import { minimizeMultiStart } from './optimize.js';
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

function prepare(rows: readonly SpendRow[]): Prepared {
  const byX = new Map<number, { x: number; w: number; wLnZ: number }>();
  const x = new Float64Array(rows.length);
  const xz = new Float64Array(rows.length);
  const w = new Float64Array(rows.length);
  rows.forEach((row, i) => {
    const weight = row.weight ?? 1;
    x[i] = row.x;
    xz[i] = row.x * row.zbar;
    w[i] = weight;
    const g = byX.get(row.x) ?? { x: row.x, w: 0, wLnZ: 0 };
    g.w += weight;
    g.wLnZ += weight * Math.log(row.zbar);
    byX.set(row.x, g);
  });
  return { groups: [...byX.values()], x, xz, w };
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
  return llPrepared(g, prepare(rows));
}

export function fitGammaGamma(rows: readonly SpendRow[], options: { starts?: number; maxEvaluations?: number } = {}): GammaGammaFit {
  const d = prepare(rows);
  let customers = 0;
  let sumZ = 0;
  rows.forEach((r) => {
    customers += r.weight ?? 1;
    sumZ += (r.weight ?? 1) * r.zbar;
  });
  const meanZ = customers > 0 ? sumZ / customers : 1;
  // E[z] = pγ/(q−1): start from p = 1, q = 2, γ = mean z̄
  const lnG0 = Math.log(meanZ);
  const allStarts = [
    [0, Math.log(2), lnG0],
    [Math.log(5), Math.log(3), lnG0 + 1],
    [Math.log(0.5), Math.log(1.5), lnG0 - 1],
  ];
  const starts = allStarts.slice(0, Math.max(1, Math.min(allStarts.length, options.starts ?? 3)));
  const objective = (theta: readonly number[]): number => {
    for (const v of theta) if (!(Math.abs(v) < 30)) return Infinity;
    return -llPrepared(unpack(theta), d);
  };
  const res = minimizeMultiStart(objective, starts, { maxEvaluations: options.maxEvaluations ?? 3000 });
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
