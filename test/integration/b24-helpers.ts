/**
 * Shared setup of the b24 client integration tests: a real emulator with a generated portal,
 * an app installed through the admin API and tokens obtained through the emulator's OAuth
 * server (authorization-code grant), like a real install.
 */
import axios from 'axios';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { Portal, type Plan } from '../../src/emulator/portal.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal, type GenerateOptions } from '../../src/emulator/generator.js';
import { MemoryTokenSource } from '../../src/b24/auth.js';

export interface TestPortal {
  emu: RunningEmulator;
  clientId: string;
  clientSecret: string;
  tokens: MemoryTokenSource;
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

/**
 * A portal start time with `hours` of portal day left before midnight UTC: now, or 01:00 UTC of the
 * next day when today has less left. The portal clock runs `timeScale` times faster than the wall
 * (100–200 in these tests): a test of 30 s spans 50–100 portal minutes, so one started late in the
 * UTC evening crossed into the next portal day between two cycles it expects on the same day
 * (measured: refusal-companies and data-quality failed every run started 23:38–23:55 UTC). Ahead of
 * the wall clock, never behind: tokens the emulator issues stay valid in the app's eyes.
 */
export function portalStartAwayFromMidnight(hours = 6, now = Date.now()): number {
  const day = 86_400_000;
  const nextMidnight = Math.floor(now / day) * day + day;
  return nextMidnight - now >= hours * 3_600_000 ? now : nextMidnight + 3_600_000;
}

/**
 * `clock`: a portal clock of the caller's (e.g. one held still while the portal is generated, so
 * two portals get identical data). `frozenClock`: portal time does not follow wall time, it moves only when the test advances it
 * (`portal.clock.advance`, `POST /_emulator/clock/advance`). For tests whose outcome depends on
 * portal time (token expiry) and must not depend on how fast the machine is. The rate/operating
 * limits then also recover only through advances. `awayFromMidnight`: the portal clock starts at
 * portalStartAwayFromMidnight() instead of now, for tests that compare two cycles of one portal day.
 */
export async function startTestPortal(o: {
  contacts: number; deals?: number; seed?: number; timeScale?: number; plan?: Plan; accessTokenTtl?: number; faults?: string; operatingLimit?: number;
  frozenClock?: boolean; clock?: PortalClock; profile?: 'shop' | 'b2b'; awayFromMidnight?: boolean;
  /** the portal's language (crm.status.list names) and further generator options */
  language?: string; gen?: Partial<GenerateOptions>;
  /** the app's scopes (default crm, user) */
  scopes?: string[];
}): Promise<TestPortal> {
  const clock = o.clock ?? new PortalClock(o.awayFromMidnight ? portalStartAwayFromMidnight() : Date.now(), o.timeScale ?? 100, o.frozenClock ? () => 0 : undefined);
  const portal = new Portal({ plan: o.plan ?? 'standard', clock, accessTokenTtl: o.accessTokenTtl, language: o.language });
  if (o.contacts > 0) generatePortal(portal, { ...o.gen, contacts: o.contacts, seed: o.seed ?? 7, deals: o.deals, ...(o.profile ? { profile: o.profile } : {}) });
  const emu = await startEmulator({ port: 0, portal, faults: o.faults, limits: o.operatingLimit ? { operatingLimit: o.operatingLimit } : undefined, hostPage: false, log: () => {} });
  const admin = axios.create({ baseURL: `${emu.url}_emulator/`, validateStatus: () => true });
  const inst = await admin.post('apps/install', { appUrl: 'http://127.0.0.1:9/app', scopes: o.scopes ?? ['crm', 'user'], mode: 'wizard' });
  if (inst.status !== 201) throw new Error(`install failed: ${JSON.stringify(inst.data)}`);
  const { clientId, clientSecret } = inst.data.app as { clientId: string; clientSecret: string };
  await admin.post(`apps/${clientId}/install-finish`);
  // authorization codes live 30 PORTAL seconds: at ×1000 that is 30 wall ms, so retry a few times
  type Tok = { access_token: string; refresh_token: string; client_endpoint: string; server_endpoint: string; expires_in: number };
  let t = null as Tok | null;
  for (let i = 0; i < 20 && !t; i++) {
    const code = (await admin.post(`apps/${clientId}/auth-code`, {})).data.code as string;
    const tok = await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'authorization_code', client_id: clientId, client_secret: clientSecret, code }, validateStatus: () => true });
    if (tok.status === 200) t = tok.data as Tok;
  }
  if (!t) throw new Error('could not exchange an authorization code');
  const expiresAt = portal.clock.now() + t.expires_in * 1000;
  const tokens = new MemoryTokenSource({
    accessToken: t.access_token, refreshToken: t.refresh_token, clientEndpoint: t.client_endpoint, expiresAt,
    clientId, clientSecret, serverEndpoint: t.server_endpoint,
  });
  return { emu, clientId, clientSecret, tokens, accessToken: t.access_token, refreshToken: t.refresh_token, expiresAt };
}

export async function emulatorStats(emu: RunningEmulator): Promise<{ requests: number; rejected503: number; rejected429: number; methods: Record<string, { requests: number; calls: number; operatingSeconds: number; rejected429: number }>; clock: { elapsedSeconds: number } }> {
  const s = (await axios.get(`${emu.url}_emulator/stats`)).data as { limits: { requests: number; rejected503: number; rejected429: number; methods: Record<string, { requests: number; calls: number; operatingSeconds: number; rejected429: number }> }; clock: { elapsedSeconds: number } };
  return { ...s.limits, clock: s.clock };
}

export async function resetStats(emu: RunningEmulator, counters = false): Promise<void> {
  await axios.post(`${emu.url}_emulator/stats/reset`, { counters });
}
