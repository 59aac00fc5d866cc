/**
 * Digamma ψ(x) = d ln Γ(x)/dx and trigamma ψ₁(x) = dψ/dx for x > 0 (the mean and the variance of
 * ln G for G ~ Gamma(x, 1)), and the standard normal quantile Φ⁻¹.
 *
 * ψ and ψ₁: the recurrences ψ(x) = ψ(x+1) − 1/x, ψ₁(x) = ψ₁(x+1) + 1/x² up to x ≥ 10, then the
 * asymptotic series (Abramowitz & Stegun 6.3.18, 6.4.12); absolute error below 1e-12.
 * Φ⁻¹: P. J. Acklam's rational approximations (relative error below 1.2e-9).
 */

export function digamma(x: number): number {
  let shift = 0;
  while (x < 10) {
    shift -= 1 / x;
    x += 1;
  }
  const inv2 = 1 / (x * x);
  return shift + Math.log(x) - 0.5 / x - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))));
}

export function trigamma(x: number): number {
  let shift = 0;
  while (x < 10) {
    shift += 1 / (x * x);
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  return shift + inv + 0.5 * inv2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 / 30)));
}

const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

/** Φ⁻¹(u) for 0 < u < 1 (±Infinity at 0 and 1). */
export function normalQuantile(u: number): number {
  if (!(u > 0)) return -Infinity;
  if (!(u < 1)) return Infinity;
  if (u < P_LOW) return tail(Math.sqrt(-2 * Math.log(u)));
  if (u > 1 - P_LOW) return -tail(Math.sqrt(-2 * Math.log(1 - u)));
  const q = u - 0.5;
  const r = q * q;
  return (
    ((((((A[0]! * r + A[1]!) * r + A[2]!) * r + A[3]!) * r + A[4]!) * r + A[5]!) * q) /
    (((((B[0]! * r + B[1]!) * r + B[2]!) * r + B[3]!) * r + B[4]!) * r + 1)
  );
}

function tail(q: number): number {
  return (
    (((((C[0]! * q + C[1]!) * q + C[2]!) * q + C[3]!) * q + C[4]!) * q + C[5]!) /
    ((((D[0]! * q + D[1]!) * q + D[2]!) * q + D[3]!) * q + 1)
  );
}

