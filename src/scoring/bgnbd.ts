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
 */
import { minimizeMultiStart, nelderMead } from './optimize.js';

/** above this many triples the multi-start runs on a coarsened copy first */
const MULTI_START_TRIPLES = 2000;
import { hyp2f1Detailed } from './hyp2f1.js';
import { lnGamma, logAddExp, logisticOfNeg } from './special.js';

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** A unique (x, t_x, T) triple and how many customers share it. */
export interface RfTriple {
  x: number;
  tx: number;
  T: number;
  weight: number;
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

/** Unique triples as columns (first-appearance order): what the fit consumes, without an object per triple. */
export interface TripleColumns {
  x: number[];
  tx: number[];
  T: number[];
  weight: number[];
}

/** Merges rows into unique triples by a key; the first row of a key gives its values, the weights add up. */
class TripleMerge<K extends number | string> {
  readonly cols: TripleColumns = { x: [], tx: [], T: [], weight: [] };
  private readonly index = new Map<K, number>();

  add(key: K, x: number, tx: number, T: number, weight: number): void {
    const i = this.index.get(key);
    if (i !== undefined) this.cols.weight[i]! += weight;
    else {
      this.index.set(key, this.cols.x.length);
      pushTriple(this.cols, x, tx, T, weight);
    }
  }
}

function pushTriple(c: TripleColumns, x: number, tx: number, T: number, weight: number): void {
  c.x.push(x);
  c.tx.push(tx);
  c.T.push(T);
  c.weight.push(weight);
}

/**
 * TripleMerge for number keys with its own open-addressing hash table; keys compare like Map keys
 * (SameValueZero), so it merges exactly as a Map would. Why: the packed triple keys are above the
 * small-integer range, and a Map boxes and hashes a heap number per lookup — the slowest part of
 * compressing and coarsening 10⁵–10⁶ customers.
 */
class NumberKeyTripleMerge {
  readonly cols: TripleColumns = { x: [], tx: [], T: [], weight: [] };
  private keys = new Float64Array(1024);
  private slots = new Int32Array(1024).fill(-1);

  add(key: number, x: number, tx: number, T: number, weight: number): void {
    const mask = this.slots.length - 1;
    let h = hashNumber(key) & mask;
    for (;;) {
      const i = this.slots[h]!;
      if (i < 0) break;
      const k = this.keys[h]!;
      if (k === key || (k !== k && key !== key)) {
        this.cols.weight[i]! += weight;
        return;
      }
      h = (h + 1) & mask;
    }
    this.keys[h] = key;
    this.slots[h] = this.cols.x.length;
    pushTriple(this.cols, x, tx, T, weight);
    if (this.cols.x.length * 2 > this.slots.length) this.rehash();
  }

  private rehash(): void {
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    this.keys = new Float64Array(oldKeys.length * 2);
    this.slots = new Int32Array(oldSlots.length * 2).fill(-1);
    const mask = this.slots.length - 1;
    for (let j = 0; j < oldSlots.length; j++) {
      if (oldSlots[j]! < 0) continue;
      let h = hashNumber(oldKeys[j]!) & mask;
      while (this.slots[h]! >= 0) h = (h + 1) & mask;
      this.keys[h] = oldKeys[j]!;
      this.slots[h] = oldSlots[j]!;
    }
  }
}

/** a 32-bit mix of both 32-bit halves of an integer key (any number gives some deterministic hash; equal keys the same) */
function hashNumber(key: number): number {
  const lo = key >>> 0;
  const hi = (key / 4294967296) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  return Math.imul(h, 0xc2b2ae35) ^ (h >>> 13);
}

export function tripleObjects(c: TripleColumns): RfTriple[] {
  const out: RfTriple[] = [];
  for (let i = 0; i < c.x.length; i++) out.push({ x: c.x[i]!, tx: c.tx[i]!, T: c.T[i]!, weight: c.weight[i]! });
  return out;
}

function tripleColumnsOf(triples: readonly RfTriple[]): TripleColumns {
  return { x: triples.map((t) => t.x), tx: triples.map((t) => t.tx), T: triples.map((t) => t.T), weight: triples.map((t) => t.weight) };
}

/**
 * Merge customers given in whole days into unique triples (numeric keys, no strings), then express
 * t_x and T in `unitDays`.
 */
export function compressDayTriples(rows: Iterable<{ x: number; txDays: number; TDays: number }>, unitDays: number): RfTriple[] {
  const m = new DayTripleMerge(unitDays);
  for (const r of rows) m.add(r.x, r.txDays, r.TDays);
  return tripleObjects(m.cols);
}

/** compressDayTriples one customer at a time. */
export class DayTripleMerge {
  private readonly m = new NumberKeyTripleMerge();
  readonly cols = this.m.cols;
  constructor(private readonly unitDays: number) {}
  add(x: number, txDays: number, TDays: number): void {
    const key = (x * 65536 + txDays) * 65536 + TDays; // exact while x < 2^21 and days < 65536
    this.m.add(key, x, txDays / this.unitDays, TDays / this.unitDays, 1);
  }
}

/** Merge customers into unique (x, t_x, T) triples with counts. */
export function compressTriples(rows: Iterable<{ x: number; tx: number; T: number; weight?: number }>): RfTriple[] {
  const m = new TripleMerge<string>();
  for (const row of rows) m.add(`${row.x}|${row.tx}|${row.T}`, row.x, row.tx, row.T, row.weight ?? 1);
  return tripleObjects(m.cols);
}

/**
 * When there are more unique triples than `maxTriples`, round t_x and T to a coarser time grid
 * (doubling the step) until they fit. All customers keep their weight; only the times move by at
 * most half a step. Returns the triples and the step used (0 = untouched).
 */
export function coarsenTriples(triples: RfTriple[], maxTriples: number, baseStep: number): { triples: RfTriple[]; step: number } {
  if (triples.length <= maxTriples) return { triples, step: 0 };
  const { cols, step } = coarsenTripleColumns(tripleColumnsOf(triples), maxTriples, baseStep);
  return { triples: tripleObjects(cols), step };
}

/** coarsenTriples on columns. */
export function coarsenTripleColumns(triples: TripleColumns, maxTriples: number, baseStep: number): { cols: TripleColumns; step: number } {
  let current = triples;
  let step = 0;
  let next = baseStep;
  while (current.x.length > maxTriples) {
    current = roundToGrid(triples, next);
    step = next;
    next *= 2;
  }
  return { cols: current, step };
}

/**
 * compressTriples of the triples with t_x and T rounded to multiples of h, i.e. merged by the text
 * `${x}|${round(t_x/h)·h}|${round(T/h)·h}`. Why not the text key: k·h and k'·h are the same number
 * exactly when k = k', so when x and the grid indices k are small non-negative integers the key
 * (x, k_tx, k_T) packed into one number merges the same triples in the same order, without
 * building a string per triple (hundreds of thousands of them per step). Otherwise: the text key.
 */
function roundToGrid(t: TripleColumns, h: number): TripleColumns {
  const n = t.x.length;
  const numeric = new NumberKeyTripleMerge();
  for (let i = 0; i < n; i++) {
    const x = t.x[i]!;
    const kTx = Math.round(t.tx[i]! / h);
    const kT = Math.round(t.T[i]! / h);
    if (!(Number.isInteger(x) && x >= 0 && x < 2 ** 21 && kTx >= 0 && kTx < 65536 && kT >= 0 && kT < 65536)) {
      const text = new TripleMerge<string>();
      for (let j = 0; j < n; j++) {
        const tx = Math.round(t.tx[j]! / h) * h;
        const T = Math.round(t.T[j]! / h) * h;
        text.add(`${t.x[j]}|${tx}|${T}`, t.x[j]!, tx, T, t.weight[j]!);
      }
      return text.cols;
    }
    numeric.add((x * 65536 + kTx) * 65536 + kT, x, kTx * h, kT * h, t.weight[i]!);
  }
  return numeric.cols;
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
 *   = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z)] / (1 + δ(x>0)·a/(b+x−1)·((α+T)/(α+t_x))^(r+x)),
 *   z = t/(α+T+t).
 * With Euler's transformation the bracket becomes 1 − (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z),
 * which avoids the huge×tiny product when z is near 1. At a = 1 (a removable singularity) the mean
 * of a = 1 ± 2e-6 is used.
 */
export function bgnbdConditionalExpected(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  if (!(t > 0)) return 0;
  const value = bgnbdExpectedIfAlive(p, t, x, T) * bgnbdPAlive(p, x, tx, T);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * The factor of E[Y(t) | x, t_x, T] that does not depend on t_x (the expected purchases given the
 * customer is still alive): (a+b+x−1)/(a−1) · [1 − (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z)].
 */
export function bgnbdExpectedIfAlive(p: BgNbdParams, t: number, x: number, T: number): number {
  if (!(t > 0)) return 0;
  if (Math.abs(p.a - 1) < 1e-6) {
    return 0.5 * (bgnbdExpectedIfAlive({ ...p, a: 1 + 2e-6 }, t, x, T) + bgnbdExpectedIfAlive({ ...p, a: 1 - 2e-6 }, t, x, T));
  }
  const { r, alpha, a, b } = p;
  const z = t / (alpha + T + t);
  const f = hyp2f1Detailed(a + b - 1 - r, a - 1, a + b + x - 1, z).value;
  const bracket = 1 - Math.exp((a - 1) * Math.log1p(-z)) * f;
  const value = ((a + b + x - 1) / (a - 1)) * bracket;
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** E[X(t)]: expected repeat purchases of a new customer in (0, t]   (paper eq. 9). */
export function bgnbdExpected(p: BgNbdParams, t: number): number {
  return bgnbdConditionalExpected(p, t, 0, 0, 0);
}
