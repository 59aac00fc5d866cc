/**
 * The whole distribution of a customer's future purchases, not just its mean: P(Y(t) = y | x, t_x, T).
 *
 * BG/NBD (Fader, Hardie & Lee 2005). Given the history, a customer is either already gone (Y = 0) or
 * alive, with probability P(alive) (bgnbd.ts, eq. 13). For an alive customer the posterior of the
 * purchase rate λ is Gamma(r+x, α+T) and that of the drop-out probability p is Beta(a, b+x), independent
 * of each other (the likelihood of "alive at T after x repeat purchases" is (1−p)^x λ^x e^(−λT)), and the
 * process restarts at T (Poisson purchases, a coin with p after each). So the purchases in (T, T+t] of an
 * alive customer follow the model's unconditional distribution (paper eq. 8) with the updated parameters
 * r' = r+x, α' = α+T, a, b' = b+x:
 *
 *   P(X(t)=y) = B(a,b'+y)/B(a,b') · NB(y) + δ(y>0) · B(a+1,b'+y−1)/B(a,b') · (1 − Σ_{j<y} NB(j))
 *   NB(j) = Γ(r'+j)/(Γ(r') j!) · (α'/(α'+t))^r' · (t/(α'+t))^j     (the Poisson–gamma count of an immortal customer)
 *
 * and P(Y(t)=y | x, t_x, T) = P(alive) · P(X(t)=y) + (1 − P(alive)) · δ(y=0). Its mean is E[Y(t) | x, t_x, T]
 * (eq. 10). The vectors are cut where the remaining mass is below `tail` (default 1e-10).
 *
 * Rules (no BG/NBD fit): alive with the rule-based P(alive), then Poisson purchases with the shrunk
 * repeat rate: P(Y=y) = P(alive) · Poisson(y; rate·t) + (1 − P(alive)) · δ(y=0).
 */
import type { BgNbdParams } from './bgnbd.js';

const DEFAULT_TAIL = 1e-10;
const MAX_LENGTH = 1_000_000;

/** P(X(t)=y) for y = 0, 1, … of an alive customer with history x (repeat purchases) and T (time since the first purchase). */
export function bgnbdPmfIfAlive(p: BgNbdParams, t: number, x: number, T: number, tail = DEFAULT_TAIL): Float64Array {
  const r = p.r + x;
  const alpha = p.alpha + T;
  const { a } = p;
  const b = p.b + x;
  if (!(t > 0)) return Float64Array.of(1);
  const q = t / (alpha + t);
  const lnQ = Math.log(q);
  let lnNb = r * Math.log1p(-q); // ln NB(0), in logs: NB(0) underflows for r+x in the thousands
  let nb = Math.exp(lnNb);
  let nbCdfBelow = 0; // Σ_{j<y} NB(j)
  let betaRatio = 1; // B(a, b+y)/B(a, b) = Π_{i<y} (b+i)/(a+b+i)
  const out: number[] = [];
  let total = 0;
  for (let y = 0; y < MAX_LENGTH; y++) {
    let v = betaRatio * nb;
    if (y > 0) {
      // B(a+1, b+y−1)/B(a,b) = B(a, b+y−1)/B(a,b) · a/(a+b+y−1)
      const prevRatio = betaRatio * ((a + b + y - 1) / (b + y - 1));
      v += prevRatio * (a / (a + b + y - 1)) * Math.max(0, 1 - nbCdfBelow);
    }
    out.push(v);
    total += v;
    if (1 - total < tail && y > 0) break;
    nbCdfBelow += nb;
    // What is left after y is at most twice the NB count's survival P(NB > y): the first term's rest is
    // Σ_{j>y} NB(j), and the second's is that survival times the probability of dropping out after some
    // later purchase (≤ 1). The sum above need not get within `tail` of 1 (its terms' rounding): a
    // degenerate fit (a ≈ 5e-9, b ≈ 3e-8, seen in a backtest) otherwise ran to MAX_LENGTH for every
    // customer, 1M entries each (16 s and 1.3 GB of buffers for a portal of 1,000 contacts).
    if (y > 0 && 1 - nbCdfBelow < tail / 2) break;
    lnNb += Math.log((r + y) / (y + 1)) + lnQ;
    nb = Math.exp(lnNb);
    betaRatio *= (b + y) / (a + b + y);
  }
  return Float64Array.from(out);
}

/**
 * P(Y(t)=y | x, t_x, T): the alive part weighted by P(alive), the rest at 0. Into `scratch` when given
 * and large enough (the result is then a view of it, valid until the next call with it).
 */
export function mixWithDeath(ifAlive: Float64Array, pAlive: number, scratch?: Float64Array): Float64Array {
  const n = ifAlive.length;
  const out = scratch && scratch.length >= n ? scratch.subarray(0, n) : new Float64Array(n);
  for (let y = 0; y < n; y++) out[y] = ifAlive[y]! * pAlive;
  out[0] = out[0]! + (1 - pAlive);
  return out;
}

/** Rule-based distribution of an alive customer: Poisson(mean) (mixWithDeath adds the rest). */
export function poissonPmfIfAlive(mean: number, tail = DEFAULT_TAIL): Float64Array {
  if (!(mean > 0)) return Float64Array.of(1);
  const out: number[] = [];
  const lnMean = Math.log(mean);
  let lnTerm = -mean; // ln Poisson(0), in logs so that large means do not underflow
  let total = 0;
  for (let y = 0; y < MAX_LENGTH; y++) {
    if (y > 0) lnTerm += lnMean - Math.log(y);
    const term = Math.exp(lnTerm);
    out.push(term);
    total += term;
    if (1 - total < tail && y > mean) break;
  }
  return Float64Array.from(out);
}

/** The smallest y with P(Y ≤ y) ≥ level (the level-quantile of a discrete distribution). */
export function discreteQuantile(pmf: Float64Array, level: number): number {
  let cdf = 0;
  for (let y = 0; y < pmf.length; y++) {
    cdf += pmf[y]!;
    if (cdf >= level - 1e-12) return y;
  }
  return pmf.length - 1;
}

/** Σ y · P(y). */
export function pmfMean(pmf: Float64Array): number {
  let m = 0;
  for (let y = 1; y < pmf.length; y++) m += y * pmf[y]!;
  return m;
}
