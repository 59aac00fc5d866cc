/**
 * The host page runs the real b24jssdk (UMD build) in an iframe over the real postMessage
 * protocol: install wizard → installFinish → app page, REST from the frame, setTitle,
 * resizeWindow, openPath slider, refreshAuth, placement tab visible only after install,
 * non-admin stub. Uses the real `startEmulator` with a generated portal.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Frame, Page } from 'playwright-core';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { launchBrowser } from './helpers/browser.js';
import { startTestApp, type TestApp } from './helpers/frame-test-app.js';

const SHOTS = new URL("./screenshots/", import.meta.url).pathname;
const TMP_SHOTS = new URL("./screenshots/tmp/", import.meta.url).pathname; // gitignored (**/screenshots/tmp/)
/** README screenshots are rewritten only on request (UPDATE_README_SHOTS=1); otherwise they go to tmp. */
const README_SHOTS = process.env.UPDATE_README_SHOTS === '1' ? `${SHOTS}readme/` : TMP_SHOTS;

interface AppState {
  kind: string; memberId?: string; lang?: string; placement?: string; options?: Record<string, unknown>;
  install?: boolean; isAdmin?: boolean; profile?: Record<string, unknown>; done?: boolean; error?: string;
}
interface LogEntry { command: string; params?: unknown; appSid?: string; placement?: string; rejected?: string }

describe('host page + real B24Frame in chromium', () => {
  let emu: RunningEmulator;
  let testApp: TestApp;
  let browser: Browser;
  let page: Page;
  let clientId: string;

  const appFrame = async (p: Page, kind: string): Promise<Frame> => {
    for (let i = 0; i < 100; i++) {
      const f = p.frames().find((fr) => fr.url().startsWith(`${testApp.origin}/${kind}`));
      if (f) return f;
      await p.waitForTimeout(50);
    }
    throw new Error(`no ${kind} frame`);
  };
  const appState = async (f: Frame): Promise<AppState> => {
    await f.waitForFunction(() => {
      const a = (window as unknown as { __app?: AppState }).__app;
      return !!a && (a.done === true || !!a.error);
    }, undefined, { timeout: 20_000 });
    return f.evaluate(() => (window as unknown as { __app: AppState }).__app);
  };
  const hostLog = (p: Page): Promise<LogEntry[]> => p.evaluate(() => (window as unknown as { __b24Log: LogEntry[] }).__b24Log);
  const rest = async (method: string, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> => {
    const r = await fetch(`${emu.url}rest/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    mkdirSync(README_SHOTS, { recursive: true });
    mkdirSync(TMP_SHOTS, { recursive: true });
    const portal = new Portal({ language: 'en' });
    generatePortal(portal, { contacts: 300, seed: 7 });
    emu = await startEmulator({ portal, log: () => {} });
    testApp = await startTestApp();
    const r = await fetch(`${emu.url}_emulator/apps/install`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: 'segments', appUrl: `${testApp.origin}/app`, installUrl: `${testApp.origin}/install`, scopes: ['crm', 'placement', 'user_brief'], mode: 'wizard' }),
    });
    expect(r.status).toBe(201);
    clientId = ((await r.json()) as { app: { clientId?: string; CLIENT_ID?: string } }).app.clientId
      ?? [...emu.portal.apps.keys()][0]!;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await testApp?.close();
    await emu?.close();
  });

  it('home page lists the app as not fully installed', async () => {
    await page.goto(emu.url);
    const rows = await page.locator(`#apps tr[data-client-id="${clientId}"] .app-status`).textContent();
    expect(rows).toContain('not finished');
    expect(await page.locator('#current-user').textContent()).toContain('Victoria Sokolova');
  });

  it('a non-admin gets the "not fully installed" stub before installFinish', async () => {
    const p = await browser.newPage();
    await p.goto(`${emu.url}app/${clientId}?user=2`);
    expect(await p.locator('#app-stub').textContent()).toContain('not fully installed');
    expect(p.frames().some((f) => f.url().startsWith(testApp.origin))).toBe(false);
    await p.close();
  });

  it('install wizard: B24Frame initialises over postMessage, REST works, installFinish marks the app installed', async () => {
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await appFrame(page, 'install');
    const st = await appState(f);
    expect(st.error).toBeUndefined();
    expect(st.install).toBe(true);
    expect(st.isAdmin).toBe(true);
    expect(st.memberId).toBe(emu.portal.memberId);
    expect(st.lang).toBe('en');
    expect(st.placement).toBe('DEFAULT');
    expect(st.profile?.ADMIN).toBe(true);
    expect(st.profile?.NAME).toBe('Victoria');
    // what Bitrix24 POSTs to the installer URL (https://apidocs.bitrix24.com/settings/oauth/simple-way.html)
    const hit = testApp.hits.find((h) => h.path === '/install')!;
    expect(hit.method).toBe('POST');
    expect(hit.query.DOMAIN).toBe(emu.portal.domain);
    expect(hit.query.PROTOCOL).toBe('0');
    expect(hit.query.LANG).toBe('en');
    expect(String(hit.query.APP_SID)).toMatch(/^[0-9a-f]{32}$/);
    expect(hit.body.member_id).toBe(emu.portal.memberId);
    expect(hit.body.PLACEMENT).toBe('DEFAULT');
    expect(hit.body.APPLICATION_SCOPE).toBe('crm,placement,user_brief');
    expect(hit.body.APPLICATION_TOKEN).toBe(emu.portal.apps.get(clientId)!.applicationToken);
    expect(emu.portal.tokens.get(String(hit.body.AUTH_ID))?.userId).toBe(1);
    expect(emu.portal.refreshTokens.has(String(hit.body.REFRESH_ID))).toBe(true);
    // the host answered the frame: title and size
    await expect.poll(() => page.locator('#pagetitle').textContent()).toBe('Segments: DEFAULT');
    const h = await page.locator('iframe.b24-app-iframe').evaluate((el) => (el as HTMLIFrameElement).style.height);
    expect(h).toBe('460px');
    const log = await hostLog(page);
    const cmds = log.map((l) => l.command);
    expect(cmds).toEqual(expect.arrayContaining(['getInitData', 'setInstall', 'setTitle', 'resizeWindow']));
    expect(log.every((l) => l.appSid === hit.query.APP_SID && !l.rejected)).toBe(true);

    // bind a contact-card tab during installation, as real apps do
    const bind = await f.evaluate(async (origin) => {
      const b24 = (window as unknown as { __b24: { actions: { v2: { call: { make(a: unknown): Promise<{ getData(): { result: unknown } }> } } } } }).__b24;
      const r = await b24.actions.v2.call.make({ method: 'placement.bind', params: { PLACEMENT: 'CRM_CONTACT_DETAIL_TAB', HANDLER: `${origin}/tab`, TITLE: 'Segments' } });
      return r.getData().result;
    }, testApp.origin);
    expect(bind).toBe(true);
    const card = await browser.newPage();
    await card.goto(`${emu.url}crm/contact/details/1/`);
    expect(await card.locator('#card-tabs .tab').allTextContents()).not.toContain('Segments');
    await card.close();

    expect(emu.portal.apps.get(clientId)!.installed).toBe(false);
    await f.evaluate(() => (window as unknown as { __b24: { installFinish(): Promise<unknown> } }).__b24.installFinish());
    await expect.poll(() => emu.portal.apps.get(clientId)!.installed).toBe(true);
    // the frame reloads into the app URL, no longer in install mode
    const f2 = await appFrame(page, 'app');
    const st2 = await appState(f2);
    expect(st2.install).toBe(false);
    expect(st2.error).toBeUndefined();
    const info = await f2.evaluate(async () => {
      const b24 = (window as unknown as { __b24: { actions: { v2: { call: { make(a: unknown): Promise<{ getData(): { result: Record<string, unknown> } }> } } } } }).__b24;
      return (await b24.actions.v2.call.make({ method: 'app.info' })).getData().result;
    });
    expect(info.INSTALLED).toBe(true);
    expect((await hostLog(page)).map((l) => l.command)).toContain('setInstallFinish');
    await page.screenshot({ path: `${README_SHOTS}host-app-page.png` });
  });

  it('refreshAuth answers with a fresh, working token', async () => {
    const f = await appFrame(page, 'app');
    const before = await f.evaluate(() => (window as unknown as { __b24: { auth: { getAuthData(): { access_token: string } } } }).__b24.auth.getAuthData().access_token);
    const after = await f.evaluate(async () => {
      const b24 = (window as unknown as { __b24: { auth: { refreshAuth(): Promise<{ access_token: string; refresh_token: string }> } } }).__b24;
      return b24.auth.refreshAuth();
    });
    expect(after.access_token).not.toBe(before);
    expect(emu.portal.tokens.get(after.access_token)).toMatchObject({ clientId, userId: 1 });
    const r = await rest('profile', { auth: after.access_token });
    expect(r.status).toBe(200);
    expect((r.json.result as Record<string, unknown>).ID).toBe('1');
    expect((await hostLog(page)).map((l) => l.command)).toContain('refreshAuth');
  });

  it('openPath opens the contact card in a slider and answers {result:"close"} when closed', async () => {
    const f = await appFrame(page, 'app');
    const pending = f.evaluate(async () => {
      const b24 = (window as unknown as { __b24: { slider: { getUrl(p: string): URL; openPath(u: URL): Promise<unknown> } } }).__b24;
      return b24.slider.openPath(b24.slider.getUrl('/crm/contact/details/1/'));
    });
    const slider = page.locator('.slider-overlay[data-path="/crm/contact/details/1/"]');
    await slider.waitFor();
    const inner = page.frameLocator('.slider-overlay iframe.slider-page');
    expect(await inner.locator('#contact-fields').textContent()).toContain(emu.portal.contacts.get(1)!.lastName);
    await page.screenshot({ path: `${TMP_SHOTS}open-path-slider.png` });
    await page.click('.slider-overlay .slider-close');
    const res = await pending;
    expect(res).toEqual({ isOpenAtNewWindow: false, isClose: true });
    expect(await slider.count()).toBe(0);
  });

  it('the contact card shows the placement tab after install and opens the handler with PLACEMENT_OPTIONS', async () => {
    const c = emu.portal.contacts.get(3)!;
    await page.goto(`${emu.url}crm/contact/details/3/`);
    expect(await page.locator('#pagetitle').textContent()).toBe(`${c.name} ${c.lastName}`);
    const tab = page.locator('#card-tabs .tab', { hasText: 'Segments' });
    await tab.click();
    const f = await appFrame(page, 'tab');
    const st = await appState(f);
    expect(st.error).toBeUndefined();
    expect(st.placement).toBe('CRM_CONTACT_DETAIL_TAB');
    expect(st.options?.ID).toBe('3');
    const hit = testApp.hits.filter((h) => h.path === '/tab').at(-1)!;
    expect(hit.body.PLACEMENT).toBe('CRM_CONTACT_DETAIL_TAB');
    expect(JSON.parse(String(hit.body.PLACEMENT_OPTIONS)).ID).toBe('3');
    await page.screenshot({ path: `${README_SHOTS}host-contact-card-tab.png` });
  });

  it('a non-admin opens the installed app with IS_ADMIN false and their own token', async () => {
    const p = await browser.newPage();
    await p.goto(`${emu.url}app/${clientId}?user=2`);
    const f = await appFrame(p, 'app');
    const st = await appState(f);
    expect(st.isAdmin).toBe(false);
    expect(st.profile?.ID).toBe('2');
    expect(await p.locator('#current-user').getAttribute('data-admin')).toBe('N');
    await p.close();
  });

  it('drops messages with a wrong APP_SID and answers unknown commands with {}', async () => {
    const f = await appFrame(page, 'tab');
    const n0 = (await hostLog(page)).length;
    const answer = await f.evaluate(async () => {
      const got: string[] = [];
      const onMsg = (e: MessageEvent): void => { if (typeof e.data === 'string') got.push(e.data); };
      window.addEventListener('message', onMsg);
      const sid = window.name.split('|')[2];
      parent.postMessage('setTitle:{"title":"hijack"}:cb-bad:not-the-sid', '*');
      parent.postMessage(`imCallTo:{"userId":1}:cb-good:${sid}`, '*');
      await new Promise((r) => setTimeout(r, 300));
      window.removeEventListener('message', onMsg);
      return got;
    });
    expect(answer).toEqual(['cb-good:{}']);
    const log = (await hostLog(page)).slice(n0);
    expect(log.map((l) => [l.command, l.rejected ?? null])).toEqual([['setTitle', 'APP_SID'], ['imCallTo', null]]);
    expect(await page.locator('#pagetitle').textContent()).not.toBe('hijack');
  });

  it('openApplication opens the app in a slider with PLACEMENT_OPTIONS from params; closeApplication closes it', async () => {
    await page.goto(`${emu.url}app/${clientId}`);
    const main = await appFrame(page, 'app');
    await appState(main);
    const pending = main.evaluate(async () => {
      const b24 = (window as unknown as { __b24: { slider: { openSliderAppPage(p: unknown): Promise<unknown> } } }).__b24;
      return b24.slider.openSliderAppPage({ view: 'segment', segmentId: 7, bx24_title: 'Segment 7', bx24_width: 900 });
    });
    await page.locator('.slider-overlay.app-slider').waitFor();
    const appFrames = (): Frame[] => page.frames().filter((fr) => fr.url().startsWith(`${testApp.origin}/app`));
    await expect.poll(() => appFrames().length, { timeout: 10_000 }).toBe(2);
    const inner = appFrames().find((fr) => fr !== main)!;
    const st = await appState(inner);
    expect(st.placement).toBe('DEFAULT');
    expect(st.options).toEqual({ view: 'segment', segmentId: 7 });
    // setTitle from the slider frame goes to the slider title, not the page
    expect(await page.locator('.slider-overlay.app-slider .slider-title').textContent()).toBe('Segments: DEFAULT');
    await inner.evaluate(() => {
      const b24 = (window as unknown as { __b24: { slider: { closeSliderAppPage(): Promise<unknown> } } }).__b24;
      void b24.slider.closeSliderAppPage().catch(() => undefined);
    });
    expect(await pending).toEqual({});
    expect(await page.locator('.slider-overlay').count()).toBe(0);
    const cmds = (await hostLog(page)).map((l) => l.command);
    expect(cmds).toEqual(expect.arrayContaining(['openApplication', 'closeApplication']));
  });

  it('selectUser shows a picker and answers with the chosen user', async () => {
    const main = await appFrame(page, 'app');
    const pending = main.evaluate(async () => {
      const b24 = (window as unknown as { __b24: { dialog: { selectUser(): Promise<unknown> } } }).__b24;
      return b24.dialog.selectUser();
    });
    await page.locator('.user-picker .user-option[data-user-id="3"]').click();
    const u = emu.portal.users.get(3)!;
    expect(await pending).toMatchObject({ id: '3', name: `${u.name} ${u.lastName}` });
  });

  it('the contact card shows UF_CRM_* fields by label, enumerations by VALUE', async () => {
    const id = emu.portal.nextId('userField');
    emu.portal.userFields.set(id, {
      id, entityId: 'CRM_CONTACT', fieldName: 'UF_CRM_SEG_RFM', userTypeId: 'enumeration', xmlId: null, sort: 100, multiple: false,
      mandatory: false, showFilter: 'E', showInList: true, editInList: true, isSearchable: false, settings: {},
      editFormLabel: { en: 'RFM segment' }, listColumnLabel: { en: 'RFM segment' }, listFilterLabel: {}, errorMessage: {}, helpMessage: {},
      list: [{ id: 501, value: 'Champions', sort: 10, def: false, xmlId: 'CHAMPIONS' }, { id: 502, value: 'At risk', sort: 20, def: false, xmlId: 'AT_RISK' }],
      createdByApp: clientId,
    });
    emu.portal.contacts.get(2)!.uf.UF_CRM_SEG_RFM = 502;
    await page.goto(`${emu.url}crm/contact/details/2/`);
    const row = page.locator('#contact-uf tr[data-field="UF_CRM_SEG_RFM"]');
    expect(await row.locator('th').textContent()).toBe('RFM segment');
    expect(await row.locator('td').textContent()).toBe('At risk');
  });

  it('setAppOption persists into the app record; home page shows the app installed', async () => {
    await page.goto(`${emu.url}app/${clientId}`);
    const f = await appFrame(page, 'app');
    await appState(f);
    await f.evaluate(async () => {
      const b24 = (window as unknown as { __b24: { options: { appSet(k: string, v: unknown): Promise<void> } } }).__b24;
      await b24.options.appSet('theme', 'dark');
    });
    await expect.poll(() => emu.portal.apps.get(clientId)!.options.theme).toBe('dark');
    await page.goto(emu.url);
    expect(await page.locator(`#apps tr[data-client-id="${clientId}"] .app-status`).textContent()).toContain('installed');
    await page.screenshot({ path: `${README_SHOTS}host-home.png` });
  });
});
