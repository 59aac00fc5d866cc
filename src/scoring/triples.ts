/**
 * The BG/NBD fit's input: customers merged into unique (x, t_x, T) triples, each with the number
 * of customers sharing it (its weight), so the likelihood is a weighted sum over far fewer terms.
 * When there are too many unique triples, t_x and T are rounded to a coarser time grid
 * (coarsenTriples: all customers keep their weight, times move by at most half a step).
 * The merges keep the first-appearance order of the triples, so a fit sees the same sum in the
 * same order whichever way the triples were built (the CDNOW parameters are pinned by tests).
 */

/** A unique (x, t_x, T) triple and how many customers share it. */
export interface RfTriple {
  x: number;
  tx: number;
  T: number;
  weight: number;
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

