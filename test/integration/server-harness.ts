/**
 * Shared setup of the server integration tests: a real emulator (HTTP) and the real app
 * (HTTP) on one test database; installs go through the emulator's admin API exactly like a
 * portal admin would (install callback → ONAPPINSTALL POSTed to our /install, then installFinish).
 */
import { randomBytes } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import qs from 'qs';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { Portal } from '../../src/emulator/portal.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { startApp, type RunningApp, type StartAppOptions } from '../../src/app.js';
import { silentLogger } from '../../src/server/log.js';
import type { Db } from '../../src/store/index.js';

export const SCOPES = ['crm', 'catalog', 'placement', 'user_brief', 'bizproc'];

export async function startPortal(o: { contacts?: number; seed?: number; timeScale?: number; accessTokenTtl?: number } = {}): Promise<RunningEmulator> {
  const portal = new Portal({ clock: new PortalClock(Date.now(), o.timeScale ?? 1), accessTokenTtl: o.accessTokenTtl });
  if (o.contacts) generatePortal(portal, { contacts: o.contacts, seed: o.seed ?? 7 });
  return startEmulator({ port: 0, portal, hostPage: false, log: () => {} });
}

export interface TestApp {
  app: RunningApp;
  http: AxiosInstance;
  clientId: string;
  clientSecret: string;
}

/** The OAuth server of an emulated portal (its REST base): what the app must accept to prove its installs. */
export const oauthOf = (emu: RunningEmulator): string => `${emu.url}rest/`;

/** The app, accepting the OAuth servers of `accept` (the emulated portals it will be installed on). */
export async function startTestApp(
  db: Db,
  o: { accept: RunningEmulator[]; config?: Partial<RunningApp['config']>; uiDist?: string; rateLimits?: StartAppOptions['rateLimits'] },
): Promise<TestApp> {
  const clientId = `local.${randomBytes(7).toString('hex')}.${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(24).toString('hex');
  const app = await startApp({
    db,
    env: {},
    config: { port: 0, host: '127.0.0.1', clientId, clientSecret, logLevel: 'error', oauthServerEndpoints: o.accept.map(oauthOf), ...o.config },
    log: silentLogger,
    // These tests pin the server-only pages (status page after the APPLICATION_TOKEN check); the
    // Vue UI served after a real AUTH_ID check is covered by test/e2e/ui-app.test.ts.
    uiDist: o.uiDist ?? '/nonexistent/ui-dist',
    ...(o.rateLimits ? { rateLimits: o.rateLimits } : {}),
    // Server behaviour only: CRM events land in the in-memory queue the tests inspect.
    workers: false,
  });
  const http = axios.create({ baseURL: app.url, validateStatus: () => true, maxRedirects: 0 });
  return { app, http, clientId, clientSecret };
}

export function admin(emu: RunningEmulator): AxiosInstance {
  return axios.create({ baseURL: `${emu.url}_emulator/`, validateStatus: () => true });
}

export interface Installed {
  /** The ONAPPINSTALL payload the emulator POSTed (holds the real tokens). */
  payload: { event: string; auth: Record<string, string>; data: Record<string, string> };
  /** Our answer's status. */
  status: number | null;
  applicationToken: string;
  memberId: string;
}

/** Installs the app into the emulator in callback mode, then installFinish. */
export async function installCallback(emu: RunningEmulator, t: TestApp, o: { finish?: boolean } = {}): Promise<Installed> {
  const a = admin(emu);
  const r = await a.post('apps/install', {
    clientId: t.clientId, clientSecret: t.clientSecret, appUrl: `${t.app.config.publicUrl}/app`,
    installUrl: `${t.app.config.publicUrl}/install`, scopes: SCOPES, mode: 'callback',
  });
  if (r.status !== 201) throw new Error(`emulator install failed: ${r.status} ${JSON.stringify(r.data)}`);
  if (o.finish !== false) {
    const f = await a.post(`apps/${t.clientId}/install-finish`);
    if (f.status !== 200) throw new Error(`install-finish failed: ${f.status}`);
  }
  const d = r.data.delivery as { status: number | null; payload: Installed['payload'] };
  return { payload: d.payload, status: d.status, applicationToken: d.payload.auth.application_token!, memberId: d.payload.auth.member_id! };
}

/** POSTs a form-encoded body like Bitrix24 does. */
export function postForm(http: AxiosInstance, url: string, body: Record<string, unknown>) {
  return http.post(url, qs.stringify(body), { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
}

export async function portalRow(db: Db, memberId: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM portals WHERE member_id = $1', [memberId]);
  return rows[0];
}

export async function countPortals(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM portals');
  return rows[0]!.n;
}
