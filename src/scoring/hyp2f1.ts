/**
 * Gauss hypergeometric function 2F1(a, b; c; z) for real arguments and z < 1.
 *
 *   2F1(a,b;c;z) = Σ_n (a)_n (b)_n / ((c)_n n!) · zⁿ
 *
 * - |z| ≤ 0.75 (and 0 ≤ z): the power series, summed until |term| < 1e-14·|sum| (HYP2F1_TOLERANCE).
 * - z < 0: Pfaff's transformation 2F1(a,b;c;z) = (1−z)^(−a) 2F1(a, c−b; c; z/(z−1)), z/(z−1) ∈ (0,1).
 * - 0.75 < z < 1: the connection formula to 1−z (Abramowitz & Stegun 15.3.6)
 *     2F1(a,b;c;z) = Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b)) · 2F1(a,b;a+b−c+1;1−z)
 *                  + (1−z)^(c−a−b) Γ(c)Γ(a+b−c)/(Γ(a)Γ(b)) · 2F1(c−a,c−b;c−a−b+1;1−z)
 *   whose series in 1−z converge fast. When c−a−b is within 1e-6 of an integer n the formula is
 *   degenerate (Γ poles cancel); 2F1 is analytic in c, so it is evaluated at c−a−b = n ± 1e-6 and
 *   interpolated linearly in c (relative error ≈ 1e-9 there, limited by the cancellation of the two terms; 1e-14 elsewhere).
 */
import { lnGammaSigned } from './special.js';

export const HYP2F1_TOLERANCE = 1e-14;
export const HYP2F1_MAX_TERMS = 2_000_000;

export interface Hyp2f1Result {
  value: number;
  terms: number;
  converged: boolean;
}

/** The plain power series in z (|z| < 1). */
export function hyp2f1Series(a: number, b: number, c: number, z: number): Hyp2f1Result {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < HYP2F1_MAX_TERMS; n++) {
    term *= ((a + n) * (b + n)) / ((c + n) * (n + 1)) * z;
    sum += term;
    if (term === 0 || Math.abs(term) < HYP2F1_TOLERANCE * Math.abs(sum)) {
      return { value: sum, terms: n + 1, converged: Number.isFinite(sum) };
    }
    if (!Number.isFinite(sum)) return { value: sum, terms: n + 1, converged: false };
  }
  return { value: sum, terms: HYP2F1_MAX_TERMS, converged: false };
}

export function hyp2f1Detailed(a: number, b: number, c: number, z: number): Hyp2f1Result {
  if (!(z < 1)) throw new RangeError(`hyp2f1 needs z < 1, got ${z}`);
  if (z === 0 || a === 0 || b === 0) return { value: 1, terms: 0, converged: true };
  if (z < 0) {
    const inner = hyp2f1Detailed(a, c - b, c, z / (z - 1));
    return { ...inner, value: Math.pow(1 - z, -a) * inner.value };
  }
  if (z <= 0.75) return hyp2f1Series(a, b, c, z);
  const s = c - a - b;
  const n = Math.round(s);
  if (Math.abs(s - n) < DEGENERATE) {
    const c1 = a + b + n - DEGENERATE;
    const c2 = a + b + n + DEGENERATE;
    const f1 = connection(a, b, c1, z);
    const f2 = connection(a, b, c2, z);
    return {
      value: f1.value + ((f2.value - f1.value) * (c - c1)) / (c2 - c1),
      terms: f1.terms + f2.terms,
      converged: f1.converged && f2.converged,
    };
  }
  return connection(a, b, c, z);
}

const DEGENERATE = 1e-6;

function connection(a: number, b: number, c: number, z: number): Hyp2f1Result {
  const s = c - a - b;
  const w = 1 - z;
  const first = gammaRatio([c, s], [c - a, c - b]);
  const second = gammaRatio([c, -s], [a, b]);
  let value = 0;
  let terms = 0;
  let converged = true;
  if (first !== 0) {
    const f = hyp2f1Series(a, b, 1 - s, w);
    value += first * f.value;
    terms += f.terms;
    converged &&= f.converged;
  }
  if (second !== 0) {
    const g = hyp2f1Series(c - a, c - b, 1 + s, w);
    value += second * Math.pow(w, s) * g.value;
    terms += g.terms;
    converged &&= g.converged;
  }
  return { value, terms, converged: converged && Number.isFinite(value) };
}

/** 2F1(a,b;c;z) for z < 1. */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  return hyp2f1Detailed(a, b, c, z).value;
}

/** Π Γ(num) / Π Γ(den) with signs; 0 when a denominator argument is a pole. */
function gammaRatio(num: number[], den: number[]): number {
  let logv = 0;
  let sign = 1;
  for (const x of den) {
    const g = lnGammaSigned(x);
    if (g.sign === 0) return 0;
    logv -= g.value;
    sign *= g.sign;
  }
  for (const x of num) {
    const g = lnGammaSigned(x);
    if (g.sign === 0) return sign * Infinity;
    logv += g.value;
    sign *= g.sign;
  }
  return sign * Math.exp(logv);
}
