/**
 * The dashboard's data-quality panel in Chromium through the emulator's portal page: a portal with
 * planted problems shows each count equal to a count over the emulator's records, the > 1 % warning
 * banner, and the zero-amount list link opens the portal's deal list (BX24.openPath slider) filtered
 * to exactly those deals. Screenshot: dashboard-data-quality.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { startUiStack, type UiStack } from './helpers/ui-stack.js';

const SHOTS = new URL(process.env.UPDATE_README_SHOTS ? './screenshots/ui/' : './screenshots/tmp/ui/', import.meta.url).pathname;

describe('the data-quality panel (emulator + app + chromium)', () => {
  let s: UiStack;

  beforeAll(async () => {
    s = await startUiStack({
      contacts: 300, seed: 13, clientId: 'local.uidq.0001', shots: SHOTS, runs: [{ daysAgo: 0 }],
      quality: { zeroWon: 4, noCustomer: 3, noRate: 25, duplicates: 3 },
    });
  }, 240_000);
  afterAll(async () => {
    await s?.close();
  });

  it('shows the counts of the emulator\'s records, warns, and opens the zero-amount deals in the CRM list', async () => {
    const p = s.emu.portal;
    const rated = new Set(p.currencies.map((c) => c.currency));
    const deals = [...p.deals.values()];
    const zeroWon = deals.filter((d) => stageSemantic(p, d.stageId) === 'S' && d.opportunity === 0).length;
    const noCustomer = deals.filter((d) => d.contactIds.length === 0 && !d.companyId).length;
    const noRate = deals.filter((d) => !rated.has(d.currencyId)).length;
    expect(zeroWon).toBeGreaterThanOrEqual(4);

    const { page, f } = await s.open(1);
    await f.locator('[data-nav="dashboard"]').click();
    const count = (k: string) => f.locator(`[data-testid="dq-${k}-count"]`);
    await count('zeroWon').waitFor({ timeout: 15_000 });
    expect(await count('zeroWon').textContent()).toBe(String(zeroWon));
    expect(await count('noCustomer').textContent()).toBe(String(noCustomer));
    expect(await count('noRate').textContent()).toBe(String(noRate));
    const warning = f.locator('[data-testid="dq-warning"]');
    expect(await warning.isVisible()).toBe(true);
    expect(await warning.textContent()).toContain('Deals in currencies without a rate');
    await f.locator('[data-role="data-quality"]').scrollIntoViewIfNeeded();
    await s.shot(page, 'dashboard-data-quality');

    await f.locator('[data-testid="dq-zeroWon-list"]').click();
    const slider = page.locator('.slider-overlay[data-path="/crm/deal/list/"]');
    await slider.waitFor({ timeout: 15_000 });
    const inner = page.frameLocator('.slider-overlay iframe.slider-page');
    expect(await inner.locator('#deal-total').textContent()).toBe(`${zeroWon} deals`);
    expect(await inner.locator('#deals tbody tr').count()).toBe(zeroWon);
    await page.close();
  });
});
