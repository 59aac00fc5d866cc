/**
 * The whole campaign loop on a living portal (issue 15 item 3), as `npm run bench -- campaign`
 * runs it once per seed:
 *
 *   a generated living portal (uplift R) → the app's token (install, OAuth) → full sync, score →
 *   a saved segment "buyers" (frequency ≥ 1) → a campaign from it with a holdout, the portal's
 *   workflow as action, two steps (start on day 0, reminder on day 14), a 90-day window and costs →
 *   step 1 runs (workflows start on the treatment group) → 14 portal days pass (the living process)
 *   → incremental sync → step 2 (members who converted meanwhile are dropped) → the window passes
 *   → incremental sync → measureCampaign.
 *
 * Portal time moves only when the loop moves it (`/_emulator/live/advance`): the portal clock is
 * frozen otherwise, so each step happens at a known portal moment. The emulator's request bucket
 * and operating budget are off and the access token outlives the loop (400 portal days, as bench
 * cycle does): limits and token refreshes are not what this loop measures.
 */
import http from 'node:http';
import axios from 'axios';
import { MemoryTokenSource } from '../../src/b24/auth.js';
import { B24Client } from '../../src/b24/client.js';
import { createCampaign, measureCampaign, runDueSteps, type CampaignMeasure, type PlannedStep } from '../../src/campaigns/index.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { runScoring } from '../../src/pipeline/score.js';
import { updatePortalSettings, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';

export const DAY = 86_400_000;
export const TEMPLATE_ID = 61;
/** The reminder step's day after the start. */
export const REMINDER_DAY = 14;

export interface LoopOptions {
  uplift: number;
  seed: number;
  contacts: number;
  /** Share of the members held out (the campaign's holdoutShare). */
  holdout: number;
  windowDays: 30 | 60 | 90;
  costFixed: number;
  costPerMessage: number;
  db: Db;
  log?: (line: string) => void;
}

export interface LoopResult {
  /** The JSON line's figures, in its order. */
  line: { planted: number; lift: number | null; ciLow: number | null; ciHigh: number | null; treated: number; holdout: number; roi: number | null };
  measure: CampaignMeasure;
  steps: PlannedStep[];
  portal: Portal;
  campaignId: number;
  portalId: number;
}

/** Midnight UTC at the end of a fixed history (the same calendar for every seed). */
const HISTORY_END = Date.UTC(2026, 2, 2);

/** The app's token for a portal (install in wizard mode, installFinish, an authorization code). */
async function appClient(emu: RunningEmulator): Promise<B24Client> {
  const admin = adminApi(emu);
  const inst = await admin.post('apps/install', { appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user', 'bizproc', 'catalog'], mode: 'wizard' });
  const { clientId, clientSecret } = inst.data.app as { clientId: string; clientSecret: string };
  await admin.post(`apps/${clientId}/install-finish`);
  const code = (await admin.post(`apps/${clientId}/auth-code`, {})).data.code as string;
  const tok = (await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'authorization_code', client_id: clientId, client_secret: clientSecret, code }, httpAgent: new http.Agent({ keepAlive: false }) })).data as {
    access_token: string; refresh_token: string; client_endpoint: string; server_endpoint: string; expires_in: number;
  };
  const tokens = new MemoryTokenSource({
    accessToken: tok.access_token, refreshToken: tok.refresh_token, clientEndpoint: tok.client_endpoint,
    expiresAt: emu.portal.clock.now() + tok.expires_in * 1000, clientId, clientSecret, serverEndpoint: tok.server_endpoint,
  });
  return new B24Client({ tokens, limiter: { plan: 'standard', timeScale: 1000 }, retryBaseMs: 20 });
}

/** The emulator's admin API without keep-alive (a socket the server closed after 5 idle seconds must not be reused). */
const adminApi = (emu: RunningEmulator) => axios.create({ baseURL: `${emu.url}_emulator/`, validateStatus: () => true, httpAgent: new http.Agent({ keepAlive: false }) });

/** Moves portal time to `t` through the living process. */
async function advanceTo(emu: RunningEmulator, t: number): Promise<{ created: number; won: number }> {
  const ms = Math.max(0, t - emu.portal.clock.now());
  const r = await adminApi(emu).post('live/advance', { seconds: ms / 1000 });
  if (r.status !== 200) throw new Error(`advance: ${r.status} ${JSON.stringify(r.data)}`);
  return r.data as { created: number; won: number };
}

export async function runCampaignLoop(o: LoopOptions): Promise<LoopResult> {
  const log = o.log ?? (() => undefined);
  const portal = new Portal({ clock: new PortalClock(HISTORY_END, 1, () => 0), accessTokenTtl: 400 * 86_400 });
  generatePortal(portal, { contacts: o.contacts, seed: o.seed, live: true });
  portal.bizprocTemplates.push({ id: TEMPLATE_ID, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Spring offer e-mail', autoExecute: 0 });
  const emu = await startEmulator({ port: 0, portal, hostPage: false, log: () => {}, limits: { noRateLimit: true, operatingLimit: 1e7 } });
  try {
    const live = await adminApi(emu).post('live', { uplift: o.uplift });
    if (live.status !== 200) throw new Error(`live: ${live.status} ${JSON.stringify(live.data)}`);
    const client = await appClient(emu);
    const db = o.db;
    const portalId = (await upsertPortalOnInstall(db, { memberId: portal.memberId, domain: `seed${o.seed}.bitrix24.com`, language: portal.language })).id;
    await runSync({ db, portalId, client }, { kind: 'full' });
    const start = HISTORY_END + DAY; // the campaign starts at the next midnight
    await runScoring(db, portalId, new Date(portal.clock.now()));
    await updatePortalSettings(db, portalId, {
      savedSegments: [{ id: 'buyers', name: 'Buyers', filter: { all: [{ field: 'range', key: 'frequency', min: 1 }] }, priority: 0 }],
      effectiveness: { marginPercent: 30 },
    });
    await advanceTo(emu, start);
    const now = () => new Date(portal.clock.now());
    const made = await createCampaign(db, portalId, {
      name: `Spring offer (seed ${o.seed})`, savedSegmentId: 'buyers', entity: 'contact', holdoutShare: o.holdout, windowDays: o.windowDays,
      action: { type: 'workflow', templateId: TEMPLATE_ID },
      steps: [{ kind: 'start', at: new Date(start).toISOString() }, { kind: 'reminder', at: new Date(start + REMINDER_DAY * DAY).toISOString() }],
      costFixed: o.costFixed, costPerMessage: o.costPerMessage, startAt: new Date(start).toISOString(),
    }, now(), 1, { seed: `bench-${o.seed}` });
    log(`seed ${o.seed}: campaign ${made.id}: ${made.members} members, ${made.treatment} treatment, ${made.holdout} holdout`);
    const r1 = await runDueSteps(db, client, portalId, now());
    const a1 = await advanceTo(emu, start + REMINDER_DAY * DAY);
    await runSync({ db, portalId, client }, { kind: 'incremental' });
    const r2 = await runDueSteps(db, client, portalId, now());
    const steps = [...r1.planned, ...r2.planned];
    log(`seed ${o.seed}: steps ${steps.map((s) => `${s.kind} ${s.targeted} sent, ${s.dropped} dropped`).join('; ')}; ${a1.created} deals begun in ${REMINDER_DAY} days`);
    await advanceTo(emu, start + (o.windowDays + 1) * DAY);
    await runSync({ db, portalId, client }, { kind: 'incremental' });
    const m = await measureCampaign(db, portalId, made.id, now());
    const line = { planted: o.uplift, lift: m.lift, ciLow: m.ciLow, ciHigh: m.ciHigh, treated: m.treated, holdout: m.holdout, roi: m.roi };
    return { line, measure: m, steps, portal, campaignId: made.id, portalId };
  } finally {
    await emu.close();
  }
}
