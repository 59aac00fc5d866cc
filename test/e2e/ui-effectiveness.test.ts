/**
 * The Effectiveness page in Chromium through the emulator's portal page: the admin opens the tab,
 * sees the conversion of the Champions of the run 120 days back (the latest whose 90-day window
 * has elapsed) equal to a recomputation from the emulator's deals, and the latest run's figures
 * as "—" with the note that its window has not ended. Screenshot: effectiveness.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { startUiStack, type UiStack } from './helpers/ui-stack.js';

const SHOTS = new URL(process.env.UPDATE_README_SHOTS ? './screenshots/ui/' : './screenshots/tmp/ui/', import.meta.url).pathname;

describe('the Effectiveness page (emulator + app + chromium)', () => {
  let s: UiStack;

  beforeAll(async () => {
    s = await startUiStack({ contacts: 400, seed: 11, clientId: 'local.uieff.0001', shots: SHOTS, runs: [{ daysAgo: 200 }, { daysAgo: 150 }, { daysAgo: 120 }, { daysAgo: 60 }, { daysAgo: 0 }] });
  }, 240_000);
  afterAll(async () => {
    await s?.close();
  });

  it('shows the Champions\' 90-day conversion of the run 120 days back as recomputed from the emulator, and the latest run as unfinished', async () => {
    const { rows: runs } = await s.db.query<{ id: number; asOf: string }>(
      `SELECT id::int AS id, to_char(as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS "asOf" FROM score_runs WHERE portal_id = $1 ORDER BY id`, [s.portalId]);
    const run = runs[2]!;
    const { rows } = await s.db.query<{ id: number }>(`SELECT contact_id::int AS id FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND segment = 'champions'`, [s.portalId, run.id]);
    const members = new Set(rows.map((r) => r.id));
    const end = new Date(Date.parse(`${run.asOf}T00:00:00Z`) + 90 * 86_400_000).toISOString().slice(0, 10);
    const converted = new Set<number>();
    for (const d of s.emu.portal.deals.values()) {
      if (stageSemantic(s.emu.portal, d.stageId) !== 'S' || d.closeDate <= run.asOf || d.closeDate > end) continue;
      for (const c of d.contactIds) if (members.has(c)) converted.add(c);
    }
    expect(members.size).toBeGreaterThan(0);
    const want = new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 }).format(converted.size / members.size);

    const { page, f } = await s.open(1);
    await f.locator('[data-nav="effectiveness"]').click();
    const cell = f.locator('[data-role="eff-table"] tr[data-segment="champions"] td[data-col="conversion"]');
    await cell.waitFor({ timeout: 15_000 });
    expect(await cell.textContent()).toBe(want);
    expect(await f.locator('[data-role="eff-table"] tr[data-segment="champions"] td').nth(1).textContent()).toBe(String(members.size));
    // the chart draws the runs 200, 150 and 120 days back
    const points = await f.evaluate(() => (window as unknown as { __effOptions: () => { xAxis: { data: string[] } } }).__effOptions().xAxis.data.length);
    expect(points).toBe(3);
    await s.shot(page, 'effectiveness');
    // the latest run: its window has not ended, so "—" and a note, never 0
    await f.locator('[data-role="eff-run"]').selectOption(String(runs[4]!.id));
    await f.locator('[data-role="eff-incomplete"]').waitFor({ timeout: 15_000 });
    expect(await cell.textContent()).toBe('—');
    await page.close();
  });

  it('no horizontal scroll at 1000 px: the wide table scrolls inside its card', async () => {
    const { page, f } = await s.open(1, { width: 1000 });
    await f.locator('[data-nav="effectiveness"]').click();
    await f.locator('[data-role="eff-table"]').waitFor({ timeout: 15_000 });
    await page.waitForTimeout(500);
    expect(await f.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await page.close();
  });
});
