/**
 * A full campaign, end to end, on a living portal (issue 15 "done when"): the emulator's portal
 * lives on (generated customers go on buying) and gives customers a workflow was started on twice
 * their purchase rate (uplift R = 1); the app syncs and scores it, a campaign is made from a saved
 * segment with a 50 % holdout, its start step starts the workflow on the treatment group, 14 portal
 * days pass, a treatment member converts (a won deal made in the portal), the sync brings it in and
 * the reminder step leaves out every member who converted (counts recomputed from the portal's
 * deals), the 90-day window passes, and the measurement's 90 % interval holds the planted lift of
 * 1.0 (the lift itself recomputed from the portal's deals). The admin then opens the Campaigns page
 * in Chromium and sees the same lift, interval and ROI. Screenshot: campaign-loop.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaign, measureCampaign, runDueSteps, type CampaignMeasure } from '../../src/campaigns/index.js';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { runScoring } from '../../src/pipeline/score.js';
import { updatePortalSettings } from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';
import { startUiStack, type UiStack } from './helpers/ui-stack.js';

const SHOTS = new URL(process.env.UPDATE_README_SHOTS ? './screenshots/ui/' : './screenshots/tmp/ui/', import.meta.url).pathname;
const DAY = 86_400_000;
const R = 1;
const WINDOW = 90;

describe('a campaign on a living portal (emulator + app + chromium)', () => {
  let s: UiStack;
  beforeAll(async () => {
    s = await startUiStack({ contacts: 700, seed: 23, clientId: 'local.uicmp.0001', shots: SHOTS, runs: [], live: { uplift: R, startDaysAgo: 100 } });
  }, 240_000);
  afterAll(async () => {
    await s?.close();
  });

  const p = () => s.emu.portal;
  const now = () => new Date(p().clock.now());
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  const advance = async (days: number) => {
    const r = await fetch(`${s.emu.url}_emulator/live/advance`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ days }) });
    expect(r.status).toBe(200);
  };
  /** Won deals per contact from the portal's own records: close days. */
  const wonDays = (): Map<number, string[]> => {
    const out = new Map<number, string[]>();
    for (const d of p().deals.values()) {
      if (stageSemantic(p(), d.stageId) !== 'S') continue;
      for (const c of new Set(d.contactIds)) out.set(c, [...(out.get(c) ?? []), d.closeDate]);
    }
    return out;
  };
  /** Contacts a workflow was started on since `from` (an index into the portal's record). */
  const startedSince = (from: number) => p().workflowStarts.slice(from).map((w) => Number(w.documentId[2].replace('CONTACT_', ''))).sort((a, b) => a - b);

  it('segment → campaign with holdout → steps (converted members dropped) → planted lift measured → ROI in the UI', { timeout: 300_000 }, async () => {
    const client = s.client();
    await runSync({ db: s.db, portalId: s.portalId, client }, { kind: 'full' });
    await runScoring(s.db, s.portalId, now());
    await updatePortalSettings(s.db, s.portalId, {
      savedSegments: [{ id: 'buyers', name: 'Buyers', filter: { all: [{ field: 'range', key: 'frequency', min: 1 }] }, priority: 0 }],
      effectiveness: { marginPercent: 30 },
    });
    const start = p().clock.now();
    const made = await createCampaign(s.db, s.portalId, {
      name: 'Spring offer', savedSegmentId: 'buyers', entity: 'contact', holdoutShare: 0.5, windowDays: WINDOW,
      action: { type: 'workflow', templateId: s.templateId },
      steps: [{ kind: 'start', at: new Date(start).toISOString() }, { kind: 'reminder', at: new Date(start + 14 * DAY).toISOString() }],
      costFixed: 300, costPerMessage: 0.5, startAt: new Date(start).toISOString(),
    }, now(), 1, { seed: 'e2e-campaign-loop' });
    const { rows: mem } = await s.db.query<{ id: number; grp: string }>(`SELECT customer_id::int AS id, grp FROM campaign_members WHERE portal_id = $1 AND campaign_id = $2`, [s.portalId, made.id]);
    const treatment = mem.filter((m) => m.grp === 'treatment').map((m) => m.id).sort((a, b) => a - b);
    const holdout = mem.filter((m) => m.grp === 'holdout').map((m) => m.id);
    // the members: every contact with a won deal (frequency ≥ 1), recounted from the portal
    const buyers = [...wonDays().keys()].filter((c) => p().contacts.has(c));
    expect(made.members).toBe(buyers.length);
    expect(made.holdout).toBe(holdout.length);
    expect(holdout.length / made.members).toBeGreaterThan(0.4);
    expect(holdout.length / made.members).toBeLessThan(0.6);

    // step 1: the workflow starts on every treatment member (but those who bought earlier on the start day), on none of the holdout
    const startDay = day(start);
    const convertedBy = (to: string) => new Set(treatment.filter((c) => (wonDays().get(c) ?? []).some((d) => d >= startDay && d <= to)));
    const early = convertedBy(startDay);
    const w0 = p().workflowStarts.length;
    const r1 = await runDueSteps(s.db, client, s.portalId, now());
    expect(r1.planned).toEqual([{ campaignId: made.id, step: 0, kind: 'start', targeted: treatment.length - early.size, dropped: early.size }]);
    expect(startedSince(w0)).toEqual(treatment.filter((c) => !early.has(c)));

    // 14 portal days of the living portal; one more treatment member converts by hand
    await advance(14);
    const today = day(p().clock.now());
    const buyer = treatment.find((c) => !convertedBy(today).has(c))!;
    const add = await fetch(`${s.emu.url}_emulator/call/crm.deal.add`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ fields: { TITLE: 'Bought after the offer', STAGE_ID: 'WON', CONTACT_ID: buyer, OPPORTUNITY: 480, CURRENCY_ID: p().baseCurrency, CLOSEDATE: today } }),
    });
    expect(add.status).toBe(200);
    const dropped = convertedBy(today);
    expect(dropped.has(buyer)).toBe(true);
    expect(dropped.size).toBeGreaterThan(1); // the living portal converted some by itself too
    await runSync({ db: s.db, portalId: s.portalId, client }, { kind: 'incremental' });

    // step 2: the reminder leaves out exactly the members who converted since the start
    const w1 = p().workflowStarts.length;
    const r2 = await runDueSteps(s.db, client, s.portalId, now());
    expect(r2.planned).toEqual([{ campaignId: made.id, step: 1, kind: 'reminder', targeted: treatment.length - dropped.size, dropped: dropped.size }]);
    expect(startedSince(w1)).toEqual(treatment.filter((c) => !dropped.has(c)));

    // the window passes; the measurement holds the planted lift, and equals the portal's own count
    await advance(WINDOW + 1 - 14);
    await runSync({ db: s.db, portalId: s.portalId, client }, { kind: 'incremental' });
    const m: CampaignMeasure = await measureCampaign(s.db, s.portalId, made.id, now());
    expect(m.complete).toBe(true);
    const end = day(start + WINDOW * DAY);
    const purchases = (ids: number[]) => ids.reduce((a, c) => a + (wonDays().get(c) ?? []).filter((d) => d >= startDay && d < end).length, 0);
    const lift = (purchases(treatment) / treatment.length) / (purchases(holdout) / holdout.length) - 1;
    expect(m.lift).toBeCloseTo(lift, 9);
    expect(m.ciLow!).toBeLessThanOrEqual(R);
    expect(m.ciHigh!).toBeGreaterThanOrEqual(R);
    expect(m.ciLow!).toBeGreaterThan(0); // and it is significant: the whole interval above no change
    expect(m.roi).not.toBeNull();

    // the admin sees it on the Campaigns page
    const { page, f } = await s.open(1);
    await f.locator('[data-nav="campaigns"]').click();
    await f.locator(`tr[data-campaign="${made.id}"] a`).click();
    const liftCell = f.locator('[data-testid="campaign-lift"]');
    await liftCell.waitFor({ timeout: 20_000 });
    const pct = (x: number) => new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 }).format(x);
    expect(await liftCell.textContent()).toBe(pct(m.lift!));
    expect(await f.locator('[data-testid="campaign-ci"]').textContent()).toContain(`${pct(m.ciLow!)} … ${pct(m.ciHigh!)}`);
    expect(await f.locator('[data-testid="campaign-roi"]').textContent()).toBe(pct(m.roi!));
    const num = (x: number) => new Intl.NumberFormat('en-US').format(x);
    expect(await f.locator('[data-testid="campaign-treated"]').textContent()).toBe(num(treatment.length));
    expect(await f.locator('[data-testid="campaign-holdout"]').textContent()).toBe(num(holdout.length));
    await s.shot(page, 'campaign-loop');
    await page.close();
  });
});
