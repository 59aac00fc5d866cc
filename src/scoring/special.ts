/** Special functions used by the likelihoods: log-gamma (with sign), log-sum-exp, log-beta. */

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0 (Stirling series for x ≥ 10, Lanczos below; |rel. error| < 1e-14). */
export function lnGamma(x: number): number {
  if (!(x > 0)) {
    if (x === 0) return Infinity;
    return lnGammaSigned(x).value;
  }
  if (x >= 10) return stirlingLnGamma(x);
  if (x < 0.5) {
    // reflection keeps Lanczos in its accurate range: Γ(x) = π / (sin(πx) Γ(1−x))
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  }
  const xm1 = x - 1;
  let s = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS_G + 2; i++) s += LANCZOS[i]! / (xm1 + i);
  const t = xm1 + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (xm1 + 0.5) * Math.log(t) - t + Math.log(s);
}

function stirlingLnGamma(x: number): number {
  const inv = 1 / x;
  const inv2 = inv * inv;
  const series =
    inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 * (1 / 1188)))));
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series;
}

/** ln |Γ(x)| and the sign of Γ(x) for any real x; at the poles (0, −1, −2, …) value = +∞, sign = 0. */
export function lnGammaSigned(x: number): { value: number; sign: -1 | 0 | 1 } {
  if (x > 0) return { value: lnGamma(x), sign: 1 };
  if (Number.isInteger(x)) return { value: Infinity, sign: 0 };
  const s = Math.sin(Math.PI * x);
  // Γ(x) = π / (sin(πx) Γ(1−x)), Γ(1−x) > 0 here
  return { value: Math.log(Math.PI / Math.abs(s)) - lnGamma(1 - x), sign: s > 0 ? 1 : -1 };
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a+b). */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** ln(e^x + e^y) without overflow. */
export function logAddExp(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  return x > y ? x + Math.log1p(Math.exp(y - x)) : y + Math.log1p(Math.exp(x - y));
}

/** 1 / (1 + e^u) computed without overflow. */
export function logisticOfNeg(u: number): number {
  if (u > 0) {
    const e = Math.exp(-u);
    return e / (1 + e);
  }
  return 1 / (1 + Math.exp(u));
}

/** Median of a numeric array (does not modify it); NaN for an empty array. */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
