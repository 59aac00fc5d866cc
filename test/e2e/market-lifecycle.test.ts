/**
 * The Market life cycle on a fresh emulated portal, end to end, through our real server and the
 * portal's own install / uninstall (https://apidocs.bitrix24.com/api-reference/common/events/on-app-uninstall.html):
 *
 *   install (ONAPPINSTALL callback → proven, registered, fields created) → use (sync, score,
 *   write-back; Chromium opens the app in the portal frame and sees the segment list) → uninstall
 *   keeping data (CLEAN=0: tokens gone, data kept, the portal keeps our fields) → reinstall (the
 *   data is there, the fields are reused, not duplicated) → "remove the app's fields" in Settings
 *   (Chromium: the dialog, the typed confirmation; the portal has none of our fields left; the
 *   banner's "re-create" brings them back, then they are removed again) →
 *   uninstall clean (CLEAN=1: every row of that portal gone from every table with a portal_id,
 *   another portal's rows untouched).
 *
 * With MARKET_SHOTS=1 (`npm run market:screenshots`) it saves the Market screenshots (1280×720,
 * the app in the portal's frame) into manifest/market/screenshots/; otherwise into the ignored
 * test/e2e/screenshots/tmp/.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Frame, Page } from 'playwright-core';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { loadConfig } from '../../src/config.js';
import { loadManifest } from '../../manifest/index.js';
import { clientForPortal, forgetPortalClient } from '../../src/portal-clients.js';
import { createServer, type ServerDeps } from '../../src/server/app.js';
import { MemoryCrmEventQueue } from '../../src/server/event-queue.js';
import { createLogger } from '../../src/server/log.js';
import { createTokenCipher, generateTokenKey, getPortalByMemberId, openStore, parseTokenKey, setTokenCipher, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { ensureUiBuilt } from '../../src/server/ui-api/ensure-built.js';
import { runSync } from '../../src/sync/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { launchBrowser } from './helpers/browser.js';

const SHOTS = process.env.MARKET_SHOTS === '1'
  ? new URL('../../manifest/market/screenshots/', import.meta.url).pathname
  : new URL('./screenshots/tmp/market/', import.meta.url).pathname;
/** The Market's largest screenshot (common-requirements.md: no more than 1280 × 720). */
const SHOT = { width: 1280, height: 720 };
const TS = 100;
const clientId = 'local.market.0001';
const clientSecret = 'market-test-secret';
const fieldsPerEntity = (e: 'contact' | 'company') => loadManifest().fields.fields.filter((f) => !f.entities || f.entities.includes(e)).length;

describe('market life cycle: install → use → uninstall (keep) → reinstall → remove fields → uninstall (clean)', { timeout: 180_000 }, () => {
  let emu: RunningEmulator;
  let db: Db;
  let server: Server;
  let deps: ServerDeps;
  let browser: Browser;
  let origin: string;
  let otherId: number;
  const memberId = () => emu.portal.memberId;
  const admin = (p: string, body?: unknown) =>
    fetch(`${emu.url}_emulator/${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  /** our fields on the portal, read from the emulator's own state */
  const ourFields = (entity: 'CRM_CONTACT' | 'CRM_COMPANY') =>
    [...emu.portal.userFields.values()].filter((f) => f.entityId === entity && f.fieldName.startsWith('UF_CRM_SEG_')).map((f) => f.id).sort((a, b) => a - b);
  const contactsWithOurValues = () => [...emu.portal.contacts.values()].filter((c) => Object.keys(c.uf).some((k) => k.startsWith('UF_CRM_SEG_'))).length;
  /** every table (and view) of our schema with a portal_id column → rows of that portal */
  const rowsOf = async (portalId: number): Promise<Record<string, number>> => {
    const { rows: tables } = await db.query<{ t: string }>(
      `SELECT DISTINCT table_name AS t FROM information_schema.columns WHERE column_name = 'portal_id' AND table_schema = current_schema() ORDER BY 1`);
    const out: Record<string, number> = {};
    for (const { t } of tables) out[t] = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t}" WHERE portal_id = $1`, [portalId])).rows[0]!.n;
    return out;
  };
  const frameOf = async (p: Page): Promise<Frame> => {
    for (let i = 0; i < 900; i++) {
      const fr = p.frames().find((x) => x.url().startsWith(origin));
      if (fr) return fr;
      await p.waitForTimeout(50);
    }
    throw new Error(`no app frame: ${(await p.locator('body').innerText()).slice(0, 400)}`);
  };
  const openApp = async (): Promise<{ page: Page; f: Frame }> => {
    const page = await browser.newPage({ viewport: SHOT });
    await page.goto(`${emu.url}app/${clientId}?user=1`);
    const f = await frameOf(page);
    await f.waitForSelector('[data-ready="yes"]', { timeout: 30_000 });
    return { page, f };
  };
  const shot = async (p: Page, name: string) => {
    await p.waitForTimeout(500);
    await p.screenshot({ path: `${SHOTS}${name}.png` });
  };
  const install = async () => {
    const r = await admin('apps/install', {
      clientId, clientSecret, code: 'b24_segments', appUrl: `${origin}/app`, installUrl: `${origin}/install`,
      scopes: deps.manifest.app.scopes, mode: 'callback',
    });
    expect(r.status).toBe(201);
    const out = (await r.json()) as { delivery: { status: number } };
    expect(out.delivery.status).toBe(200);
    expect((await admin(`apps/${clientId}/install-finish`)).status).toBe(200);
    return (await getPortalByMemberId(db, memberId()))!;
  };
  const uninstall = async (clean: boolean) => {
    const r = await admin(`apps/${clientId}/uninstall`, { clean });
    expect(r.status).toBe(200);
    const { deliveries } = (await r.json()) as { deliveries: Array<{ status: number; url: string }> };
    // the portal posted ONAPPUNINSTALL to our handler once, and we accepted it
    expect(deliveries.map((d) => [new URL(d.url).pathname, d.status])).toEqual([['/events', 200]]);
  };

  beforeAll(async () => {
    ensureUiBuilt();
    mkdirSync(SHOTS, { recursive: true });
    setTokenCipher(createTokenCipher(parseTokenKey(generateTokenKey())));
    const portal = new Portal({ language: 'en', clock: new PortalClock(Date.now(), TS) });
    generatePortal(portal, { contacts: 220, seed: 16 });
    portal.bizprocTemplates.push({ id: 31, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Win-back call', autoExecute: 0 });
    emu = await startEmulator({ portal, log: () => {} });
    db = await openStore({ dataDir: 'memory://' });
    const config = loadConfig({}, {
      port: 0, host: '127.0.0.1', clientId, clientSecret, dataDir: 'memory://', logLevel: 'warn',
      sessionSecret: 'market-test-session-secret-0123456789abcdef', oauthServerEndpoints: [`${emu.url}rest/`],
    });
    const limiter = { plan: 'standard' as const, timeScale: TS };
    deps = {
      db, config, manifest: loadManifest(), log: createLogger('warn'), events: new MemoryCrmEventQueue(), limiter,
      clientFor: (id: number) => clientForPortal(db, id, { clientId, clientSecret, limiter }),
      forgetClient: (id: number) => forgetPortalClient(db, id),
    };
    server = await new Promise<Server>((resolve) => {
      const s = createServer(deps).listen(0, '127.0.0.1', () => resolve(s));
    });
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    config.publicUrl = origin;
    // another portal in the same store: what happens to this one must not touch it
    const other = new Portal({ language: 'de' });
    generatePortal(other, { contacts: 60, seed: 3 });
    otherId = (await upsertPortalOnInstall(db, { memberId: other.memberId, domain: 'other.bitrix24.de', status: 'active' })).id;
    await mirrorEmulatorPortal(other, db, otherId);
    await runScoring(db, otherId);
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((res) => (server ? server.close(() => res()) : res()));
    server?.closeAllConnections?.();
    await emu?.close();
    await db?.close();
  });

  let portalId: number;
  let contactFieldIds: number[];
  let kept: Record<string, number>;
  let otherRows: Record<string, number>;

  it('install: the portal is proven and stored, placements and events bound, every field created', async () => {
    otherRows = await rowsOf(otherId);
    const p = await install();
    portalId = p.id;
    expect(p.status).toBe('active');
    expect(emu.portal.apps.get(clientId)!.installed).toBe(true);
    const handlers = emu.portal.eventBindings.filter((b) => b.clientId === clientId).map((b) => b.event.toUpperCase());
    expect(handlers).toContain('ONAPPUNINSTALL');
    expect(emu.portal.placements.filter((x) => x.clientId === clientId).map((x) => x.placement).sort())
      .toEqual(deps.manifest.app.placements.map((x) => x.placement).sort());
    contactFieldIds = ourFields('CRM_CONTACT');
    expect(contactFieldIds).toHaveLength(fieldsPerEntity('contact'));
    expect(ourFields('CRM_COMPANY')).toHaveLength(fieldsPerEntity('company'));
  });

  it('use: sync, score and write back; the app in the portal frame shows the segment list', async () => {
    const client = deps.clientFor(portalId);
    const sync = await runSync({ db, portalId, client }, { kind: 'full' });
    expect(sync.counts.contacts).toBe(emu.portal.contacts.size);
    await runScoring(db, portalId);
    const wb = await runWriteBack(db, portalId, client);
    expect(wb.written).toBeGreaterThan(0);
    expect(contactsWithOurValues()).toBe(wb.written);
    const { page, f } = await openApp();
    await f.waitForFunction(() => document.querySelectorAll('[data-role="list"] tbody tr[data-contact]').length > 0, undefined, { timeout: 20_000 });
    const shown = Number(await f.locator('[data-role="list"] tbody tr[data-contact]').first().getAttribute('data-contact'));
    expect(emu.portal.contacts.has(shown)).toBe(true);
    await f.locator('[data-kind="segment"]').first().locator('[data-chip="champions"]').click();
    await f.locator('[data-kind="segment"]').first().locator('[data-chip="loyal"]').click();
    await f.waitForFunction(() => document.querySelectorAll('[data-role="list"] tbody tr[data-contact]').length > 0);
    // the counters and the list's first rows in view
    await f.locator('[data-role="count"]').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await shot(page, '1-segments');
    await f.locator('[data-nav="dashboard"]').click();
    await f.waitForSelector('[data-chart="heatmap"] canvas', { timeout: 20_000 });
    await shot(page, '2-dashboard');
    await f.locator('[data-nav="settings"]').click();
    await f.waitForSelector('[data-role="app-fields"]', { timeout: 20_000 });
    await shot(page, '4-settings');
    await page.close();
    // the contact card's tab, on a contact the run labelled
    const { rows } = await db.query<{ id: number }>(`SELECT contact_id AS id FROM contact_labels WHERE portal_id = $1 AND frequency >= 2 ORDER BY contact_id LIMIT 1`, [portalId]);
    const card = await browser.newPage({ viewport: SHOT });
    await card.goto(`${emu.url}crm/contact/details/${rows[0]!.id}/`);
    await card.locator('#card-tabs .tab', { hasText: /segment/i }).first().click();
    const tab = await frameOf(card);
    await tab.waitForSelector('[data-role="rfm"]', { timeout: 20_000 });
    await shot(card, '3-contact-card');
    await card.close();
  });

  it('uninstall keeping data (CLEAN=0): tokens gone, the data kept; the portal keeps our fields', async () => {
    kept = await rowsOf(portalId);
    expect(kept.contacts).toBe(emu.portal.contacts.size);
    await uninstall(false);
    const p = (await getPortalByMemberId(db, memberId()))!;
    expect(p.status).toBe('uninstalled');
    const { rows } = await db.query<{ a: unknown; r: unknown }>(`SELECT access_token_enc AS a, refresh_token_enc AS r FROM portals WHERE id = $1`, [portalId]);
    expect(rows[0]).toEqual({ a: null, r: null });
    expect(await rowsOf(portalId)).toEqual(kept);
    expect(ourFields('CRM_CONTACT')).toEqual(contactFieldIds);
  });

  it('reinstall: the same portal row and its data; the fields are reused, not duplicated; the app works again', async () => {
    const p = await install();
    expect([p.id, p.status]).toEqual([portalId, 'active']);
    expect(ourFields('CRM_CONTACT')).toEqual(contactFieldIds);
    expect(ourFields('CRM_COMPANY')).toHaveLength(fieldsPerEntity('company'));
    const now = await rowsOf(portalId);
    for (const t of ['contacts', 'deals', 'score_runs', 'contact_labels']) expect(now[t], t).toBe(kept[t]);
    const { page, f } = await openApp();
    await f.waitForFunction(() => document.querySelectorAll('[data-role="list"] tbody tr[data-contact]').length > 0, undefined, { timeout: 20_000 });
    await page.close();
  });

  /** Settings → "Remove the app's fields": the dialog takes nothing but the typed word, then the banner shows. */
  const removeInSettings = async (f: Frame) => {
    await f.locator('[data-action="remove-fields"]').click();
    const confirm = f.locator('[data-action="confirm-remove-fields"]');
    expect(await confirm.isDisabled()).toBe(true);
    await f.locator('[data-role="fields-confirm-input"]').fill('delete');
    expect(await confirm.isDisabled()).toBe(true);
    expect(ourFields('CRM_CONTACT')).toHaveLength(fieldsPerEntity('contact'));
    await f.locator('[data-role="fields-confirm-input"]').fill('DELETE');
    await confirm.click();
    await f.waitForSelector('[data-role="fields-removed-banner"]', { timeout: 20_000 });
    expect(await f.locator('[data-role="fields-status"]').textContent()).toBe(`Fields removed: ${fieldsPerEntity('contact') + fieldsPerEntity('company')}.`);
  };

  it('Settings → "Remove the app\'s fields" with its confirmation: the portal has none of our fields or values left; "Re-create" brings them back', async () => {
    expect(contactsWithOurValues()).toBeGreaterThan(0);
    const { page, f } = await openApp();
    await f.locator('[data-nav="settings"]').click();
    await removeInSettings(f);
    expect(ourFields('CRM_CONTACT')).toEqual([]);
    expect(ourFields('CRM_COMPANY')).toEqual([]);
    expect(contactsWithOurValues()).toBe(0);
    // the next write-back does not bring them back
    const wb = await runWriteBack(db, portalId, deps.clientFor(portalId));
    expect(wb.skipped).toBe('FIELDS_REMOVED');
    expect(ourFields('CRM_CONTACT')).toEqual([]);
    // the banner's "Re-create the fields": all of them again, and the write-back fills them
    await f.locator('[data-action="restore-fields"]').click();
    await f.waitForSelector('[data-role="fields-removed-banner"]', { state: 'detached', timeout: 20_000 });
    expect(ourFields('CRM_CONTACT')).toHaveLength(fieldsPerEntity('contact'));
    expect(ourFields('CRM_COMPANY')).toHaveLength(fieldsPerEntity('company'));
    const wb2 = await runWriteBack(db, portalId, deps.clientFor(portalId));
    expect(wb2.written).toBeGreaterThan(0);
    expect(contactsWithOurValues()).toBe(wb2.written);
    // and removed for good before the clean uninstall
    await removeInSettings(f);
    expect(ourFields('CRM_CONTACT')).toEqual([]);
    expect(contactsWithOurValues()).toBe(0);
    await page.close();
  });

  it('uninstall clean (CLEAN=1): every row of the portal is gone from every table; the other portal is untouched', async () => {
    await uninstall(true);
    expect(await getPortalByMemberId(db, memberId())).toBeNull();
    const left = Object.entries(await rowsOf(portalId)).filter(([, n]) => n > 0);
    expect(left).toEqual([]);
    expect(await rowsOf(otherId)).toEqual(otherRows);
    expect(Object.values(otherRows).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(emu.portal.apps.has(clientId)).toBe(false);
  });
});
