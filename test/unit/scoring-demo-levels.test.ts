/**
 * Item 6 of issue 14: on the demo portal (`npm run demo`: 500 contacts, generator seed 42) most
 * customers buy once, and the default 5-level quantile F must still populate every level, so the
 * dashboard's R×F heat map has no empty row or column. The scoring input is built here from the
 * emulator's raw deals (won stages read from its status table), not through the app's store.
 */
import { describe, expect, it } from 'vitest';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { DEFAULT_SETTINGS, scorePortal, type CustomerInput } from '../../src/scoring/index.js';

const NOW = Date.UTC(2026, 4, 15, 12, 0, 0);
const DAY = 86_400_000;

function demoPortal(): Portal {
  const portal = new Portal({ memberId: 'demo-levels', clock: new PortalClock(NOW, 1, () => 0) });
  generatePortal(portal, { contacts: 500, seed: 42 }); // the demo's defaults (src/demo.ts)
  return portal;
}

/** Won deals per contact straight from the emulator's tables. */
function customersOf(portal: Portal): CustomerInput[] {
  const won = new Set(portal.statuses.filter((s) => s.entityId.startsWith('DEAL_STAGE') && s.semantics === 'S').map((s) => s.statusId));
  const byContact = new Map<number, Array<{ date: string; amount: number }>>();
  for (const d of portal.deals.values()) {
    if (!won.has(d.stageId)) continue;
    for (const c of d.contactIds) {
      const l = byContact.get(c) ?? [];
      l.push({ date: d.closeDate, amount: d.opportunity });
      byContact.set(c, l);
    }
  }
  return [...portal.contacts.keys()].map((id) => ({ id: String(id), won: byContact.get(id) ?? [] }));
}

/** Purchase days (a day's deals added up; a day at or below 0 with a refund is no purchase). */
function purchaseDays(won: readonly { date: string; amount: number }[]): string[] {
  const byDay = new Map<string, { sum: number; allZero: boolean }>();
  for (const w of won) {
    const d = byDay.get(w.date) ?? { sum: 0, allZero: true };
    d.sum += w.amount;
    d.allZero &&= w.amount === 0;
    byDay.set(w.date, d);
  }
  return [...byDay].filter(([, d]) => d.sum > 0 || d.allZero).map(([day]) => day).sort();
}

describe('the demo portal: every F and R level has members (default settings)', () => {
  const portal = demoPortal();
  const customers = customersOf(portal);
  const asOf = new Date(NOW).toISOString().slice(0, 10);
  const run = scorePortal({ asOf, customers }, DEFAULT_SETTINGS);
  const buyers = customers.map((c) => ({ id: c.id, days: purchaseDays(c.won as { date: string; amount: number }[]) })).filter((c) => c.days.length > 0);
  const byId = new Map(run.customers.map((c) => [c.id, c]));

  it('most buyers buy on one day only (the case the tie rule is for)', () => {
    const once = buyers.filter((b) => b.days.length === 1).length;
    expect(once / buyers.length).toBeGreaterThan(0.5);
    expect(run.customers.filter((c) => c.f !== null)).toHaveLength(buyers.length);
  });

  it('F: levels 1–5 all populated; 1, 2, 3 and 4 purchase days each have their own level', () => {
    const perLevel = [1, 2, 3, 4, 5].map((l) => buyers.filter((b) => byId.get(b.id)!.f === l).length);
    for (const n of perLevel) expect(n).toBeGreaterThan(0);
    // recomputed from the purchase days counted above
    for (const b of buyers) {
      const want = Math.min(b.days.length, 5);
      expect(byId.get(b.id)!.f, `contact ${b.id}: ${b.days.length} purchase days`).toBe(want);
    }
    expect(run.thresholds!.frequency.bounds).toEqual([1, 2, 3, 4]);
  });

  it('R: levels 1–5 all populated, and a more recent buyer never has a lower R', () => {
    const perLevel = [1, 2, 3, 4, 5].map((l) => run.customers.filter((c) => c.r === l).length);
    for (const n of perLevel) expect(n).toBeGreaterThan(0);
    const rec = buyers.map((b) => ({ id: b.id, days: Math.round((Date.parse(`${asOf}T00:00:00Z`) - Date.parse(`${b.days.at(-1)!}T00:00:00Z`)) / DAY), r: byId.get(b.id)!.r! }));
    for (const a of rec) expect(byId.get(a.id)!.recencyDays).toBe(a.days);
    rec.sort((a, b) => a.days - b.days);
    for (let i = 1; i < rec.length; i++) expect(rec[i]!.r).toBeLessThanOrEqual(rec[i - 1]!.r);
  });

  it('the R×F heat map has no empty row or column', () => {
    const cells = new Set(run.customers.filter((c) => c.r !== null).map((c) => `${c.r}:${c.f}`));
    for (let l = 1; l <= 5; l++) {
      expect([1, 2, 3, 4, 5].some((f) => cells.has(`${l}:${f}`)), `row R=${l}`).toBe(true);
      expect([1, 2, 3, 4, 5].some((r) => cells.has(`${r}:${l}`)), `column F=${l}`).toBe(true);
    }
  });
});
