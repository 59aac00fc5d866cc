/**
 * The real stack for browser tests of the UI: a generated emulator portal (with one contact
 * workflow template), our server (install/events routes and the UI), the app installed through
 * the portal's callback, the store mirrored from the emulator with the contact columns a sync
 * stores, scored at the given days (each with its own scoring settings, if any), and Chromium.
 * The portal page (`<emu>/app/<clientId>?user=N`) frames the app as that user.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Frame, Page } from 'playwright-core';
import { expect } from 'vitest';
import { PortalClock } from '../../../src/emulator/clock.js';
import { generatePortal, type GenerateOptions } from '../../../src/emulator/generator.js';
import { startLive } from '../../../src/emulator/live/index.js';
import { Portal } from '../../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../../src/emulator/server.js';
import { loadConfig } from '../../../src/config.js';
import { loadManifest } from '../../../manifest/index.js';
import { clientForPortal, forgetPortalClient } from '../../../src/portal-clients.js';
import { createServer } from '../../../src/server/app.js';
import { MemoryCrmEventQueue } from '../../../src/server/event-queue.js';
import { createLogger } from '../../../src/server/log.js';
import { createTokenCipher, generateTokenKey, getPortalByMemberId, openStore, parseTokenKey, setTokenCipher, updatePortalSettings, type Db } from '../../../src/store/index.js';
import { ensureUiBuilt } from '../../../src/server/ui-api/ensure-built.js';
import { runScoring } from '../../../src/pipeline/score.js';
import { mirrorEmulatorPortal } from '../../helpers/emulator-mirror.js';
import { launchBrowser } from './browser.js';

export interface LogEntry { command: string; params?: Record<string, unknown>; appSid?: string }

export interface UiStack {
  emu: RunningEmulator;
  db: Db;
  origin: string;
  browser: Browser;
  clientId: string;
  portalId: number;
  templateId: number;
  /** the app's REST client for the portal, as the server's jobs get it (stored tokens, refreshed) */
  client(): ReturnType<typeof clientForPortal>;
  /** opens the portal page as a user (1 admin, 2 head of sales, 3.. managers) and waits for the app */
  open(user: number, o?: { width?: number; lang?: string }): Promise<{ page: Page; f: Frame }>;
  frameOf(p: Page): Promise<Frame>;
  hostLog(p: Page): Promise<LogEntry[]>;
  shot(p: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

/** Score runs: days before the portal's now, each with optional scoring settings stored first. */
export interface RunSpec { daysAgo: number; scoring?: Record<string, unknown> }

export async function startUiStack(o: {
  contacts: number; seed: number; runs: RunSpec[]; shots: string; clientId: string;
  /** B2B: the generator's B2B profile and the B2B option on before the runs */
  b2b?: boolean;
  /** data-quality problems to plant (the generator's `quality` option) */
  quality?: GenerateOptions['quality'];
  /**
   * A living portal (src/emulator/live/) with this uplift: the portal clock stands still unless the
   * test moves it (`/_emulator/live/advance`), so the request bucket and operating budget are off
   * (they drain on portal time) and the access tokens outlive the test (400 portal days).
   * `startDaysAgo`: the portal's history ends that many days before the wall clock's now, so that
   * portal days the test advances still lie in the app server's past (its API measures up to `new Date()`).
   */
  live?: { uplift: number; startDaysAgo?: number };
}): Promise<UiStack> {
  ensureUiBuilt();
  mkdirSync(o.shots, { recursive: true });
  setTokenCipher(createTokenCipher(parseTokenKey(generateTokenKey())));
  const portal = new Portal({ language: 'en', ...(o.live ? { clock: new PortalClock(Date.now() - (o.live.startDaysAgo ?? 0) * 86_400_000, 1, () => 0), accessTokenTtl: 400 * 86_400 } : {}) });
  generatePortal(portal, { contacts: o.contacts, seed: o.seed, profile: o.b2b ? 'b2b' : 'shop', live: o.live !== undefined, ...(o.quality ? { quality: o.quality } : {}) });
  if (o.live) startLive(portal, { uplift: o.live.uplift });
  const templateId = 31;
  portal.bizprocTemplates.push({ id: templateId, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Win-back call', autoExecute: 0 });
  const emu = await startEmulator({ portal, log: () => {}, ...(o.live ? { limits: { noRateLimit: true, operatingLimit: 1e7 } } : {}) });
  const db = await openStore({ dataDir: 'memory://' });
  const config = loadConfig({}, {
    port: 0, host: '127.0.0.1', clientId: o.clientId, clientSecret: 'ui-test-secret', dataDir: 'memory://', logLevel: 'warn',
    sessionSecret: 'ui-test-session-secret-0123456789abcdef', oauthServerEndpoints: [`${emu.url}rest/`],
  });
  const deps = {
    db, config, manifest: loadManifest(), log: createLogger('warn'), events: new MemoryCrmEventQueue(),
    // a living portal's bucket is off (its clock stands still): the client need not pace itself in real time either
    clientFor: (id: number) => clientForPortal(db, id, { clientId: o.clientId, clientSecret: config.clientSecret, ...(o.live ? { limiter: { plan: 'standard' as const, timeScale: 1000 } } : {}) }),
    forgetClient: (id: number) => forgetPortalClient(db, id),
  };
  const server = await new Promise<Server>((resolve) => {
    const s = createServer(deps).listen(0, '127.0.0.1', () => resolve(s));
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  config.publicUrl = origin;
  const admin = (p: string, body?: unknown) =>
    fetch(`${emu.url}_emulator/${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  const r = await admin('apps/install', {
    clientId: o.clientId, clientSecret: config.clientSecret, code: 'b24_segments', appUrl: `${origin}/app`, installUrl: `${origin}/install`,
    scopes: deps.manifest.app.scopes, mode: 'callback',
  });
  expect(r.status).toBe(201);
  const inst = (await r.json()) as { delivery: { payload: { auth: { member_id: string } } } };
  expect((await admin(`apps/${o.clientId}/install-finish`)).status).toBe(200);
  const portalId = (await getPortalByMemberId(db, inst.delivery.payload.auth.member_id))!.id;
  await mirrorEmulatorPortal(emu.portal, db, portalId, { currencies: true });
  // the mirror copies ids, names and UF only; add the contact fields a real sync stores
  const cs = [...emu.portal.contacts.values()];
  await db.query(
    `UPDATE contacts c SET source_id = u.src, city = u.city, assigned_by_id = u.resp, has_email = u.em, has_phone = u.ph, company_id = u.co
       FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::boolean[], $7::boolean[], $8::bigint[]) AS u(id, src, city, resp, em, ph, co)
      WHERE c.portal_id = $1 AND c.id = u.id`,
    [portalId, cs.map((c) => c.id), cs.map((c) => c.sourceId), cs.map((c) => c.addressCity), cs.map((c) => c.assignedById),
      cs.map((c) => c.fm.some((m) => m.typeId === 'EMAIL')), cs.map((c) => c.fm.some((m) => m.typeId === 'PHONE')), cs.map((c) => c.companyId)],
  );
  if (o.b2b) await updatePortalSettings(db, portalId, { b2b: true });
  const now = emu.portal.clock.now();
  for (const run of o.runs) {
    if (run.scoring) await updatePortalSettings(db, portalId, { scoring: run.scoring });
    await runScoring(db, portalId, new Date(now - run.daysAgo * 86_400_000));
  }
  const browser = await launchBrowser();

  const frameOf = async (p: Page): Promise<Frame> => {
    for (let i = 0; i < 200; i++) {
      const fr = p.frames().find((x) => x.url().startsWith(origin));
      if (fr) return fr;
      await p.waitForTimeout(50);
    }
    throw new Error('no app frame');
  };
  return {
    emu, db, origin, browser, clientId: o.clientId, portalId, templateId, frameOf, client: () => deps.clientFor(portalId),
    async open(user, oo = {}) {
      (emu.portal as { language: string }).language = oo.lang ?? 'en';
      const page = await browser.newPage({ viewport: { width: oo.width ?? 1280, height: 900 }, acceptDownloads: true });
      await page.goto(`${emu.url}app/${o.clientId}?user=${user}`);
      const f = await frameOf(page);
      await f.waitForSelector('[data-ready="yes"]', { timeout: 30_000 });
      return { page, f };
    },
    hostLog: (p) => p.evaluate(() => (window as unknown as { __b24Log: LogEntry[] }).__b24Log),
    async shot(p, name) {
      await p.waitForTimeout(400);
      await p.screenshot({ path: `${o.shots}${name}.png`, fullPage: true });
    },
    async close() {
      (emu.portal as { language: string }).language = 'en';
      await browser.close();
      await new Promise<void>((res) => server.close(() => res()));
      server.closeAllConnections?.();
      await emu.close();
      await db.close();
    },
  };
}
