/**
 * `npm run bench -- cycle [--contacts 100000] [--deals 400000] [--time-scale 100] [--plan standard] [--seed 1]`
 *
 * Full cycle against the emulator (standard plan limits on the portal clock):
 *   1. first cycle: pull (runSync when src/sync provides it, else a direct store mirror that is
 *      NOT measured), score (runScoring), write (registerFields + runWriteBack);
 *   2. second cycle after 1% of the deals changed (amount +10% and modified now);
 *   3. third cycle with nothing changed (must write 0).
 * Per phase: requests, calls and operating seconds per method (emulator stats), portal seconds,
 * and the lower bound the limits imply for the calls made:
 *   max( (requests − burst) / drain , max over methods of (opSeconds − budget) / budget × 600 ).
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import http from 'node:http';
import axios from 'axios';
import { Portal, type Plan } from '../src/emulator/portal.js';
import { PortalClock } from '../src/emulator/clock.js';
import { generatePortal } from '../src/emulator/generator.js';
import { startEmulator } from '../src/emulator/server.js';
import { MemoryTokenSource } from '../src/b24/auth.js';
import { B24Client } from '../src/b24/client.js';
import { openStore } from '../src/store/index.js';
import { upsertPortalOnInstall } from '../src/store/portals.js';
import { runScoring } from '../src/pipeline/score.js';
import { runWriteBack } from '../src/writeback/write.js';
import { mirrorEmulatorPortal } from '../test/helpers/emulator-mirror.js';

const { values: a } = parseArgs({
  options: {
    contacts: { type: 'string', default: '100000' },
    deals: { type: 'string', default: '400000' },
    'time-scale': { type: 'string', default: '100' },
    plan: { type: 'string', default: 'standard' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(a.contacts);
const D = Number(a.deals);
const TS = Number(a['time-scale']);
const plan = a.plan as Plan;
const BURST = plan === 'enterprise' ? 250 : 50;
const DRAIN = plan === 'enterprise' ? 5 : 2;
const BUDGET = 480;

const t0 = performance.now();
const portal = new Portal({ plan, clock: new PortalClock(Date.now(), TS) });
generatePortal(portal, { contacts: N, deals: D, seed: Number(a.seed) });
const emu = await startEmulator({ port: 0, portal, hostPage: false, log: () => {} });
const adminApi = axios.create({ baseURL: `${emu.url}_emulator/`, validateStatus: () => true, httpAgent: new http.Agent({ keepAlive: false }) });
const inst = await adminApi.post('apps/install', { appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user'], mode: 'wizard' });
const { clientId, clientSecret } = inst.data.app as { clientId: string; clientSecret: string };
await adminApi.post(`apps/${clientId}/install-finish`);
const code = (await adminApi.post(`apps/${clientId}/auth-code`, {})).data.code as string;
const tok = (await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'authorization_code', client_id: clientId, client_secret: clientSecret, code } })).data as {
  access_token: string; refresh_token: string; client_endpoint: string; server_endpoint: string; expires_in: number;
};
const tokens = new MemoryTokenSource({
  accessToken: tok.access_token, refreshToken: tok.refresh_token, clientEndpoint: tok.client_endpoint,
  expiresAt: portal.clock.now() + tok.expires_in * 1000, clientId, clientSecret, serverEndpoint: tok.server_endpoint,
});
const client = new B24Client({ tokens, limiter: { plan, timeScale: TS } });
const db = await openStore({ dataDir: 'memory://' });
const portalId = (await upsertPortalOnInstall(db, { memberId: portal.memberId, domain: 'bench.bitrix24.com', language: portal.language })).id;
console.error(`generated ${N} contacts / ${D} deals in ${((performance.now() - t0) / 1000).toFixed(1)} s; store ${db.kind}`);

type Sync = (deps: unknown, o: { kind: 'full' | 'incremental' }) => Promise<unknown>;
let runSync: Sync | null = null;
const syncFile = join(dirname(fileURLToPath(import.meta.url)), '../src/sync/index.ts');
if (existsSync(syncFile)) {
  try {
    runSync = ((await import(pathToFileURL(syncFile).href)) as { runSync?: Sync }).runSync ?? null;
  } catch {
    runSync = null;
  }
}

interface Stats { requests: number; methods: Record<string, { requests: number; calls: number; operatingSeconds: number }>; clock: { elapsedSeconds: number } }
async function stats(): Promise<Stats> {
  const s = (await adminApi.get('stats')).data as { limits: Stats; clock: { elapsedSeconds: number } };
  return { ...s.limits, clock: s.clock };
}
const reset = () => adminApi.post('stats/reset', { counters: true });

interface PhaseRow { phase: string; portalSec: number; wallSec: number; requests: number; methods: Stats['methods']; boundSec: number; note: string }
const rows: PhaseRow[] = [];

function bound(s: Stats): number {
  let b = Math.max(0, (s.requests - BURST) / DRAIN);
  for (const m of Object.values(s.methods)) b = Math.max(b, ((m.operatingSeconds - BUDGET) / BUDGET) * 600);
  return b;
}

async function phase(name: string, fn: () => Promise<string>): Promise<void> {
  await reset();
  const w0 = performance.now();
  const note = await fn();
  const s = await stats();
  rows.push({ phase: name, portalSec: s.clock.elapsedSeconds, wallSec: (performance.now() - w0) / 1000, requests: s.requests, methods: s.methods, boundSec: bound(s), note });
  console.error(`${name}: ${note} (${s.clock.elapsedSeconds.toFixed(0)} portal s)`);
}

const today = () => new Date(portal.clock.now()).toISOString().slice(0, 10);

async function pull(kind: 'full' | 'incremental', contactIds?: number[]): Promise<string> {
  if (runSync) {
    await runSync({ db, client, portalId }, { kind });
    return `runSync ${kind}`;
  }
  await mirrorEmulatorPortal(portal, db, portalId, { contactIds });
  return 'NOT MEASURED: src/sync has no runSync yet; direct store mirror';
}

async function cycle(label: string, contactIds?: number[]): Promise<number> {
  await phase(`${label}: pull`, () => pull(contactIds ? 'incremental' : 'full', contactIds));
  let scoreNote = '';
  await phase(`${label}: score`, async () => {
    const s = await runScoring(db, portalId, today());
    scoreNote = `${s.contacts} contacts, ${s.buyers} buyers, thresholds ${s.thresholds}, load ${s.ms.load} ms, score ${s.ms.score} ms, store ${s.ms.store} ms`;
    return scoreNote;
  });
  let written = 0;
  await phase(`${label}: write`, async () => {
    const w = await runWriteBack(db, portalId, client);
    written = w.written;
    return `written ${w.written} (considered ${w.considered}, failed ${w.failed}, spread ${w.spread}) fields ${JSON.stringify(w.fieldsWritten)}${w.errors.length ? ` errors: ${w.errors.slice(0, 2).join(" ; ")}` : ""}`;
  });
  return written;
}

const w1 = await cycle('first');
// 1% of the deals change: amount +10%, modified now
const all = [...portal.deals.values()];
const touched = new Set<number>();
for (let i = 0; i < all.length; i += 100) {
  const d = all[i]!;
  d.opportunity = Math.round(d.opportunity * 110) / 100;
  d.dateModify = portal.clock.now();
  for (const c of d.contactIds) touched.add(c);
}
const w2 = await cycle('second (1% deals changed)', [...touched]);
const w3 = await cycle('third (nothing changed)', []);

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const lines: string[] = [];
lines.push(`Cycle benchmark: ${N} contacts, ${D} deals, plan ${plan} (burst ${BURST}, drain ${DRAIN}/s, ${BUDGET} s operating per method per 10 min), time scale ${TS}`);
lines.push('');
lines.push('| phase | emulator portal min (incl. local work × time scale) | wall s | requests | calls / operating s per method | lower bound (portal min) | notes |');
lines.push('|---|---:|---:|---:|---|---:|---|');
for (const r of rows) {
  const m = Object.entries(r.methods).filter(([, v]) => v.calls > 0).map(([k, v]) => `${k} ${v.calls} / ${fmt(v.operatingSeconds)}`).join('; ') || '—';
  lines.push(`| ${r.phase} | ${(r.portalSec / 60).toFixed(1)} | ${fmt(r.wallSec)} | ${r.requests} | ${m} | ${(r.boundSec / 60).toFixed(1)} | ${r.note.replace(/\|/g, '/')} |`);
}
const sum = (p: string) => rows.filter((r) => r.phase.startsWith(p)).reduce((s, r) => s + r.portalSec, 0) / 60;
lines.push('');
lines.push(`first cycle ${sum('first').toFixed(1)} portal min (written ${w1}); second ${sum('second').toFixed(1)} portal min (written ${w2}, ${touched.size} contacts touched); third ${sum('third').toFixed(1)} portal min (written ${w3})`);
console.log(lines.join('\n'));
if (a.json) console.log(JSON.stringify({ rows, written: [w1, w2, w3] }));
await emu.close();
await db.close();
process.exit(0);
