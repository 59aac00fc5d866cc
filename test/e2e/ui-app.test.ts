/**
 * The Vue UI inside the emulator's portal page, end to end: emulator (generated portal) → our
 * server (install/events/pages from src/server + the UI routes) → installed through the portal's
 * install callback → store filled from the emulator (mirror, standing in for the sync) → scored
 * twice (two runs, so the dashboard has movement) → chromium opens the portal page, which POSTs
 * into our /app inside an iframe named DOMAIN|PROTOCOL|APP_SID; B24Frame initialises through the
 * real postMessage protocol.
 *
 * Screenshots of every page (1280 px wide) go to test/e2e/screenshots/ui/.
 * Builds the UI first when ui/dist is missing or older than ui/src.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Frame, Page } from 'playwright-core';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { loadConfig } from '../../src/config.js';
import { loadManifest } from '../../manifest/index.js';
import { clientForPortal, forgetPortalClient } from '../../src/portal-clients.js';
import { createServer } from '../../src/server/app.js';
import { MemoryCrmEventQueue } from '../../src/server/event-queue.js';
import { createLogger } from '../../src/server/log.js';
import {
  createSyncRun, createTokenCipher, finishSyncRun, generateTokenKey, updateSyncProgress, getPortal, getPortalByMemberId, latestScoreRun, openStore, parseTokenKey, setTokenCipher,
  type Db,
} from '../../src/store/index.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { SAVED_FIELD } from '../../src/writeback/saved-segment.js';
import { portalSettings as readUiSettings } from '../../src/settings/index.js';
import { signSession, verifySession } from '../../src/server/ui-api/session.js';
import { rulesFromSettings } from '../../src/automation/rules.js';
import { launchBrowser } from './helpers/browser.js';
import { ensureUiBuilt } from '../../src/server/ui-api/ensure-built.js';

// README screenshots are rewritten only with UPDATE_README_SHOTS=1; ordinary runs keep theirs in the ignored tmp folder.
const SHOTS = new URL(process.env.UPDATE_README_SHOTS ? './screenshots/ui/' : './screenshots/tmp/ui/', import.meta.url).pathname;

interface LogEntry { command: string; params?: Record<string, unknown>; appSid?: string }

describe('UI in the portal frame (emulator + app + chromium)', () => {
  let emu: RunningEmulator;
  let db: Db;
  let server: Server;
  let origin: string;
  let browser: Browser;
  let clientId: string;
  let portalId: number;
  let runNowCalls = 0;

  const frameOf = async (p: Page): Promise<Frame> => {
    for (let i = 0; i < 200; i++) {
      const f = p.frames().find((fr) => fr.url().startsWith(origin));
      if (f) return f;
      await p.waitForTimeout(50);
    }
    throw new Error('no app frame');
  };
  const ready = async (p: Page): Promise<Frame> => {
    const f = await frameOf(p);
    await f.waitForSelector('[data-ready="yes"]', { timeout: 30_000 });
    return f;
  };
  const hostLog = (p: Page): Promise<LogEntry[]> => p.evaluate(() => (window as unknown as { __b24Log: LogEntry[] }).__b24Log);
  const sqlCount = async (where: string, params: unknown[] = []): Promise<number> => {
    const run = (await latestScoreRun(db, portalId))!;
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        WHERE l.portal_id = $1 AND l.run_id = $2 AND ${where}`,
      [portalId, run.id, ...params],
    );
    return rows[0]!.n;
  };
  const shot = async (p: Page, name: string) => {
    await p.waitForTimeout(400);
    await p.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
  };

  beforeAll(async () => {
    ensureUiBuilt();
    mkdirSync(SHOTS, { recursive: true });
    setTokenCipher(createTokenCipher(parseTokenKey(generateTokenKey())));
    const portal = new Portal({ language: 'en' });
    generatePortal(portal, { contacts: 400, seed: 11 });
    emu = await startEmulator({ portal, log: () => {} });
    db = await openStore({ dataDir: 'memory://' });
    clientId = 'local.uitest.0001';
    const config = loadConfig({}, {
      port: 0, host: '127.0.0.1', clientId, clientSecret: 'ui-test-secret', dataDir: 'memory://', logLevel: 'warn',
      sessionSecret: 'ui-test-session-secret-0123456789abcdef',
      oauthServerEndpoints: [`${emu.url}rest/`],
    });
    const log = createLogger('warn');
    const deps = {
      db, config, manifest: loadManifest(), log, events: new MemoryCrmEventQueue(),
      clientFor: (id: number) => clientForPortal(db, id, { clientId, clientSecret: config.clientSecret }),
      forgetClient: (id: number) => forgetPortalClient(db, id),
      runNow: async (pid: number) => {
        runNowCalls++;
        // background: mirror (stands in for the sync) + score
        setTimeout(() => void mirrorEmulatorPortal(emu.portal, db, pid).then(() => runScoring(db, pid)).catch(() => {}), 10);
        return { started: true };
      },
    };
    // The real server: UI routes, then the app page handlers render the Vue page after the
    // APPLICATION_TOKEN check.
    const front = createServer(deps);
    server = await new Promise<Server>((resolve) => {
      const s = front.listen(0, '127.0.0.1', () => resolve(s));
    });
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    config.publicUrl = origin;

    const admin = (p: string, body?: unknown) =>
      fetch(`${emu.url}_emulator/${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    const r = await admin('apps/install', {
      clientId, clientSecret: config.clientSecret, code: 'b24_segments', appUrl: `${origin}/app`, installUrl: `${origin}/install`,
      scopes: deps.manifest.app.scopes, mode: 'callback',
    });
    expect(r.status).toBe(201);
    const inst = (await r.json()) as { delivery: { status: number; payload: { auth: { member_id: string } } } };
    expect(inst.delivery.status).toBe(200);
    expect((await admin(`apps/${clientId}/install-finish`)).status).toBe(200);
    const p = (await getPortalByMemberId(db, inst.delivery.payload.auth.member_id))!;
    portalId = p.id;
    await mirrorEmulatorPortal(emu.portal, db, portalId);
    // the mirror copies ids, names and UF only; add the contact fields a real sync stores
    const cs = [...emu.portal.contacts.values()];
    await db.query(
      `UPDATE contacts c SET source_id = u.src, city = u.city, assigned_by_id = u.resp, has_email = u.em, has_phone = u.ph
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::boolean[], $7::boolean[]) AS u(id, src, city, resp, em, ph)
        WHERE c.portal_id = $1 AND c.id = u.id`,
      [portalId, cs.map((c) => c.id), cs.map((c) => c.sourceId), cs.map((c) => c.addressCity), cs.map((c) => c.assignedById),
        cs.map((c) => c.fm.some((m) => m.typeId === 'EMAIL')), cs.map((c) => c.fm.some((m) => m.typeId === 'PHONE'))],
    );
    const now = emu.portal.clock.now();
    await runScoring(db, portalId, new Date(now - 45 * 86_400_000));
    await runScoring(db, portalId, new Date(now));
    // sync history as the sync engine records it (the mirror above stands in for the pull)
    const r1 = await createSyncRun(db, portalId, 'full', { rowsExpected: 2400 });
    await finishSyncRun(db, portalId, r1.id, 'failed', { phase: 'deals', rowsDone: 900, addRequests: 21, appendErrors: [{ code: 'QUERY_LIMIT_EXCEEDED', message: 'Too many requests', method: 'crm.deal.list' }] });
    const r2 = await createSyncRun(db, portalId, 'full', { rowsExpected: 2400 });
    await finishSyncRun(db, portalId, r2.id, 'done', { phase: 'done', rowsDone: 2400, addRequests: 57, counts: { contacts: 400, deals: 2000 } });
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server?.closeAllConnections?.();
    await emu?.close();
    await db?.close();
  });

  it('the portal page frames the app; B24Frame initialises over postMessage and the frame fits its content', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await ready(page);
    const log = await hostLog(page);
    const cmds = log.map((l) => l.command);
    expect(cmds).toContain('getInitData');
    expect(cmds).toContain('resizeWindow');
    expect(cmds).toContain('setTitle');
    expect(await f.evaluate(() => (window as unknown as { __SEG_BOOT?: { isAdmin: boolean } }).__SEG_BOOT?.isAdmin)).toBe(true);
    // the iframe took the content height
    const h = await page.locator('iframe.b24-app-iframe').evaluate((el) => (el as HTMLIFrameElement).getBoundingClientRect().height);
    const content = await f.evaluate(() => document.getElementById('app')!.getBoundingClientRect().height);
    expect(Math.abs(h - content)).toBeLessThan(40);
    await page.close();
  });

  it('a manager builds a filter, sees the store count, opens a contact in the slider and exports the CSV', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await ready(page);
    // condition 1 (default row: segment): pick two segments
    const segRow = f.locator('[data-kind="segment"]').first();
    await segRow.locator('[data-chip="loyal"]').click();
    await segRow.locator('[data-chip="champions"]').click();
    // condition 2: revenue ≥ 1000 (the user picks the field when adding the condition)
    await f.locator('[data-action="add-condition"]').selectOption('monetary');
    const rangeRow = f.locator('[data-kind="monetary"]').last();
    await rangeRow.locator('[data-role="min"]').fill('1000');
    const expected = await sqlCount(`l.segment = ANY($3::text[]) AND l.monetary >= 1000`, [['loyal', 'champions']]);
    expect(expected).toBeGreaterThan(0);
    await expect.poll(async () => (await f.locator('[data-role="count"]').textContent())?.replace(/\D/g, ''), { timeout: 15_000 }).toBe(String(expected));
    await f.waitForFunction(() => document.querySelectorAll('[data-role="list"] tbody tr[data-contact]').length > 0);
    await shot(page, 'segments');

    // sorting by name works and is keyboard-reachable
    await f.locator('[data-sort="name"]').focus();
    await page.keyboard.press('Enter');
    await f.waitForFunction(() => document.querySelector('th[aria-sort="ascending"] [data-sort="name"]') !== null);
    // the re-sorted page has arrived (the list's section stops being busy) before we read its first row
    await f.waitForFunction(() => document.querySelector('section[aria-busy="false"] [data-role="list"]') !== null, undefined, { timeout: 15_000 });

    // open a contact's CRM card (the arrow next to the name): openPath with the CRM path, logged by the host
    const firstId = Number(await f.locator('[data-role="list"] tbody tr[data-contact]').first().getAttribute('data-contact'));
    await f.locator('[data-role="list"] tbody tr[data-contact] [data-role="open-crm"]').first().click();
    await expect.poll(async () => (await hostLog(page)).find((l) => l.command === 'openPath')?.params?.path, { timeout: 10_000 })
      .toContain(`/crm/contact/details/${firstId}/`);
    await page.waitForSelector('.slider-overlay');
    await shot(page, 'segments-open-contact-slider');
    await page.locator('.slider-overlay .slider-close').last().click();
    await page.waitForSelector('.slider-overlay', { state: 'detached', timeout: 5000 }).catch(() => {});

    // CSV: data rows = count
    const dl = page.waitForEvent('download', { timeout: 15_000 }).catch(() => null);
    await f.locator('[data-action="export"]').click();
    await f.waitForFunction(() => typeof (window as unknown as { __lastCsv?: string }).__lastCsv === 'string', undefined, { timeout: 15_000 });
    const csv = await f.evaluate(() => (window as unknown as { __lastCsv: string }).__lastCsv);
    const lines = csv.replace(/^\uFEFF/, '').split(/\r\n/).filter(Boolean);
    expect(lines[0]).toContain('Segment');
    expect(lines.length - 1).toBe(expected);
    const d = await dl;
    // the file is named after the filter (its UTF-8 name; the ASCII fallback keeps its Latin letters)
    if (d) expect(d.suggestedFilename()).toMatch(/^Champions, Loyal · Revenue \d{4}-\d{2}-\d{2}\.csv$/);
    await page.close();
  });

  it('dashboard and sync pages render (heatmap, charts, runs)', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await ready(page);
    await f.locator('[data-nav="dashboard"]').click();
    await f.waitForSelector('[data-chart="heatmap"] canvas', { timeout: 15_000 });
    await f.waitForSelector('[data-role="movement"]');
    expect(await f.locator('[data-chart] canvas').count()).toBeGreaterThanOrEqual(6);
    // the movement matrix: one filled cell per (segment before, segment now) pair of the two runs, counted here in SQL
    const { rows: pairs } = await db.query<{ n: number }>(
      `WITH r AS (SELECT id FROM score_runs WHERE portal_id = $1 AND status = 'done' ORDER BY created_at DESC, id DESC LIMIT 2),
            a AS (SELECT contact_id, segment FROM contact_labels WHERE portal_id = $1 AND run_id = (SELECT min(id) FROM r)),
            b AS (SELECT contact_id, segment FROM contact_labels WHERE portal_id = $1 AND run_id = (SELECT max(id) FROM r))
       SELECT count(*)::int AS n FROM (SELECT DISTINCT a.segment AS x, b.segment AS y FROM a FULL JOIN b ON a.contact_id = b.contact_id) p`, [portalId]);
    const filled = await f.locator('[data-role="movement"] td[data-cell]').evaluateAll((tds) => tds.filter((td) => td.textContent!.trim() !== '').length);
    expect(filled).toBe(pairs[0]!.n);
    // what each level means: R, F and M rows, one cell per level, in words
    await f.waitForSelector('[data-role="level-bounds"]');
    expect(await f.locator('[data-role="level-bounds"] tr[data-dim]').count()).toBe(3);
    expect(await f.locator('[data-role="level-bounds"] tr[data-dim="frequency"] td').count()).toBe(5);
    expect(await f.locator('[data-role="level-bounds"] tr[data-dim="recency"] td[data-level="5"]').textContent()).toMatch(/^last purchase up to \d+ days ago$/);
    // the predicted value's track record: the coverage stored with the run, and its chart
    await f.waitForSelector('[data-role="backtest"] [data-chart="backtest"] canvas', { timeout: 15_000 });
    const bt = (await latestScoreRun(db, portalId))!.fits.backtest as { status: string; coverage: number; predicted: number; actual: number };
    expect(bt.status).toBe('done');
    const pct = new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 0 });
    const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
    expect(await f.locator('[data-role="bt-coverage"]').textContent()).toBe(pct.format(bt.coverage));
    expect(await f.locator('[data-role="bt-purchases"]').textContent()).toBe(`${int.format(bt.predicted)} / ${int.format(bt.actual)}`);
    expect(await f.locator('[data-role="bt-deciles"] tbody tr').count()).toBe(10);
    await shot(page, 'dashboard');
    const running = await createSyncRun(db, portalId, 'incremental', { phase: 'contacts', rowsExpected: 1200 });
    await updateSyncProgress(db, portalId, running.id, { rowsDone: 780, etaSeconds: 42, phase: 'deals' });
    await f.locator('[data-nav="sync"]').click();
    await f.waitForSelector('[data-role="progress"]');
    expect(await f.locator('[data-role="runs"] tbody tr').count()).toBe(3);
    await shot(page, 'sync');
    await finishSyncRun(db, portalId, running.id, 'done', { rowsDone: 1200 });
    await page.close();
  });

  it('no horizontal scroll at 1000 px, fine at 1920 px', async () => {
    for (const width of [1000, 1920]) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      await page.goto(`${emu.url}app/${clientId}`);
      const f = await ready(page);
      for (const nav of ['segments', 'dashboard']) {
        await f.locator(`[data-nav="${nav}"]`).click();
        await page.waitForTimeout(800);
        const over = await f.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(over, `${nav} at ${width}px`).toBeLessThanOrEqual(0);
      }
      if (width === 1920) await shot(page, 'dashboard-1920');
      await page.close();
    }
  });

  it('the contact-card tab shows that contact\'s scores', async () => {
    const run = (await latestScoreRun(db, portalId))!;
    const { rows } = await db.query<{ id: number; segment: string; rfm: string; extra: { clvLow: number; clvHigh: number; purchasesLow: number; purchasesHigh: number } }>(
      `SELECT contact_id AS id, segment, rfm, extra FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND frequency >= 3 ORDER BY contact_id LIMIT 1`,
      [portalId, run.id],
    );
    const c = rows[0]!;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${emu.url}crm/contact/details/${c.id}/`);
    await page.locator('#card-tabs .tab', { hasText: /segment/i }).first().click();
    const f = await ready(page);
    await f.waitForSelector('[data-role="reason"]');
    expect(await f.locator('[data-role="rfm"]').textContent()).toBe(c.rfm);
    const reason = (await f.locator('[data-role="reason"]').textContent()) ?? '';
    expect(reason).toMatch(/bought \d+ times, usually every \d+ days, last \d+ days ago: /);
    // the CLV's 80 % range and the purchase days' range, as stored
    const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
    expect(await f.locator('[data-role="clv-range"]').textContent()).toBe(`Likely range (8 in 10): ${int.format(c.extra.clvLow)} – ${int.format(c.extra.clvHigh)}`);
    expect(await f.locator('[data-role="purchases-range"]').textContent()).toBe(`Purchase days in the next 365 days: ${c.extra.purchasesLow}–${c.extra.purchasesHigh} (8 in 10)`);
    const log = await hostLog(page);
    const init = log.filter((l) => l.command === 'getInitData');
    expect(init.length).toBeGreaterThan(0);
    await shot(page, 'contact-tab');
    await page.close();
  });

  it('an admin changes a threshold and sees the preview', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await ready(page);
    await f.locator('[data-nav="settings"]').click();
    await f.waitForSelector('[data-role="mode"]');
    await f.locator('[data-role="mode"]').selectOption('fixed');
    await f.locator('[data-role="recency-bounds"]').fill('400, 200, 100, 20');
    await f.locator('[data-role="recency-bounds"]').blur();
    await f.locator('[data-action="preview"]').click();
    await f.waitForSelector('[data-role="preview-title"]', { timeout: 30_000 });
    const title = (await f.locator('[data-role="preview-title"]').textContent()) ?? '';
    expect(title).toMatch(/Preview: [\d,]+ contacts would change segment|No contact would change segment/);
    await shot(page, 'settings-preview');
    await page.close();
  });

  it('an admin adds an automation rule: the server gives the reason for a bad template id, then the engine runs the saved rule', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await ready(page);
    await f.locator('[data-nav="settings"]').click();
    await f.waitForSelector('[data-action="add-rule"]');
    const before = await f.locator('[data-role="automation-rule"]').count();
    await f.locator('[data-action="add-rule"]').click();
    const rule = f.locator('[data-role="automation-rule"]').last();
    expect(await f.locator('[data-role="automation-rule"]').count()).toBe(before + 1);
    await rule.locator('[data-role="rule-trigger"]').selectOption('becameSleeping');
    await rule.locator('[data-role="rule-action"]').selectOption('workflow');
    await rule.locator('[data-role="rule-template"]').fill('abc');
    await f.locator('[data-action="save-settings"]').click();
    // the server's issue is said at the field, in words, and the field has the focus
    await f.waitForSelector('[data-role="automation-rule"] [data-role="field-error"]:not(.hidden)');
    expect(await rule.locator('[data-role="field-error"]:not(.hidden)').textContent()).toBe('Enter the workflow template\'s number.');
    expect(await f.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.role)).toBe('rule-template');
    expect(readUiSettings((await getPortal(db, portalId))!.settings).automation.rules).toHaveLength(before); // nothing saved
    await rule.locator('[data-role="rule-template"]').fill('12');
    await f.locator('[data-action="save-settings"]').click();
    await f.waitForSelector('text=Settings saved');
    await shot(page, 'settings-automation');
    const { rules, error } = rulesFromSettings((await getPortal(db, portalId))!.settings);
    expect(error).toBeNull();
    expect(rules.at(-1)).toMatchObject({ enabled: true, trigger: { type: 'becameSleeping' }, action: { type: 'workflow', templateId: 12 } });
    await page.close();
  });

  it('an admin chooses where refusal reasons come from: the portal\'s lost stages and deal fields are listed, the choice is saved', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await ready(page);
    await f.locator('[data-nav="settings"]').click();
    const box = f.locator('[data-role="refusal-settings"]');
    // the lists come from the portal (the admin's token): every lost stage of every funnel
    await box.locator('[data-stage="APOLOGY"]').waitFor();
    const lostIds = emu.portal.statuses.filter((x) => x.entityId.startsWith('DEAL_STAGE') && x.semantics === 'F').map((x) => x.statusId);
    expect(await box.locator('[data-stage]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.stage))).toEqual(lostIds);
    await box.locator('[data-stage="APOLOGY"] input').fill('Not a fit');
    await box.locator('[data-role="refusal-field"]').check();
    await box.locator('[data-role="refusal-field-name"]').selectOption('UF_CRM_LOSS_REASON');
    await box.locator('[data-action="save-refusal"]').click();
    await f.waitForSelector('text=Saved: counted from the next scoring run.');
    expect(readUiSettings((await getPortal(db, portalId))!.settings).refusal).toEqual({
      source: 'field', field: 'UF_CRM_LOSS_REASON', stages: { APOLOGY: 'Not a fit' }, values: {},
    });
    await shot(page, 'settings-refusal');
    await page.close();
  });

  it('saved-segment field: written by the write-back while on; off + "clear" empties it on every contact (admin only, 409 while on)', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await ready(page);
    const session = await f.evaluate(() => (window as unknown as { __SEG_BOOT: { session: string } }).__SEG_BOOT.session);
    const ui = async (method: string, p: string, body?: unknown) => {
      const r = await fetch(`${origin}/api/ui${p}`, { method, headers: { Authorization: `Bearer ${session}`, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    };
    const holding = () => [...emu.portal.contacts.values()].filter((c) => {
      const v = c.uf[SAVED_FIELD];
      return v !== undefined && v !== null && v !== '' && v !== false && v !== 0;
    }).length;
    // an admin saves a segment and turns the field on; the write-back (the app's own, against the emulator) fills it
    expect((await ui('PUT', '/saved', { id: 'e2e-sleepers', name: 'Sleepers', priority: 5, filter: { all: [{ field: 'sleeping', value: true }] } })).status).toBe(200);
    const cur = (await ui('GET', '/settings')).json.settings as Record<string, unknown>;
    expect((await ui('PUT', '/settings', { settings: { ...cur, segmentField: { enabled: true } } })).status).toBe(200);
    const client = clientForPortal(db, portalId, { clientId, clientSecret: 'ui-test-secret' });
    await runWriteBack(db, portalId, client);
    const sleepers = await sqlCount('l.sleeping');
    expect(sleepers).toBeGreaterThan(0);
    expect(holding()).toBe(sleepers);
    // clearing while the option is on would be undone by the next write-back: refused
    const on = await ui('POST', '/saved-field/clear', {});
    expect(on.status).toBe(409);
    expect(on.json.error).toBe('FIELD_ENABLED');
    // the admin turns it off in the settings page, saves, and clears
    await f.locator('[data-nav="settings"]').click();
    await f.waitForSelector('[data-role="segment-field"]');
    expect(await f.locator('[data-action="clear-field"]').count()).toBe(0);
    await f.locator('[data-role="segment-field"]').uncheck();
    await f.locator('[data-action="save-settings"]').click();
    await f.waitForSelector('text=Settings saved');
    await f.locator('[data-action="clear-field"]').click();
    await f.waitForSelector(`[data-role="clear-field-status"]:has-text("Field cleared on ${sleepers.toLocaleString('en-US')} contacts.")`, { timeout: 60_000 });
    expect(holding()).toBe(0);
    // nothing left to clear (a manager gets 403: see the non-admin test)
    await ui('POST', '/saved-field/clear', {});
    for (let i = 0; i < 50 && ((await ui('GET', '/saved-field/clear')).json.status as { running: boolean }).running; i++) await page.waitForTimeout(100);
    expect((await ui('GET', '/saved-field/clear')).json.status).toMatchObject({ running: false, cleared: 0, failed: 0 });
    await page.close();
  });

  it('a non-admin is refused settings (UI and API 403) and sees the segments list', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${emu.url}app/${clientId}?user=2`);
    const f = await ready(page);
    expect(await f.evaluate(() => (window as unknown as { __SEG_BOOT?: { isAdmin: boolean } }).__SEG_BOOT?.isAdmin)).toBe(false);
    expect(await f.locator('[data-nav="settings"]').count()).toBe(0);
    await f.evaluate(() => { location.hash = '#/settings'; });
    await f.waitForSelector('[data-role="forbidden"]');
    await shot(page, 'settings-non-admin');
    const session = await f.evaluate(() => (window as unknown as { __SEG_BOOT: { session: string } }).__SEG_BOOT.session);
    for (const [method, p, body] of [['GET', '/settings', undefined], ['PUT', '/settings', { settings: {} }], ['POST', '/settings/preview', { scoring: {} }], ['POST', '/sync/run', {}], ['POST', '/saved-field/clear', {}]] as const) {
      const r = await fetch(`${origin}/api/ui${p}`, { method, headers: { Authorization: `Bearer ${session}`, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      expect(r.status, `${method} ${p}`).toBe(403);
    }
    // the dashboard shows a non-admin shares of revenue where an admin sees amounts (the API sends none)
    await f.evaluate(() => { location.hash = '#/dashboard'; });
    await f.waitForSelector('[data-chart="heatmap"] canvas', { timeout: 15_000 });
    await f.waitForSelector('[data-role="value-bands-note"]');
    await f.getByRole('button', { name: 'Revenue share' }).click();
    expect(await f.locator('[data-page="dashboard"]').innerText()).not.toMatch(/null|NaN|undefined/);
    await shot(page, 'dashboard-non-admin');
    // the list is filtered through the user's own crm.contact.list: the head of sales
    // (department + subdepartments) sees the sales team's contacts, not the owner's
    await f.evaluate(() => { location.hash = '#/segments'; });
    await f.waitForFunction(() => document.querySelectorAll('[data-role="list"] tbody tr[data-contact]').length > 0, undefined, { timeout: 15_000 });
    expect(await f.locator('[data-role="hidden-note"]').count()).toBe(0);
    const headIds = (await f.locator('[data-role="list"] tbody tr[data-contact]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-contact')))));
    expect(headIds.every((id) => emu.portal.contacts.get(id)!.assignedById !== 1)).toBe(true);
    await shot(page, 'segments-non-admin');
    // no session → 401
    expect((await fetch(`${origin}/api/ui/meta`)).status).toBe(401);
    await page.close();

    // a sales manager (own records only) sees only their own contacts: none of another manager's
    const page3 = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page3.goto(`${emu.url}app/${clientId}?user=3`);
    const f3 = await ready(page3);
    await f3.evaluate(() => { location.hash = '#/segments'; });
    await f3.waitForFunction(() => document.querySelectorAll('[data-role="list"] tbody tr[data-contact]').length > 0, undefined, { timeout: 15_000 });
    const ids3 = await f3.locator('[data-role="list"] tbody tr[data-contact]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-contact'))));
    const own3 = [...emu.portal.contacts.values()].filter((c) => c.assignedById === 3).length;
    expect(ids3.length).toBe(Math.min(25, own3));
    expect(ids3.map((id) => emu.portal.contacts.get(id)!.assignedById)).toEqual(ids3.map(() => 3));
    await page3.close();
  });

  it('the portal language picks the UI language (ru, ua)', async () => {
    const before = emu.portal.language;
    try {
      for (const [lang, nav, seg] of [['ru', 'Сегменты', 'Чемпионы'], ['ua', 'Сегменти', 'Чемпіони']] as const) {
        (emu.portal as { language: string }).language = lang;
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        await page.goto(`${emu.url}app/${clientId}`);
        const f = await ready(page);
        expect(await f.locator('[data-nav="segments"]').textContent()).toContain(nav);
        expect(await f.locator('[data-chip="champions"]').first().textContent()).toContain(seg);
        if (lang === 'ru') {
          await f.locator('[data-nav="dashboard"]').click();
          await f.waitForSelector('[data-chart="heatmap"] canvas');
          await shot(page, 'dashboard-ru');
        }
        await page.close();
      }
    } finally {
      (emu.portal as { language: string }).language = before;
    }
  });

  it('an expired session is renewed through the frame (POST /api/ui/session with the user\'s current token); bad renewals get 4xx', async () => {
    const secret = 'ui-test-session-secret-0123456789abcdef';
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const renewals: number[] = [];
    page.on('response', (r) => { if (r.url().endsWith('/api/ui/session')) renewals.push(r.status()); });
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await ready(page);
    const boot = await f.evaluate(() => (window as unknown as { __SEG_BOOT: { session: string } }).__SEG_BOOT);
    const was = verifySession(secret, boot.session);
    if (typeof was === 'string') throw new Error(`boot session ${was}`);
    // the page has been open for over an hour: its session is expired
    const expired = signSession(secret, { p: was.p, m: was.m, u: was.u, a: was.a, l: was.l }, -60);
    expect(verifySession(secret, expired)).toBe('expired');
    await f.evaluate((s) => { (window as unknown as { __SEG_BOOT: { session: string } }).__SEG_BOOT.session = s; }, expired);
    await f.locator('[data-nav="dashboard"]').click();
    await f.waitForSelector('[data-chart="heatmap"] canvas', { timeout: 30_000 });
    expect(renewals).toEqual([200]);
    const renewed = verifySession(secret, await f.evaluate(() => (window as unknown as { __SEG_BOOT: { session: string } }).__SEG_BOOT.session));
    expect(renewed).toMatchObject({ p: portalId, m: was.m, u: was.u, a: was.a });
    await page.close();

    const post = (body: unknown) => fetch(`${origin}/api/ui/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await post({ member_id: was.m });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/auth_id/);
    // an unknown member_id and a known one with a bad token get the same answer (no enumeration)
    const unknown = await post({ member_id: 'no-such-member', auth_id: 'x'.repeat(32) });
    expect(unknown.status).toBe(401);
    const forged = await post({ member_id: was.m, auth_id: 'forged-token-0123456789' });
    expect(forged.status).toBe(401);
    const forgedBody = await forged.text();
    expect(forgedBody).toBe(await unknown.text());
    expect(forgedBody).not.toContain('forged-token');
  });

  it('run now (admin) starts the background pipeline', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await ready(page);
    await f.locator('[data-nav="sync"]').click();
    await f.locator('[data-action="run-now"]').click();
    await expect.poll(() => runNowCalls).toBe(1);
    await page.close();
  });
});
