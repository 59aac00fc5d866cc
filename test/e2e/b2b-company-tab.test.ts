/**
 * B2B in Chromium through the emulator's portal page (issue 14 item 1): a company card of the
 * portal shows the company's labels twice, as the CRM's own user fields (written back with
 * crm.company.update, the same UF_CRM_SEG_* names as contacts) and in the app's
 * CRM_COMPANY_DETAIL_TAB tab (segment, RFM, revenue, and the company's contacts). In the app, the
 * Effectiveness page's contacts / companies switch shows the companies' segments, and the filter
 * builder over companies does not offer the conditions about a person; its "any field" offers the
 * company's own fields (crm.company.fields) and counts the companies. In Settings, an automation
 * rule can watch companies (saved with entity 'company'), and the preview switches to the companies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestScoreRun } from '../../src/store/index.js';
import { clientForPortal } from '../../src/portal-clients.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { segmentText } from '../../src/scoring/index.js';
import { getPortal } from '../../src/store/index.js';
import { rulesFromSettings } from '../../src/automation/rules.js';
import { startUiStack, type UiStack } from './helpers/ui-stack.js';

// with UPDATE_README_SHOTS=1 the screenshot goes to test/e2e/screenshots/ui/ (docs/ui.md shows it)
const SHOTS = new URL(process.env.UPDATE_README_SHOTS ? './screenshots/ui/' : './screenshots/tmp/b2b/', import.meta.url).pathname;
const CLIENT = 'local.b2btab.0001';

describe('B2B: the company card in the portal page', () => {
  let s: UiStack;

  beforeAll(async () => {
    s = await startUiStack({ contacts: 240, seed: 23, clientId: CLIENT, shots: SHOTS, b2b: true, runs: [{ daysAgo: 0 }] });
    const w = await runWriteBack(s.db, s.portalId, clientForPortal(s.db, s.portalId, { clientId: CLIENT, clientSecret: 'ui-test-secret' }));
    expect(w.companies!.written).toBeGreaterThan(0);
  }, 240_000);
  afterAll(async () => {
    await s?.close();
  });

  it('the company card shows the company fields and the app tab with its labels and contacts', async () => {
    const run = (await latestScoreRun(s.db, s.portalId))!;
    const { rows } = await s.db.query<{ id: number; segment: string; rfm: string }>(
      `SELECT company_id::int AS id, segment, rfm FROM company_labels WHERE portal_id = $1 AND run_id = $2 AND frequency > 0
        ORDER BY monetary DESC, company_id LIMIT 1`, [s.portalId, run.id]);
    const co = rows[0]!;
    const name = segmentText(co.segment as Parameters<typeof segmentText>[0], 'en').name;
    const contacts = [...s.emu.portal.contacts.values()].filter((c) => c.companyId === co.id).map((c) => c.id).sort((a, b) => a - b);
    expect(contacts.length).toBeGreaterThan(0);

    const page = await s.browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${s.emu.url}crm/company/details/${co.id}/?user=1`);
    // the CRM's own field, as any CRM user sees it on the card (and filters on it)
    expect(await page.locator('#company-uf tr[data-field="UF_CRM_SEG_SEGMENT"] td').textContent()).toBe(name);
    expect(await page.locator('#company-uf tr[data-field="UF_CRM_SEG_RFM"] td').textContent()).toBe(co.rfm);
    // the app's tab
    await page.locator('#card-tabs button[data-placement-id]').click();
    const f = await s.frameOf(page);
    await f.waitForSelector('[data-page="company"] [data-role="segment"]', { timeout: 30_000 });
    expect((await f.locator('[data-role="segment"]').textContent())!.trim()).toBe(name);
    expect(await f.locator('[data-role="rfm"]').textContent()).toBe(co.rfm);
    const shown = await f.locator('[data-role="company-contacts"] li[data-contact-id]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-contact-id'))));
    expect(shown).toEqual(contacts);
    await s.shot(page, 'b2b-company-tab');
    await page.close();
  });

  it('the Effectiveness page switches to companies (members = the run\'s companies); the filter builder over companies offers no age or job title, and "any field" with the company\'s own fields', async () => {
    const run = (await latestScoreRun(s.db, s.portalId))!;
    const { rows } = await s.db.query<{ segment: string; n: number }>(
      `SELECT COALESCE(segment, 'none') AS segment, count(*)::int AS n FROM company_labels WHERE portal_id = $1 AND run_id = $2 GROUP BY 1`, [s.portalId, run.id]);
    const want = new Map(rows.map((r) => [r.segment, r.n]));
    expect([...want.values()].reduce((a, b) => a + b, 0)).toBe(s.emu.portal.companies.size);
    const { page, f } = await s.open(1);
    await f.locator('[data-nav="effectiveness"]').click();
    await f.locator('[data-role="eff-table"]').waitFor({ timeout: 15_000 });
    await f.locator('[data-page="effectiveness"] [data-role="entity-switch"] [data-entity="company"]').click();
    await f.waitForFunction((n) => document.querySelectorAll('[data-role="eff-table"] tr[data-segment]').length === n, want.size, { timeout: 15_000 });
    const shown = await f.locator('[data-role="eff-table"] tr[data-segment]').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-segment'), Number(tr.querySelectorAll('td')[1]!.textContent!.replace(/\D/g, ''))] as const));
    expect(new Map(shown)).toEqual(want);
    // the segment list over companies: the conditions about a person are not offered, any field is (the company's own)
    await f.locator('[data-nav="segments"]').click();
    await f.locator('[data-role="entity-switch"] [data-entity="company"]').click();
    const kinds = await f.locator('[data-action="add-condition"] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(kinds).toContain('company_industry');
    expect(kinds).toContain('created');
    expect(kinds).toContain('crm');
    for (const k of ['age', 'post']) expect(kinds).not.toContain(k);
    await f.locator('[data-action="clear"]').click();
    await f.locator('[data-action="add-condition"]').selectOption('crm');
    const crm = f.locator('[data-kind="crm"]').first();
    expect(await crm.locator('[data-role="field-help"]').textContent()).toBe('Any standard or custom field of the company; the conditions follow the field\'s type.');
    const keys = await crm.locator('[data-role="crm-field"] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    // crm.company.fields: the company's own fields, not the contact's
    expect(keys).toEqual(expect.arrayContaining(['TITLE', 'COMPANY_TYPE', 'COMMENTS']));
    for (const k of ['NAME', 'HONORIFIC', 'BIRTHDATE', 'INDUSTRY']) expect(keys).not.toContain(k);
    await crm.locator('[data-role="crm-field"]').selectOption('TITLE');
    // the most common (ASCII) first word of the titles: the companies whose title contains it, counted here from the emulator's records
    const words = new Map<string, number>();
    for (const c of s.emu.portal.companies.values()) {
      const w = c.title.split(' ')[0]!;
      if (/^[A-Za-z]+$/.test(w)) words.set(w, (words.get(w) ?? 0) + 1); // ASCII: no locale in the case folding
    }
    const word = [...words.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const titled = [...s.emu.portal.companies.values()].filter((c) => c.title.toLowerCase().includes(word.toLowerCase())).length;
    expect(titled).toBeGreaterThan(0);
    expect(titled).toBeLessThan(s.emu.portal.companies.size);
    await crm.locator('[data-role="text"]').fill(word);
    await expect.poll(() => f.locator('[data-role="count"]').textContent(), { timeout: 15_000 }).toBe(String(titled));
    await f.locator('[data-action="clear"]').click();
    await f.locator('[data-role="entity-switch"] [data-entity="contact"]').click();
    expect(await f.locator('[data-action="add-condition"] option[value="age"]').count()).toBe(1);
    await page.close();
  });

  it('Settings: a rule set to watch companies is saved as a company rule; the preview switches to the companies', async () => {
    const { page, f } = await s.open(1);
    await f.locator('[data-nav="settings"]').click();
    await f.waitForSelector('[data-action="add-rule"]');
    const before = await f.locator('[data-role="automation-rule"]').count();
    await f.locator('[data-action="add-rule"]').click();
    const rule = f.locator('[data-role="automation-rule"]').last();
    expect(await rule.locator('[data-role="rule-entity"] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).textContent))).toEqual(['Contacts', 'Companies']);
    await rule.locator('[data-role="rule-entity"]').selectOption('company');
    await rule.locator('[data-role="rule-trigger"]').selectOption('becameSleeping');
    await rule.locator('[data-role="rule-action"]').selectOption('comment');
    await rule.locator('[data-path$="action.text"]').fill('{name} fell asleep');
    await f.locator('[data-action="save-settings"]').click();
    await f.waitForSelector('text=Settings saved');
    const { rules, error } = rulesFromSettings((await getPortal(s.db, s.portalId))!.settings);
    expect(error).toBeNull();
    expect(rules).toHaveLength(before + 1);
    expect(rules.at(-1)).toMatchObject({ entity: 'company', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: '{name} fell asleep' } });

    await f.locator('[data-action="preview"]').click();
    await f.waitForSelector('[data-role="preview-title"]', { timeout: 30_000 });
    expect(await f.locator('[data-role="preview-title"]').textContent()).toMatch(/contact/);
    await f.locator('[data-role="preview"] [data-role="entity-switch"] [data-entity="company"]').click();
    await f.waitForFunction(() => /compan/.test(document.querySelector('[data-role="preview-title"]')?.textContent ?? ''), undefined, { timeout: 30_000 });
    // the sizes before are the companies' labels of the latest run
    const run = (await latestScoreRun(s.db, s.portalId))!;
    const { rows } = await s.db.query<{ segment: string; n: number }>(
      `SELECT segment, count(*)::int AS n FROM company_labels WHERE portal_id = $1 AND run_id = $2 AND segment IS NOT NULL GROUP BY 1`, [s.portalId, run.id]);
    const before2 = await f.locator('[data-role="preview-sizes"] tr[data-segment]').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-segment'), Number(tr.querySelectorAll('td')[1]!.textContent!.replace(/\D/g, ''))] as const));
    expect(new Map(before2.filter(([, n]) => n > 0))).toEqual(new Map(rows.map((r) => [r.segment, r.n])));
    await page.close();
  });
});
