/**
 * A sales manager's day (issue 13), in Chromium through the emulator's portal page, as the users
 * concerned (the emulator enforces their CRM roles): a manager (own contacts only), the head of
 * sales (department and below) and the admin, in English and Russian. Each test asserts what the
 * user sees: counts, names, messages, file contents.
 *
 * The portal is scored four times: 95 and 40 days ago with the default settings, then 8 days ago
 * and today after the admin changed a sleeping threshold (a change of rules between the 40- and
 * the 8-day run). Screenshots go to test/e2e/screenshots/tmp/ui/ (with UPDATE_README_SHOTS=1 to
 * test/e2e/screenshots/ui/, the ones docs/ui.md shows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, Page } from 'playwright-core';
import { createSyncRun, finishSyncRun, latestScoreRun, updateSyncProgress } from '../../src/store/index.js';
import { startUiStack, type UiStack } from './helpers/ui-stack.js';

const SHOTS = new URL(process.env.UPDATE_README_SHOTS ? './screenshots/ui/' : './screenshots/tmp/ui/', import.meta.url).pathname;
const MANAGER = 3;
const HEAD = 2;
const ADMIN = 1;

describe('a sales manager\'s day in the portal frame (emulator + app + chromium)', () => {
  let s: UiStack;

  const sql = async (where: string, params: unknown[] = []): Promise<number> => {
    const run = (await latestScoreRun(s.db, s.portalId))!;
    const { rows } = await s.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        WHERE l.portal_id = $1 AND l.run_id = $2 AND ${where}`, [s.portalId, run.id, ...params]);
    return rows[0]!.n;
  };
  const own = (user: number) => [...s.emu.portal.contacts.values()].filter((c) => c.assignedById === user);
  const userName = (id: number) => { const u = s.emu.portal.users.get(id)!; return `${u.name} ${u.lastName}`; };
  const count = (f: Frame) => f.locator('[data-role="count"]').textContent();
  const rowIds = (f: Frame) => f.locator('[data-role="list"] tbody tr[data-contact]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-contact'))));
  const listed = (f: Frame) => f.waitForFunction(() => document.querySelectorAll('[data-role="list"] tbody tr[data-contact]').length > 0, undefined, { timeout: 15_000 });
  const csvOf = async (f: Frame) => {
    await f.evaluate(() => { delete (window as unknown as { __lastCsv?: string }).__lastCsv; });
    await f.locator('[data-action="export"]').click();
    await f.waitForFunction(() => typeof (window as unknown as { __lastCsv?: string }).__lastCsv === 'string', undefined, { timeout: 15_000 });
    return f.evaluate(() => (window as unknown as { __lastCsv: string }).__lastCsv);
  };
  const appFrames = (p: Page) => p.frames().filter((x) => x.url().startsWith(s.origin));

  beforeAll(async () => {
    s = await startUiStack({
      contacts: 400, seed: 11, clientId: 'local.uiday.0001', shots: SHOTS,
      runs: [{ daysAgo: 95 }, { daysAgo: 40 }, { daysAgo: 8, scoring: { sleeping: { missedCycles: 2 } } }, { daysAgo: 0 }],
    });
  }, 240_000);
  afterAll(async () => {
    await s?.close();
  });

  it('a manager sees exact numbers of their own contacts, finds one by phone, sees names not IDs, and exports the one row', async () => {
    const { page, f } = await s.open(MANAGER);
    const mine = own(MANAGER).find((c) => c.fm.some((m) => m.typeId === 'PHONE'))!;
    const phone = mine.fm.find((m) => m.typeId === 'PHONE')!.value;
    await f.locator('[data-action="clear"]').click();
    await f.locator('[data-role="search"]').fill(phone);
    await expect.poll(() => count(f), { timeout: 15_000 }).toBe('1');
    await listed(f);
    expect(await rowIds(f)).toEqual([mine.id]);
    const row = f.locator(`tr[data-contact="${mine.id}"]`);
    expect(await row.locator('[data-role="responsible"]').textContent()).toBe(userName(MANAGER));
    expect(await row.locator('[data-role="phone"]').textContent()).toContain(phone);
    expect(await f.locator('[data-role="list"]').innerText()).not.toMatch(/#\d+/);
    // one visible row: exact, and exportable (the small-group rule is for aggregates over hidden contacts)
    expect(await f.locator('[data-action="export"]').isDisabled()).toBe(false);
    const csv = (await csvOf(f)).replace(/^\uFEFF/, '').split('\r\n').filter(Boolean);
    expect(csv).toHaveLength(2);
    expect(csv[0]).toBe('ID,Name,Segment,Sleeping (overdue),Revenue,"Chance still buying, %",Last purchase,Responsible,City,Phone');
    expect(csv[1]).toContain(userName(MANAGER));
    // a ready-made view: valuable and falling asleep, exactly as many as the manager owns
    await f.locator('[data-role="search"]').fill('');
    await f.locator('[data-ready="valuable"]').click();
    const want = await sql('l.m >= 4 AND l.sleeping AND c.assigned_by_id = $3', [MANAGER]);
    await expect.poll(() => count(f), { timeout: 15_000 }).toBe(String(want));
    expect(await f.locator('[data-role="view-title"]').textContent()).toContain('Valuable, falling asleep');
    await s.shot(page, 'day-manager-ready-view');
    await page.close();
  });

  it('a manager gets every field explained, wrong input said at the row (never dropped), and the filter kept across tabs and a reload', async () => {
    const { page, f } = await s.open(MANAGER);
    await f.locator('[data-action="clear"]').click();
    await f.locator('[data-action="add-condition"]').selectOption('interests');
    const interests = f.locator('[data-kind="interests"]').first();
    expect(await interests.locator('[data-role="field-help"]').textContent()).toContain('365 days after the last purchase');
    expect(await interests.locator('[data-role="interests-when"] option').allTextContents()).toEqual(['bought within the tag\'s window', 'ever bought']);
    // a tag "bought within its window" and "ever bought": both filters, both exact
    const tag = (await interests.locator('[data-chip]').first().getAttribute('data-chip'))!;
    await interests.locator(`[data-chip="${tag}"]`).click();
    const active = await sql('$3 = ANY(l.interests) AND c.assigned_by_id = $4', [tag, MANAGER]);
    const ever = await sql(`COALESCE(l.extra->'interestsEver', to_jsonb(l.interests)) ? $3 AND c.assigned_by_id = $4`, [tag, MANAGER]);
    expect(ever).toBeGreaterThanOrEqual(active);
    await expect.poll(() => count(f), { timeout: 15_000 }).toBe(String(active));
    await interests.locator('[data-role="interests-when"]').selectOption('ever');
    await expect.poll(() => count(f), { timeout: 15_000 }).toBe(String(ever));
    await interests.locator('button', { hasText: 'Remove' }).click();
    await f.locator('[data-action="add-condition"]').selectOption('segment');
    const seg = f.locator('[data-kind="segment"]');
    await seg.locator('[data-chip="at_risk"]').focus();
    expect(await seg.locator('[data-role="chip-help"]').textContent()).toBe('Used to buy often, but have not bought for a long time.');
    // wrong input: said at the row, the count waits for it, nothing silently dropped
    await f.locator('[data-action="add-condition"]').selectOption('monetary');
    const money = f.locator('[data-kind="monetary"]');
    await money.locator('[data-role="min"]').fill('abc');
    expect(await money.locator('[data-role="row-error"]').textContent()).toBe('“abc” is not a number.');
    expect(await f.locator('[data-role="fix-rows"]').isVisible()).toBe(true);
    expect(await count(f)).toBe('—');
    await money.locator('[data-role="min"]').fill('500');
    await money.locator('[data-role="max"]').fill('100');
    expect(await money.locator('[data-role="row-error"]').textContent()).toBe('Min (500) is greater than max (100): no contact can match.');
    await s.shot(page, 'day-row-errors');
    await f.locator('[data-action="add-condition"]').selectOption('rfm');
    await f.locator('[data-kind="rfm"] [data-role="rfm"]').fill('555, 999');
    expect(await f.locator('[data-kind="rfm"] [data-role="row-error"]').textContent()).toBe('“999” is not an RFM cell: three digits from 1 to 5, e.g. 555.');
    await f.locator('[data-kind="rfm"] button', { hasText: 'Remove' }).click();
    await money.locator('[data-role="max"]').fill('');
    await seg.locator('[data-chip="at_risk"]').click();
    await f.locator('[data-role="search"]').fill('a');
    const want = await sql(`l.segment = 'at_risk' AND l.monetary >= 500 AND c.assigned_by_id = $3 AND (lower(concat_ws(' ', c.name, c.second_name, c.last_name)) LIKE '%a%')`, [MANAGER]);
    await expect.poll(() => count(f), { timeout: 15_000 }).toBe(String(want));
    // the Dashboard and back: the filter is still there (it lives in the route's query)
    await f.locator('[data-nav="dashboard"]').click();
    await f.waitForSelector('[data-page="dashboard"]');
    await f.locator('[data-nav="segments"]').click();
    await expect.poll(() => count(f), { timeout: 15_000 }).toBe(String(want));
    expect(await f.locator('[data-role="search"]').inputValue()).toBe('a');
    expect(await f.locator('[data-kind="segment"] [data-chip="at_risk"]').getAttribute('aria-pressed')).toBe('true');
    expect(await f.locator('[data-kind="monetary"] [data-role="min"]').inputValue()).toBe('500');
    // a reload of the portal page: the user's last state comes back
    await page.reload();
    const f2 = await s.frameOf(page);
    await f2.waitForSelector('[data-ready="yes"]', { timeout: 30_000 });
    await expect.poll(() => count(f2), { timeout: 15_000 }).toBe(String(want));
    expect(await f2.locator('[data-role="search"]').inputValue()).toBe('a');
    expect(await f2.locator('[data-kind="monetary"] [data-role="min"]').inputValue()).toBe('500');
    await page.close();
  });

  it('a manager acts on selected rows as themselves (to-dos for the responsible; a workflow the CRM refuses) and opens a customer on our card', async () => {
    const { page, f } = await s.open(MANAGER);
    await f.locator('[data-action="clear"]').click();
    await listed(f);
    const ids = (await rowIds(f)).slice(0, 2);
    for (const id of ids) await f.locator(`tr[data-contact="${id}"] [data-role="select-row"]`).check();
    expect(await f.locator('[data-role="selected-count"]').textContent()).toBe('2 selected');
    await f.locator('[data-action="bulk-todo"]').click();
    expect(await f.locator('[data-role="bulk-recipients"]').textContent()).toBe(`Each to-do goes to the contact's responsible: ${userName(MANAGER)} (2)`);
    await f.locator('[data-role="bulk-title"]').fill('Call back');
    const before = s.emu.portal.todos.length;
    await f.locator('[data-action="bulk-run"]').click();
    await f.waitForSelector('[data-role="bulk-result"]');
    expect(await f.locator('[data-role="bulk-done"]').textContent()).toBe('Done: 2');
    expect(await f.locator('[data-role="bulk-refused"]').textContent()).toBe('Refused by CRM rights: 0');
    expect(s.emu.portal.todos.slice(before).map((t) => [t.ownerId, t.responsibleId, t.title]).sort()).toEqual(ids.map((id) => [id, MANAGER, 'Call back']).sort());
    await s.shot(page, 'day-bulk-todo');
    await f.locator('[data-action="bulk-workflow"]').click();
    await f.locator('[data-role="bulk-template"]').selectOption(String(s.templateId));
    await f.locator('[data-action="bulk-run"]').click();
    await expect.poll(() => f.locator('[data-role="bulk-refused"]').textContent()).toBe('Refused by CRM rights: 2');
    expect(await f.locator('[data-role="bulk-done"]').textContent()).toBe('Done: 0');
    // a name opens the customer on our card (the app in a slider); from there, the CRM card
    await f.locator(`tr[data-contact="${ids[0]}"] [data-role="open-card"]`).click();
    await expect.poll(async () => (await s.hostLog(page)).find((l) => l.command === 'openApplication')?.params?.contactId, { timeout: 10_000 }).toBe(String(ids[0]));
    let card: Frame | undefined;
    await expect.poll(async () => {
      for (const fr of appFrames(page)) if (await fr.locator('[data-page="contact"] [data-role="reason"]').count()) card = fr;
      return !!card;
    }, { timeout: 20_000 }).toBe(true);
    expect(await card!.locator('nav').count()).toBe(0);
    await s.shot(page, 'day-open-card-slider');
    await card!.locator('[data-action="open-crm-card"]').click();
    await expect.poll(async () => (await s.hostLog(page)).find((l) => l.command === 'openPath')?.params?.path, { timeout: 10_000 }).toContain(`/crm/contact/details/${ids[0]}/`);
    await page.close();
  });

  it('a manager saves personal views; a name in use is replaced only after confirming', async () => {
    const { f, page } = await s.open(MANAGER);
    await f.locator('[data-ready="call"]').click();
    await f.locator('[data-role="view-name"]').fill('My call list');
    await f.locator('[data-action="save-view"]').click();
    await expect.poll(() => f.locator('[data-role="view-msg"]').textContent()).toBe('View “My call list” saved.');
    await f.locator('[data-role="view-name"]').fill('my CALL list ');
    await f.locator('[data-action="save-view"]').click();
    await f.waitForSelector('[data-role="view-confirm"]');
    expect(await f.locator('[data-role="view-confirm"]').innerText()).toContain('“my CALL list” exists already. Replace it?');
    await f.locator('[data-action="view-replace"]').click();
    await expect.poll(() => f.locator('[data-role="my-views"] option').allTextContents()).toEqual(['— choose —', 'my CALL list']);
    await page.close();
    // another manager sees none of them
    const other = await s.open(4);
    await expect.poll(() => other.f.locator('[data-role="my-views"] option').allTextContents()).toEqual(['none yet']);
    await other.page.close();
  });

  it('at 1000 px: a skip link reaches the first contact in two keys, the name column stays, and a cue says more columns are to the right', async () => {
    const { page, f } = await s.open(MANAGER, { width: 1000 });
    await f.locator('[data-action="clear"]').click();
    await listed(f);
    await f.locator('[data-action="columns"]').click();
    for (const c of ['clv', 'email', 'source', 'interests', 'frequency']) await f.locator(`[data-column="${c}"]`).check();
    await expect.poll(() => f.locator('[data-role="scroll-cue"]').isVisible()).toBe(true);
    expect(await f.locator('[data-role="columns-shown"]').textContent()).toBe('13 of 18 columns shown');
    expect(await f.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    const first = (await rowIds(f))[0]!;
    const name = f.locator(`tr[data-contact="${first}"] [data-role="open-card"]`);
    const x0 = (await name.boundingBox())!.x;
    await f.locator('[data-role="list-scroll"]').evaluate((el) => { el.scrollLeft = 400; });
    await page.waitForTimeout(200);
    expect(Math.abs((await name.boundingBox())!.x - x0)).toBeLessThan(2);
    await s.shot(page, 'day-1000px-sticky-cue');
    // keyboard: from the top of the app, Tab reaches the skip link, Enter lands on the first contact
    await f.locator('[data-ready="yes"]').click({ position: { x: 2, y: 2 } });
    await page.keyboard.press('Tab');
    expect(await f.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Skip to the list');
    await page.keyboard.press('Enter');
    expect(await f.evaluate(() => (document.activeElement as HTMLElement | null)?.closest('tr')?.getAttribute('data-contact'))).toBe(String(first));
    await page.close();
  });

  it('in Russian: distinct words for Hibernating and sleeping, messages and errors in Russian, and a call-sheet CSV with ";" and decimal commas', async () => {
    const { page, f } = await s.open(MANAGER, { lang: 'ru' });
    expect(await f.locator('[data-nav="segments"]').textContent()).toContain('Сегменты');
    await f.locator('[data-action="clear"]').click();
    await f.locator('[data-action="add-condition"]').selectOption('segment');
    const seg = f.locator('[data-kind="segment"]');
    expect(await seg.locator('[data-chip="hibernating"]').textContent()).toContain('Давно без покупок');
    await f.locator('[data-action="add-condition"]').selectOption('sleeping');
    expect(await f.locator('[data-kind="sleeping"] [data-role="kind"] option:checked').textContent()).toBe('Спящий');
    expect(await f.locator('[data-kind="sleeping"] [data-role="field-help"]').textContent()).toBe('Пропустил покупку: не купил в свой обычный срок (или после одной покупки слишком долго).');
    await f.locator('[data-action="add-condition"]').selectOption('monetary');
    await f.locator('[data-kind="monetary"] [data-role="min"]').fill('abc');
    expect(await f.locator('[data-kind="monetary"] [data-role="row-error"]').textContent()).toBe('«abc» — не число.');
    await f.locator('[data-action="clear"]').click();
    expect(await f.locator('[data-ready="valuable"]').textContent()).toContain('Ценные, засыпают');
    await listed(f);
    const csv = (await csvOf(f)).replace(/^\uFEFF/, '').split('\r\n').filter(Boolean);
    expect(csv[0]).toBe('ID;Имя;Сегмент;Спящий (пропустил покупку);Выручка;Шанс, что ещё покупает, %;Последняя покупка;Ответственный;Город;Телефон');
    const rows = csv.slice(1).map((l) => l.split(';'));
    expect(rows).toHaveLength(own(MANAGER).length);
    // the screen's order: revenue, highest first
    expect(rows.slice(0, 25).map((r) => Number(r[0]))).toEqual(await rowIds(f));
    for (const r of rows) {
      expect(r[4]).toMatch(/^(\d+(,\d{1,2})?)?$/);
      expect(r[7]).toBe(userName(MANAGER));
      if (r[6]) expect(r[6]).toMatch(/^\d{2}\.\d{2}\.\d{4}$/);
      expect(['да', 'нет']).toContain(r[3]);
    }
    expect(await f.evaluate(() => (window as unknown as { __lastCsvName?: string }).__lastCsvName)).toMatch(/^Все контакты \d{4}-\d{2}-\d{2}\.csv$/);
    await s.shot(page, 'day-segments-ru');
    // a bulk action in Russian: the result in Russian words
    await f.locator(`tr[data-contact="${rows[0]![0]}"] [data-role="select-row"]`).check();
    expect(await f.locator('[data-role="selected-count"]').textContent()).toBe('Выбрано: 1');
    await f.locator('[data-action="bulk-list"]').click();
    await f.locator('[data-role="bulk-list-target"]').selectOption('new');
    await f.locator('[data-role="bulk-new-list"]').fill('Позвонить в понедельник');
    await f.locator('[data-action="bulk-run"]').click();
    await expect.poll(() => f.locator('[data-role="bulk-done"]').textContent()).toBe('Выполнено: 1');
    expect(await f.locator('[data-role="bulk-refused"]').textContent()).toBe('Отказано правами CRM: 0');
    await page.close();
  });

  it('the customer card explains itself: sleeping next to the segment, "one purchase" instead of a model\'s 100 %, interests with their window (en, ru)', async () => {
    const run = (await latestScoreRun(s.db, s.portalId))!;
    const pick = async (where: string) => Number((await s.db.query<{ id: number }>(
      `SELECT l.contact_id AS id FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        WHERE l.portal_id = $1 AND l.run_id = $2 AND c.assigned_by_id = $3 AND ${where} ORDER BY l.contact_id LIMIT 1`, [s.portalId, run.id, MANAGER])).rows[0]!.id);
    const sleeper = await pick(`l.sleeping AND l.frequency >= 2 AND cardinality(l.interests) + jsonb_array_length(COALESCE(l.extra->'interestsEver', '[]'::jsonb)) > 0`);
    const once = await pick('l.frequency = 1');
    for (const lang of ['en', 'ru'] as const) {
      const { page, f } = await s.open(MANAGER, { lang });
      const card = async (id: number) => {
        await f.locator('[data-role="search"]').fill(`#${id}`);
        await expect.poll(() => rowIds(f), { timeout: 15_000 }).toEqual([id]);
        await f.locator(`tr[data-contact="${id}"] [data-role="open-card"]`).click();
        let fr: Frame | undefined;
        await expect.poll(async () => {
          for (const x of appFrames(page)) if (await x.locator(`[data-page="contact"] [data-role="reason"]`).count()) fr = x;
          return !!fr;
        }, { timeout: 20_000 }).toBe(true);
        return fr!;
      };
      const c1 = await card(sleeper);
      const explain = (await c1.locator('[data-role="sleeping-explain"]').textContent()) ?? '';
      expect(explain).toMatch(lang === 'en' ? /^Sleeping: usually buys every \d+ days, now \d+ days since the last purchase\. “.+” describes the whole history; “sleeping” says the next purchase is late\.$/
        : /^Спящий: обычно покупает раз в \d+ дн\., сейчас прошло \d+ дн\. с последней покупки\. «.+» описывает всю историю; «спящий» значит, что очередная покупка запаздывает\.$/);
      for (const li of await c1.locator('[data-role="interests"] li[data-interest]').allTextContents()) {
        expect(li).toMatch(lang === 'en' ? /last bought .+; (active until .+ \(\d+-day window\)|lapsed on .+)$/ : /последняя покупка .+; (действует до .+ \(срок \d+ дн\.\)|истёк .+)$/);
      }
      if (lang === 'en') await s.shot(page, 'day-card-sleeping');
      await page.locator('.slider-overlay .slider-close').last().click();
      const c2 = await card(once);
      expect(await c2.locator('[data-role="p-alive"]').textContent()).toBe(lang === 'en' ? 'one purchase' : 'одна покупка');
      await page.close();
    }
  });

  it('the head of sales compares with 30 days ago: the change of rules is marked and raises no alert; names in the responsible filter; a heat-map cell opens its contacts', async () => {
    const { page, f } = await s.open(HEAD);
    await f.locator('[data-nav="dashboard"]').click();
    await f.waitForSelector('[data-chart="heatmap"] canvas', { timeout: 15_000 });
    const runs = (await s.db.query<{ as_of: Date }>(`SELECT as_of FROM score_runs WHERE portal_id = $1 AND status = 'done' ORDER BY created_at`, [s.portalId])).rows;
    const d = (x: Date) => new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(x);
    expect(await f.locator('[data-role="runs-kept"]').textContent()).toContain(`4 scoring runs kept, from ${d(runs[0]!.as_of)} to ${d(runs[3]!.as_of)}.`);
    // the previous run: the same rules, moves are the customers'
    expect(await f.locator('[data-role="movement-title"]').textContent()).toBe(`Moves from ${d(runs[2]!.as_of)} to ${d(runs[3]!.as_of)}`);
    expect(await f.locator('[data-role="rules-changed"]').count()).toBe(0);
    await f.locator('[data-role="compare-select"]').selectOption('30d');
    await f.waitForSelector('[data-role="rules-changed"]');
    expect(await f.locator('[data-role="rules-changed"]').textContent()).toContain(`The scoring rules changed in between (${d(runs[2]!.as_of)} (settings changed)`);
    expect(await f.locator('[data-role="alerts"]').innerText()).toContain('No alerts: the rules changed in between.');
    expect(await f.locator('[data-role="movement-title"]').textContent()).toBe(`Moves from ${d(runs[1]!.as_of)} to ${d(runs[3]!.as_of)}`);
    // values on the charts: each segment bar carries its count and revenue share as a label
    const bars = await f.evaluate(() => {
      const o = (window as unknown as { __dashOptions: () => { segments: { yAxis: { data: string[] }; series: Array<{ label: { show: boolean; formatter: (p: { dataIndex: number }) => string } }> } } }).__dashOptions().segments;
      return o.yAxis.data.map((name, i) => [name, o.series[0]!.label.show && o.series[0]!.label.formatter({ dataIndex: i }), o.series[1]!.label.formatter({ dataIndex: i })]);
    });
    const loyal = bars.find((b) => b[0] === 'Loyal')!;
    const nLoyal = await sql(`l.segment = 'loyal'`);
    expect(loyal[1]).toBe(nLoyal >= 10 ? String(nLoyal) : '<10');
    expect(loyal[2]).toMatch(/^\d+%$/);
    await s.shot(page, 'day-dashboard-compare');
    // the dashboard's data is cached per run: opening it again is fast
    await f.locator('[data-nav="segments"]').click();
    await f.locator('[data-nav="dashboard"]').click();
    await f.waitForSelector('[data-chart="heatmap"] canvas');
    const warm = await f.evaluate(() => (window as unknown as { __dashMs: number }).__dashMs);
    console.log(`dashboard data (warm, head of sales, 400 contacts, 4 runs): ${warm} ms`);
    expect(warm).toBeLessThan(500);
    // a heat-map cell (the biggest one: a cell of fewer than 10 is withheld from non-admins) opens the list of those contacts
    const run = (await latestScoreRun(s.db, s.portalId))!;
    const { rows: cells } = await s.db.query<{ r: number; f: number; n: number }>(
      `SELECT r::int AS r, f::int AS f, count(*)::int AS n FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND r IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1`, [s.portalId, run.id]);
    const { r, f: fl } = cells[0]!;
    const box = (await f.locator('[data-chart="heatmap"]').boundingBox())!;
    await f.locator('[data-chart="heatmap"]').click({ position: { x: 60 + ((box.width - 76) * (fl - 0.5)) / 5, y: 10 + ((box.height - 70) * (5 - r + 0.5)) / 5 } });
    await f.waitForSelector('[data-kind="r"]', { timeout: 10_000 });
    expect(await f.locator('[data-kind="r"] [data-role="min"]').inputValue()).toBe(String(r));
    expect(await f.locator('[data-kind="f"] [data-role="max"]').inputValue()).toBe(String(fl));
    const want = await sql('l.r = $3 AND l.f = $4 AND c.assigned_by_id <> 1', [r, fl]);
    await expect.poll(() => count(f), { timeout: 15_000 }).toBe(String(want));
    // the responsible filter: names, the dismissed employee marked, never "#7"
    await f.locator('[data-action="add-condition"]').selectOption('responsible');
    const chips = await f.locator('[data-kind="responsible"] [data-chip]').allTextContents();
    const dismissed = [...s.emu.portal.users.values()].find((u) => !u.active)!;
    expect(chips.map((c) => c.trim())).toContain(`${dismissed.name} ${dismissed.lastName} (dismissed)`);
    expect(chips.map((c) => c.trim())).toContain(userName(MANAGER));
    expect(chips.join(' ')).not.toMatch(/#\d/);
    await page.close();
  });

  it('the head of sales in Russian: the comparison, the change of rules and the ready-made "whom to call this week"', async () => {
    const { page, f } = await s.open(HEAD, { lang: 'ru' });
    await f.locator('[data-ready="call"]').click();
    expect(await f.locator('[data-role="view-title"]').textContent()).toContain('Кому позвонить на неделе');
    const want = await sql(`(l.next_purchase - (SELECT (as_of AT TIME ZONE 'UTC')::date FROM score_runs WHERE id = l.run_id)) <= 7 AND c.has_phone AND c.assigned_by_id <> 1`);
    await expect.poll(() => count(f), { timeout: 15_000 }).toBe(new Intl.NumberFormat('ru-RU').format(want));
    await f.locator('[data-nav="dashboard"]').click();
    await f.waitForSelector('[data-chart="heatmap"] canvas', { timeout: 15_000 });
    await f.locator('[data-role="compare-select"]').selectOption('90d');
    await f.waitForSelector('[data-role="rules-changed"]');
    expect(await f.locator('[data-role="rules-changed"]').textContent()).toMatch(/^Между ними менялись правила расчёта \(.+ \(изменены настройки\)\)/);
    expect(await f.locator('[data-role="runs-kept"]').textContent()).toContain('Хранится расчётов: 4');
    await s.shot(page, 'day-dashboard-ru');
    await page.close();
  });

  it('an admin: quantile bounds explained with the latest run\'s numbers, errors at their fields with the focus, before/after sizes, and what each automation rule does', async () => {
    await s.db.query(`INSERT INTO automation_firings (portal_id, rule_id, contact_id, transition_key, action, status, result) VALUES ($1, 'call-sleepers', $2, 'sleeping:1', 'todo', 'done', '{"id":9}')`,
      [s.portalId, own(MANAGER)[0]!.id]);
    const { page, f } = await s.open(ADMIN);
    await f.locator('[data-nav="settings"]').click();
    await f.waitForSelector('[data-role="quantile-note"]');
    const cur = (await s.db.query<{ thresholds: Record<string, { bounds: number[] }> }>(`SELECT thresholds FROM score_runs WHERE portal_id = $1 ORDER BY id DESC LIMIT 1`, [s.portalId])).rows[0]!.thresholds;
    const fmt = (x: number) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 }).format(x);
    expect(await f.locator('[data-role="current-bounds"]').textContent()).toContain(`R ${cur.recency!.bounds.map(fmt).join(', ')}`);
    expect(await f.locator('[data-role="recency-bounds"]').getAttribute('readonly')).not.toBeNull();
    await f.locator('[data-action="use-as-fixed"]').click();
    expect(await f.locator('[data-role="mode"]').inputValue()).toBe('fixed');
    expect(await f.locator('[data-role="mode-notice"]').textContent()).toContain('Switched to fixed thresholds');
    // "abc, 90" is refused at the field, never becomes "90"; the preview does not run and the field gets the focus
    await f.locator('[data-role="recency-bounds"]').fill('abc, 90');
    await f.locator('[data-role="recency-bounds"]').blur();
    await f.locator('[data-action="preview"]').click();
    expect(await f.locator('[data-role="recency-bounds"] ~ [data-role="field-error"]').textContent()).toBe('“abc” is not a number.');
    expect(await f.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.role)).toBe('recency-bounds');
    expect(await f.locator('[data-role="preview"]').count()).toBe(0);
    // the server's check, placed at its field in words
    await f.locator('[data-role="recency-bounds"]').fill('30, 90, 180, 365');
    await f.locator('[data-role="recency-bounds"]').blur();
    await f.locator('[data-action="preview"]').click();
    await expect.poll(() => f.locator('[data-role="recency-bounds"] ~ [data-role="field-error"]').textContent()).toBe('Each bound must be smaller than the one before (e.g. 365, 180, 90, 30).');
    expect(await f.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.role)).toBe('recency-bounds');
    await s.shot(page, 'day-settings-field-error');
    // (quantile bounds may repeat a value where customers tie; fixed ones must rise strictly)
    for (const [role, v] of [['recency-bounds', '365, 180, 90, 30'], ['frequency-bounds', '1, 2, 4, 8'], ['monetary-bounds', '10000, 50000, 150000, 500000']]) {
      await f.locator(`[data-role="${role}"]`).fill(v!);
      await f.locator(`[data-role="${role}"]`).blur();
    }
    await f.locator('[data-action="preview"]').click();
    await f.waitForSelector('[data-role="preview-sizes"]', { timeout: 30_000 });
    const sizes = await f.locator('[data-role="preview-sizes"] tbody tr').count();
    expect(sizes).toBeGreaterThan(3);
    expect(await f.locator('[data-role="preview-levels"] tbody tr').count()).toBe(3);
    await s.shot(page, 'day-settings-preview');
    // automation: whose to-dos, how many the last run would have fired, and the log
    await f.locator('[data-action="add-rule"]').click();
    const rule = f.locator('[data-role="automation-rule"]').last();
    await rule.locator('[data-role="rule-title"]').fill('Call {name}');
    await expect.poll(() => rule.locator('[data-role="rule-expected"]').textContent(), { timeout: 10_000 }).toMatch(/it would have fired for \d+ contacts\.$/);
    expect(await rule.locator('[data-role="rule-recipients"]').textContent()).toMatch(/^Goes to the contact's responsible/);
    expect(await f.locator('[data-role="firings"]').innerText()).toContain(`${own(MANAGER)[0]!.name} ${own(MANAGER)[0]!.lastName}`);
    expect(await f.locator('[data-role="firings"]').innerText()).toContain('sent');
    await s.shot(page, 'day-settings-automation');
    await page.close();
  });

  it('an admin in Russian: errors at the field in Russian; the sync page in Russian words and dates, with the next scheduled run', async () => {
    const { page, f } = await s.open(ADMIN, { lang: 'ru' });
    await f.locator('[data-nav="settings"]').click();
    await f.waitForSelector('[data-action="use-as-fixed"]');
    await f.locator('[data-action="use-as-fixed"]').click();
    await f.locator('[data-role="monetary-bounds"]').fill('10 000, abc');
    await f.locator('[data-role="monetary-bounds"]').blur();
    expect(await f.locator('[data-role="monetary-bounds"] ~ [data-role="field-error"]').textContent()).toBe('«abc» — не число.');
    // sync history as the sync engine records it, and a run going on
    const r1 = await createSyncRun(s.db, s.portalId, 'full', { rowsExpected: 2400 });
    await finishSyncRun(s.db, s.portalId, r1.id, 'failed', { phase: 'crm', rowsDone: 900, addRequests: 21, appendErrors: [{ code: 'QUERY_LIMIT_EXCEEDED', message: 'Too many requests', method: 'crm.deal.list' }] });
    const r2 = await createSyncRun(s.db, s.portalId, 'full', { rowsExpected: 2400 });
    await finishSyncRun(s.db, s.portalId, r2.id, 'done', { phase: 'done', rowsDone: 2400, addRequests: 57 });
    const running = await createSyncRun(s.db, s.portalId, 'incremental', { phase: 'crm:contacts,deals', rowsExpected: 1200 });
    await updateSyncProgress(s.db, s.portalId, running.id, { rowsDone: 300, etaSeconds: 40, phase: 'crm:contacts,deals' });
    await f.locator('[data-nav="sync"]').click();
    await f.waitForSelector('[data-role="next-run"]');
    expect(await f.locator('[data-role="phase"]').textContent()).toBe('Данные CRM: контакты, сделки');
    expect(await f.locator('[data-role="run-kind"]').allTextContents()).toEqual(['Только изменения', 'Полная', 'Полная']);
    expect(await f.locator('[data-role="run-status"]').allTextContents()).toEqual(['Идёт', 'Готово', 'Ошибка']);
    expect(await f.locator('[data-role="runs"]').innerText()).toContain('Битрикс24 попросил снизить темп (слишком много запросов); синхронизация продолжится.');
    expect(await f.locator('[data-role="runs"]').innerText()).toMatch(/\d{1,2} [а-я]+\. \d{4} г\., \d{2}:\d{2}/);
    expect(await f.locator('[data-role="next-run"]').textContent()).toMatch(/^Следующий запуск по расписанию: .+ г\., \d{2}:\d{2} \(ежедневно в 03:00\)$/);
    await s.shot(page, 'day-sync-ru');
    await finishSyncRun(s.db, s.portalId, running.id, 'done', { rowsDone: 1200 });
    await page.close();
  });
});
