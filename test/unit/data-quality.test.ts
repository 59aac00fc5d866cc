/**
 * The pure parts of the data-quality checks: duplicate groups are the connected components of
 * shared values (a chain a–b, b–c is one group), and the generator plants exactly the problems it
 * is asked for, on distinct deals, the same for the same seed.
 */
import { describe, expect, it } from 'vitest';
import { duplicateGroups } from '../../src/pipeline/data-quality.js';
import { generatePortal, NO_RATE_CURRENCY } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { stageSemantic } from '../../src/emulator/methods/schema.js';

describe('duplicateGroups', () => {
  it('joins records linked through any chain of shared values; separate chains stay apart', () => {
    const g = duplicateGroups([[1, 2], [2, 3], [7, 9], [9, 3], [20, 21]]);
    expect(Object.fromEntries(g)).toEqual({ 1: 1, 2: 1, 3: 1, 7: 1, 9: 1, 20: 20, 21: 20 });
    expect(duplicateGroups([]).size).toBe(0);
  });
});

describe('generator: planted data-quality problems', () => {
  const gen = () => {
    const p = new Portal({ clock: new PortalClock(Date.UTC(2026, 0, 1), 1) });
    const s = generatePortal(p, { contacts: 300, seed: 9, quality: { zeroWon: 3, noCustomer: 4, noRate: 5, duplicates: 6 } });
    return { p, s };
  };
  it('plants what was asked, on distinct won deals, deterministically', () => {
    const { p, s } = gen();
    expect(s.quality).toEqual({ zeroWon: 3, noCustomer: 4, noRate: 5, duplicates: 6 });
    const won = [...p.deals.values()].filter((d) => stageSemantic(p, d.stageId) === 'S');
    const zero = won.filter((d) => d.opportunity === 0).map((d) => d.id);
    const orphan = won.filter((d) => d.contactIds.length === 0 && !d.companyId).map((d) => d.id);
    const noRate = won.filter((d) => d.currencyId === NO_RATE_CURRENCY).map((d) => d.id);
    expect([zero.length, orphan.length, noRate.length]).toEqual([3, 4, 5]);
    expect(new Set([...zero, ...orphan, ...noRate]).size).toBe(12);
    expect(p.currencies.some((c) => c.currency === NO_RATE_CURRENCY)).toBe(false);
    const again = gen().p;
    expect([...again.deals.values()].filter((d) => d.currencyId === NO_RATE_CURRENCY).map((d) => d.id)).toEqual(noRate);
  });
  it('without the option the portal is as before (nothing planted)', () => {
    const p = new Portal({ clock: new PortalClock(Date.UTC(2026, 0, 1), 1) });
    const s = generatePortal(p, { contacts: 300, seed: 9 });
    expect(s.quality).toEqual({ zeroWon: 0, noCustomer: 0, noRate: 0, duplicates: 0 });
    expect([...p.deals.values()].some((d) => d.currencyId === NO_RATE_CURRENCY)).toBe(false);
  });
});
