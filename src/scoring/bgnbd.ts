/**
 * BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way",
 * Marketing Science 24(2) 275–284). Time is in any unit (days or weeks); α carries that unit.
 *
 * Per customer: x = repeat purchases (purchase days − 1), t_x = time of the last purchase
 * (from the first), T = time from the first purchase to the end of observation.
 *
 * Likelihood (paper eq. 6), in logs:
 *   L = B(a,b+x)/B(a,b) · Γ(r+x)α^r/Γ(r) · [ (α+T)^−(r+x) + δ(x>0) · a/(b+x−1) · (α+t_x)^−(r+x) ]
 *   ln L = lnΓ(r+x) − lnΓ(r) + r ln α + lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
 *          + logsumexp( −(r+x) ln(α+T),  ln a − ln(b+x−1) − (r+x) ln(α+t_x) )
 *
 * In this file: ln L (one customer; a weighted sum over unique triples; the same sum over
 * prepared triples, what the optimiser evaluates), the maximum-likelihood fit, P(alive)
 * (eq. 13), E[Y(t) | x, t_x, T] (eq. 10) and E[X(t)] (eq. 9). The customers are merged into
 * the weighted (x, t_x, T) triples by ./triples.ts.
 */
import { minimizeMultiStart, nelderMead } from './optimize.js';
import { lnGamma, logAddExp, logisticOfNeg } from './special.js';
import { coarsenTriples, type RfTriple } from './triples.js';

/** above this many triples the multi-start runs on a coarsened copy first */
const MULTI_START_TRIPLES = 2000;

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export interface BgNbdFit {
  params: BgNbdParams;
  /** log-likelihood at the optimum (sum over customers, weights applied) */
  ll: number;
  converged: boolean;
  evaluations: number;
  customers: number;
  repeatCustomers: number;
  uniqueTriples: number;
  /** time grid the triples were rounded to before fitting (0 = exact) */
  gridStep: number;
}

/** ln L for one customer. */
export function bgnbdLogLikelihoodOne(p: BgNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = p;
  const common =
    lnGamma(r + x) - lnGamma(r) + r * Math.log(alpha) +
    lnGamma(a + b) + lnGamma(b + x) - lnGamma(b) - lnGamma(a + b + x);
  const stillAlive = -(r + x) * Math.log(alpha + T);
  const droppedAfterLast = x > 0 ? Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx) : -Infinity;
  return common + logAddExp(stillAlive, droppedAfterLast);
}

/** Total weighted log-likelihood; the Γ-ratios are built once per call as running sums over x. */
export function bgnbdLogLikelihood(p: BgNbdParams, triples: readonly RfTriple[]): number {
  let maxX = 0;
  for (const t of triples) if (t.x > maxX) maxX = t.x;
  const { r, alpha, a, b } = p;
  // lnΓ(r+x) − lnΓ(r) = Σ_{i<x} ln(r+i);  lnΓ(b+x) − lnΓ(a+b+x) − (lnΓ(b) − lnΓ(a+b)) likewise
  const gr = new Float64Array(maxX + 1);
  const gb = new Float64Array(maxX + 1);
  for (let i = 1; i <= maxX; i++) {
    gr[i] = gr[i - 1]! + Math.log(r + i - 1);
    gb[i] = gb[i - 1]! + Math.log(b + i - 1) - Math.log(a + b + i - 1);
  }
  const lnAlpha = Math.log(alpha);
  const lnA = Math.log(a);
  let ll = 0;
  for (const t of triples) {
    const x = t.x;
    const common = gr[x]! + r * lnAlpha + gb[x]!;
    const stillAlive = -(r + x) * Math.log(alpha + t.T);
    const tail = x > 0 ? logAddExp(stillAlive, lnA - Math.log(b + x - 1) - (r + x) * Math.log(alpha + t.tx)) : stillAlive;
    ll += t.weight * (common + tail);
  }
  return ll;
}

/**
 * Triples prepared for repeated likelihood evaluation: every distinct time value (t_x or T) is
 * stored once, so each evaluation takes one logarithm per distinct time and per distinct x
 * instead of per triple.
 */
export interface PreparedTriples {
  x: Int32Array;
  txIdx: Int32Array;
  tIdx: Int32Array;
  w: Float64Array;
  times: Float64Array;
  maxX: number;
  /** per-evaluation work space, reused so that the optimiser's thousands of evaluations allocate nothing */
  scratch: { gr: Float64Array; gb: Float64Array; drop: Float64Array; lnTime: Float64Array };
}

export function prepareTriples(triples: readonly RfTriple[]): PreparedTriples {
  const timeIndex = new Map<number, number>();
  const times: number[] = [];
  const idx = (t: number) => {
    let i = timeIndex.get(t);
    if (i === undefined) {
      i = times.length;
      times.push(t);
      timeIndex.set(t, i);
    }
    return i;
  };
  const n = triples.length;
  const x = new Int32Array(n);
  const txIdx = new Int32Array(n);
  const tIdx = new Int32Array(n);
  const w = new Float64Array(n);
  let maxX = 0;
  triples.forEach((t, i) => {
    x[i] = t.x;
    txIdx[i] = idx(t.tx);
    tIdx[i] = idx(t.T);
    w[i] = t.weight;
    if (t.x > maxX) maxX = t.x;
  });
  const scratch = {
    gr: new Float64Array(maxX + 1), gb: new Float64Array(maxX + 1), drop: new Float64Array(maxX + 1), lnTime: new Float64Array(times.length),
  };
  return { x, txIdx, tIdx, w, times: Float64Array.from(times), maxX, scratch };
}

/** Same value as bgnbdLogLikelihood, on prepared triples. */
export function bgnbdLogLikelihoodPrepared(p: BgNbdParams, d: PreparedTriples): number {
  const { r, alpha, a, b } = p;
  const maxX = d.maxX;
  const { gr, gb, drop, lnTime } = d.scratch;
  gr[0] = gb[0] = drop[0] = 0;
  // gr[x] = lnΓ(r+x) − lnΓ(r);  gb[x] = lnΓ(b+x) − lnΓ(a+b+x) − lnΓ(b) + lnΓ(a+b);  drop[x] = ln a − ln(b+x−1)
  const lnA = Math.log(a);
  for (let i = 1; i <= maxX; i++) {
    gr[i] = gr[i - 1]! + Math.log(r + i - 1);
    gb[i] = gb[i - 1]! + Math.log(b + i - 1) - Math.log(a + b + i - 1);
    drop[i] = lnA - Math.log(b + i - 1);
  }
  const times = d.times;
  for (let k = 0; k < times.length; k++) lnTime[k] = Math.log(alpha + times[k]!);
  return bgnbdSumPrepared(r, Math.log(alpha), d, gr, gb, drop, lnTime);
}

/**
 * The per-triple sum of bgnbdLogLikelihoodPrepared: the optimiser's hot loop (tens of millions of
 * terms per fit), kept in its own small function over typed arrays so that V8 optimises it well.
 */
function bgnbdSumPrepared(
  r: number,
  lnAlpha: number,
  d: PreparedTriples,
  gr: Float64Array,
  gb: Float64Array,
  drop: Float64Array,
  lnTime: Float64Array,
): number {
  const rLnAlpha = r * lnAlpha;
  const xs = d.x;
  const tIdx = d.tIdx;
  const txIdx = d.txIdx;
  const w = d.w;
  const n = xs.length;
  let ll = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    const rx = r + x;
    const stillAlive = -rx * lnTime[tIdx[i]!]!;
    let tail = stillAlive;
    if (x > 0) {
      const dropped = drop[x]! - rx * lnTime[txIdx[i]!]!;
      tail = stillAlive > dropped ? stillAlive + Math.log1p(Math.exp(dropped - stillAlive)) : dropped + Math.log1p(Math.exp(stillAlive - dropped));
    }
    ll += w[i]! * (gr[x]! + rLnAlpha + gb[x]! + tail);
  }
  return ll;
}

export interface FitOptions {
  starts?: number;
  maxEvaluations?: number;
}

/** Maximum-likelihood fit on log-parameters with Nelder–Mead from several starts. */
export function fitBgNbd(triples: readonly RfTriple[], options: FitOptions = {}): BgNbdFit {
  let customers = 0;
  let repeatCustomers = 0;
  let sumX = 0;
  let sumT = 0;
  for (const t of triples) {
    customers += t.weight;
    if (t.x > 0) repeatCustomers += t.weight;
    sumX += t.weight * t.x;
    sumT += t.weight * t.T;
  }
  // r/α is the mean purchase rate; start with r = 1 and α = 1/rate
  const rate = sumT > 0 && sumX > 0 ? sumX / sumT : 1;
  const alpha0 = Math.log(1 / rate);
  const allStarts: number[][] = [
    [0, alpha0, 0, 0],
    [Math.log(0.25), alpha0, Math.log(0.8), Math.log(2.5)],
    [Math.log(2), alpha0 + 1, Math.log(2), Math.log(0.5)],
    [Math.log(0.5), alpha0 - 1, Math.log(0.3), Math.log(5)],
  ];
  const starts = allStarts.slice(0, Math.max(1, Math.min(allStarts.length, options.starts ?? 3)));
  const objectiveFor = (d: PreparedTriples) => (theta: readonly number[]): number => {
    for (const v of theta) if (!(Math.abs(v) < 30)) return Infinity;
    return -bgnbdLogLikelihoodPrepared(unpack(theta), d);
  };
  const full = objectiveFor(prepareTriples(triples));
  let res;
  if (triples.length > MULTI_START_TRIPLES) {
    // two resolutions: the starts race on a coarse time grid, the winner is polished on the data
    let maxT = 0;
    for (const t of triples) maxT = Math.max(maxT, t.T);
    const coarse = coarsenTriples([...triples], MULTI_START_TRIPLES, maxT / 256).triples;
    const rough = minimizeMultiStart(objectiveFor(prepareTriples(coarse)), starts, { maxEvaluations: options.maxEvaluations ?? 4000, ftol: 1e-9, xtol: 1e-5 });
    const polished = nelderMead(full, rough.x, { maxEvaluations: options.maxEvaluations ?? 4000, step: 0.05, ftol: 1e-11, xtol: 1e-6 });
    res = { ...polished, evaluations: rough.evaluations + polished.evaluations };
  } else {
    res = minimizeMultiStart(full, starts, { maxEvaluations: options.maxEvaluations ?? 4000 });
  }
  return {
    params: unpack(res.x),
    ll: -res.f,
    converged: res.converged && Number.isFinite(res.f),
    evaluations: res.evaluations,
    customers,
    repeatCustomers,
    uniqueTriples: triples.length,
    gridStep: 0,
  };
}

function unpack(theta: readonly number[]): BgNbdParams {
  return { r: Math.exp(theta[0]!), alpha: Math.exp(theta[1]!), a: Math.exp(theta[2]!), b: Math.exp(theta[3]!) };
}

/**
 * P(alive | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))   (paper eq. 13)
 */
export function bgnbdPAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (x <= 0) return 1;
  const u = Math.log(p.a) - Math.log(p.b + x - 1) + (p.r + x) * (Math.log(p.alpha + T) - Math.log(p.alpha + tx));
  return logisticOfNeg(u);
}

/**
 * E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T+t]   (paper eq. 10)
 *   = P(alive | x, t_x, T) · E[Y(t) | alive, x, T]   (the second factor: bgnbdExpectedIfAlive).
 */
export function bgnbdConditionalExpected(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  if (!(t > 0)) return 0;
  const value = bgnbdExpectedIfAlive(p, t, x, T) * bgnbdPAlive(p, x, tx, T);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** Stop when the bound on what is left is below this share of the sum. */
const SERIES_TOLERANCE = 1e-16;
const SERIES_MAX_TERMS = 10_000_000;

/**
 * The factor of E[Y(t) | x, t_x, T] that does not depend on t_x: the expected purchases in (T, T+t]
 * given the customer is still alive at T. The paper writes it as
 *   (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))];
 * it is summed here as the same number in a form without cancellation or overflow:
 *
 * an alive customer's posterior is λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x), independent. Purchase j of
 * the window happens when the Poisson count N(t) reaches j and the customer survived the coins of the
 * j−1 purchases before it, so P(Y ≥ j) = P(N(t) ≥ j) · E[(1−p)^(j−1)] and
 *   E[Y(t) | alive] = Σ_{j≥1} P(N(t) ≥ j) · B(a, b+x+j−1)/B(a, b+x),
 * N(t) ~ NegBin(r+x, q = t/(α+T+t)). Every term is positive; NB(j) runs in logs (NB(0) underflows for
 * r+x in the thousands). The sum stops when its remainder, bounded by the geometric tail of N(t)
 * (ratio ρ = q·max(1, (r+x+j)/(j+1)) once that is below 1), is below 1e-16 of it.
 *
 * The hypergeometric form fails where a fit can land: a = 2,792, b = 34,826 (a and b run off
 * together when the drop-out probability is the same for everybody) overflowed its series and
 * returned 0 for every customer; this series has no such region (test/unit/bgnbd-expected.test.ts
 * compares it with 60-digit values of the 2F1 form from mpmath). Its length is about the purchases
 * expected plus the count's tail: tens of terms for usual fits.
 */
export function bgnbdExpectedIfAlive(p: BgNbdParams, t: number, x: number, T: number): number {
  if (!(t > 0)) return 0;
  const k = p.r + x;
  const bx = p.b + x;
  const q = t / (p.alpha + T + t);
  const lnQ = Math.log(q);
  let lnNb = k * Math.log1p(-q); // ln P(N = 0)
  let survival = -Math.expm1(lnNb); // P(N ≥ 1)
  let beta = 1; // E[(1−p)^(j−1)]
  let sum = 0;
  for (let j = 1; j < SERIES_MAX_TERMS && survival > 0; j++) {
    sum += survival * beta;
    lnNb += Math.log((k + j - 1) / j) + lnQ; // ln P(N = j)
    const nb = Math.exp(lnNb);
    survival -= nb; // P(N ≥ j+1)
    beta *= (bx + j - 1) / (p.a + bx + j - 1);
    const rho = q * Math.max(1, (k + j) / (j + 1));
    // P(N ≥ j+1) ≤ P(N = j)·ρ/(1−ρ) also where the subtraction has left only rounding
    if (rho < 1 && (Math.min(survival, (nb * rho) / (1 - rho)) * beta) / (1 - rho) <= SERIES_TOLERANCE * sum) break;
  }
  return Number.isFinite(sum) && sum > 0 ? sum : 0;
}

/** E[X(t)]: expected repeat purchases of a new customer in (0, t]   (paper eq. 9). */
export function bgnbdExpected(p: BgNbdParams, t: number): number {
  return bgnbdConditionalExpected(p, t, 0, 0, 0);
}
