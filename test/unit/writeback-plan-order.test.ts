/** The write-back's kept plan (src/writeback/plan-order.ts): typed arrays give back what was pushed, in byPriority's order. */
import { expect, it } from 'vitest';
import { PlanOrder, type PlanEntry } from '../../src/writeback/plan-order.js';
import type { Tier } from '../../src/writeback/priority.js';

/** a small deterministic generator (mulberry32), so a failure repeats */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

it('5,000 entries (past several growths) come back whole, sorted by tier, value descending, id', () => {
  const r = rng(7);
  const codes = ['seg-a', 'seg-b', 'seg-c'];
  const entries: PlanEntry[] = [];
  for (let i = 0; i < 5000; i++) {
    entries.push({
      id: 1 + Math.floor(r() * 9_000_000_000), // ids beyond 32 bits survive
      tier: (1 + Math.floor(r() * 3)) as Tier,
      value: r() < 0.3 ? 0 : Math.round(r() * 1000) / 10, // ties on value, broken by id
      saved: r() < 0.4 ? null : codes[Math.floor(r() * 3)]!,
    });
  }
  const plan = new PlanOrder();
  for (const e of entries) plan.push(e);
  plan.sort();
  expect(plan.length).toBe(5000);
  const want = [...entries].sort((a, b) => a.tier - b.tier || b.value - a.value || a.id - b.id);
  const got = Array.from({ length: plan.length }, (_, k) => plan.at(k));
  expect(got).toEqual(want);
  expect(plan.count(1)).toBe(entries.filter((e) => e.tier === 1).length);
  expect(plan.count(3)).toBe(entries.filter((e) => e.tier === 3).length);
});

it('an empty plan sorts to nothing; nothing is added after the sort, nothing read before it', () => {
  const empty = new PlanOrder();
  empty.sort();
  expect(empty.length).toBe(0);
  expect(empty.count(1)).toBe(0);
  const plan = new PlanOrder();
  plan.push({ id: 5, tier: 2, value: 1, saved: null });
  expect(() => plan.at(0)).toThrow(/not sorted/);
  plan.sort();
  expect(plan.at(0)).toEqual({ id: 5, tier: 2, value: 1, saved: null });
  expect(() => plan.push({ id: 6, tier: 1, value: 1, saved: null })).toThrow(/sorted/);
});
