/**
 * The seeded streams of the living portal, per customer and purchase number n, so the process is
 * the same whatever steps portal time is advanced in: the unit-exponential mass of the gap before
 * purchase n+1, and the draws of purchase n (funnel, outcome, lead time, amount, products).
 */
import { Rng, subSeed } from './random.js';

export function gapBudget(seed: number, contactId: number, n: number): number {
  return new Rng(subSeed(subSeed(seed, 31, contactId), n)).exp();
}

export function purchaseRng(seed: number, contactId: number, n: number): Rng {
  return new Rng(subSeed(subSeed(seed, 33, contactId), n));
}
