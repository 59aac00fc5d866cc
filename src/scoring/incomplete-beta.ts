/**
 * The regularized incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b), the CDF of a Beta(a, b)
 * variable. Evaluated with the continued fraction of Abramowitz & Stegun 26.5.8 (modified Lentz), on
 * the side where it converges fast (x < (a+1)/(a+b+2)), the other side by I_x(a,b) = 1 − I_{1−x}(b,a).
 * Relative error about 1e-12 for the a, b of the value distributions (0.1 … 10⁴).
 */
import { lnBeta } from './special.js';

const TINY = 1e-300;
const EPS = 1e-13;
const MAX_ITERATIONS = 1000;

export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(x > 0)) return 0;
  if (!(x < 1)) return 1;
  const front = Math.exp(a * Math.log(x) + b * Math.log1p(-x) - lnBeta(a, b));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** The continued fraction 1/(1+ d1/(1+ d2/(1+ …))) of A&S 26.5.8, by the modified Lentz method. */
function betaContinuedFraction(x: number, a: number, b: number): number {
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    // even step: d_{2m} = m(b−m)x / ((a+2m−1)(a+2m))
    let coef = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + coef * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + coef / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    // odd step: d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1))
    coef = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + coef * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + coef / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}
