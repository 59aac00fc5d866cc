/**
 * `npm run bench -- cycle [--contacts 100000] [--deals 400000] [--plan standard] [--seed 1]
 *                         [--db auto|postgres|pglite] [--wait-scale 1000] [--gap-min 15]
 *                         [--time-scale 1] [--json]`
 *
 * Full cycle against the in-process emulator (the plan's limits and the portal's declared cost model):
 *   1. first cycle: pull (runSync full), score (runScoring), write (runWriteBack: fields + values);
 *   2. after --gap-min portal minutes, 1% of the deals change (amount +10%, modified now): a second
 *      cycle (incremental pull, score, write);
 *   3. after another gap, a third cycle with nothing changed (writes 0 unless labels crossed a
 *      threshold with the passing days).
 * Clock: with --time-scale 1 (the default) the portal clock runs at real speed while anything works
 * and the client's waits are fast-forwarded ×--wait-scale (bench/lib/wait-clock.ts), so a 4-hour
 * write-back takes minutes of wall time and local work counts what it really takes. A --time-scale
 * above 1 runs the whole portal clock that much faster instead (the old mode: local work × scale).
 * Per phase: portal seconds, local wall seconds, requests, and the lower bounds of bench/lib/bounds.ts
 * for the calls made (requests; operating per method with the floor and batching rules; first
 * window) with the ratio of the measured time to the largest.
 */
import { parseArgs } from 'node:util';
import http from 'node:http';
import axios from 'axios';
import { Portal, type Plan } from '../src/emulator/portal.js';
import { PortalClock } from '../src/emulator/clock.js';
import { generatePortal } from '../src/emulator/generator.js';
import { startEmulator } from '../src/emulator/server.js';
import { MemoryTokenSource } from '../src/b24/auth.js';
import { B24Client } from '../src/b24/client.js';
import { upsertPortalOnInstall } from '../src/store/portals.js';
import { runCycleScoring } from '../src/events/rescore-cycle.js';
import { runSync } from '../src/sync/index.js';
import { runWriteBack } from '../src/writeback/write.js';
import { openBenchDb, type BenchDbKind } from './lib/bench-db.js';
import { boundModel, methodUse, runBounds, type RunBounds } from './lib/bounds.js';
import { emulatorStats, resetEmulatorStats } from './lib/emulator-stats.js';
import { boundsTable, modelLine, ratio } from './lib/print-bounds.js';
import { movable, waitClock } from './lib/wait-clock.js';

const { values: a } = parseArgs({
  options: {
    contacts: { type: 'string', default: '100000' },
    deals: { type: 'string', default: '400000' },
    'time-scale': { type: 'string', default: '1' },
    'wait-scale': { type: 'string', default: '1000' },
    'gap-min': { type: 'string', default: '15' },
    plan: { type: 'string', default: 'standard' },
    seed: { type: 'string', default: '1' },
    db: { type: 'string', default: 'auto' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(a.contacts);
const D = Number(a.deals);
const TS = Number(a['time-scale']);
const WAIT = Number(a['wait-scale']);
const GAP_SEC = Number(a['gap-min']) * 60;
const plan = a.plan as Plan;
if (!['auto', 'postgres', 'pglite'].includes(a.db!)) throw new Error('--db must be auto, postgres or pglite');

const t0 = performance.now();
const portal = new Portal({ plan, clock: new PortalClock(Date.now(), TS), accessTokenTtl: 30 * 86400 });
generatePortal(portal, { contacts: N, deals: D, seed: Number(a.seed) });
portal.clock.advance(3600 * 1000); // the history ends an hour before the first sync
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
const clock = TS === 1 ? waitClock(movable(portal.clock), WAIT) : null;
const client = new B24Client({ tokens, limiter: clock ? { plan, clock } : { plan, timeScale: TS } });
const limits = (await adminApi.get('limits')).data as { costs?: unknown };
const model = boundModel(limits);
const store = await openBenchDb(a.db as BenchDbKind);
const db = store.db;
const portalId = (await upsertPortalOnInstall(db, { memberId: portal.memberId, domain: 'bench.bitrix24.com', language: portal.language })).id;
console.error(`generated ${N} contacts / ${D} deals in ${((performance.now() - t0) / 1000).toFixed(1)} s; store ${store.kind}; clock ${clock ? `real speed, waits ×${WAIT}` : `×${TS}`}`);

interface PhaseRow { phase: string; portalSec: number; wallSec: number; skippedSec: number; requests: number; r503: number; r429: number; bounds: RunBounds; note: string }
const rows: PhaseRow[] = [];

async function phase(name: string, fn: () => Promise<string>): Promise<void> {
  await resetEmulatorStats(emu.url);
  const p0 = portal.clock.elapsedSeconds();
  const k0 = clock?.skippedMs() ?? 0;
  const w0 = performance.now();
  const note = await fn();
  const wallSec = (performance.now() - w0) / 1000;
  const portalSec = portal.clock.elapsedSeconds() - p0;
  const s = await emulatorStats(emu.url);
  const bounds = runBounds(s.requests, methodUse(s.methods), model);
  rows.push({ phase: name, portalSec, wallSec, skippedSec: ((clock?.skippedMs() ?? 0) - k0) / 1000, requests: s.requests, r503: s.rejected503, r429: s.rejected429, bounds, note });
  console.error(`${name}: ${note} (${portalSec.toFixed(0)} portal s, ${wallSec.toFixed(0)} wall s, bound ${bounds.largest.bound.toFixed(0)} s)`);
}

const today = () => new Date(portal.clock.now()).toISOString().slice(0, 10);

/** Value first, per cycle: portal s from the cycle's start until the segments are usable in the app (scoring done) and until the top-priority customers are written. */
interface ValueFirst { usableSec: number; topWrittenSec: number | null; topPlanned: number; cycleSec: number; scoring: { mode: string; rescored: number | null; fullReason: string | null; localSec: number } }
const valueFirst: ValueFirst[] = [];

async function cycle(label: string, kind: 'full' | 'incremental'): Promise<number> {
  const c0 = portal.clock.elapsedSeconds();
  const vf: ValueFirst = { usableSec: 0, topWrittenSec: null, topPlanned: 0, cycleSec: 0, scoring: { mode: 'full', rescored: null, fullReason: null, localSec: 0 } };
  valueFirst.push(vf);
  await phase(`${label}: pull`, async () => {
    const s = await runSync({ db, client, portalId }, { kind });
    return `runSync ${kind}: ${s.contacts} contacts, ${s.deals} deals, ${s.productRows} product rows`;
  });
  await phase(`${label}: score`, async () => {
    const w0 = performance.now();
    const s = await runCycleScoring(db, portalId, today());
    vf.scoring = { mode: s.mode, rescored: s.rescored ?? null, fullReason: s.fullReason ?? null, localSec: (performance.now() - w0) / 1000 };
    vf.usableSec = portal.clock.elapsedSeconds() - c0;
    return `${s.mode}${s.mode === 'partial' ? ` (${s.rescored} contacts rescored)` : s.fullReason ? ` (${s.fullReason})` : ''}: ${s.contacts} contacts, ${s.buyers} buyers, thresholds ${s.thresholds}, load ${s.ms.load} ms, score ${s.ms.score} ms, store ${s.ms.store} ms`;
  });
  let written = 0;
  await phase(`${label}: write`, async () => {
    const w = await runWriteBack(db, portalId, client, {
      onBatch: (p) => {
        if (p.kind !== 'contact' || vf.topWrittenSec !== null) return;
        vf.topPlanned = p.topPlanned;
        if (p.topDone >= p.topPlanned) vf.topWrittenSec = portal.clock.elapsedSeconds() - c0;
      },
    });
    written = w.written;
    const values = Object.values(w.fieldsWritten).reduce((x, y) => x + y, 0);
    return `written ${w.written} (considered ${w.considered}, failed ${w.failed}, spread ${w.spread}, ${values} field values, methods ${JSON.stringify(w.byMethod)})${w.errors.length ? ` errors: ${w.errors.slice(0, 2).join(' ; ')}` : ''}`;
  });
  vf.cycleSec = portal.clock.elapsedSeconds() - c0;
  return written;
}

/** Time passes between cycles (the operating windows empty), as between two daily runs. */
const gap = () => portal.clock.advance(GAP_SEC * 1000);

const w1 = await cycle('first', 'full');
gap();
// 1% of the deals change: amount +10%, modified now
const all = [...portal.deals.values()];
const touched = new Set<number>();
for (let i = 0; i < all.length; i += 100) {
  const d = all[i]!;
  d.opportunity = Math.round(d.opportunity * 110) / 100;
  d.dateModify = portal.clock.now();
  for (const c of d.contactIds) touched.add(c);
}
const w2 = await cycle('second (1% deals changed)', 'incremental');
gap();
const w3 = await cycle('third (nothing changed)', 'incremental');

console.log(report());
if (a.json) console.log(JSON.stringify({ rows, written: [w1, w2, w3], valueFirst }));
await emu.close();
await store.cleanup();
process.exit(0);

function report(): string {
  const f0 = (x: number) => x.toFixed(0);
  const lines: string[] = [];
  lines.push(`Cycle benchmark: ${N} contacts, ${D} deals, plan ${plan}, store ${store.kind}, clock ${clock ? `real speed with waits fast-forwarded ×${WAIT}` : `×${TS}`}, ${GAP_SEC / 60} portal min between cycles.`);
  lines.push(modelLine(model, limits.costs));
  lines.push('');
  lines.push('| phase | portal s | portal min | local wall s | waits fast-forwarded s | requests | 503 / 429 | largest valid bound s (from) | ratio | notes |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const b = r.bounds.largest;
    lines.push(`| ${r.phase} | ${f0(r.portalSec)} | ${(r.portalSec / 60).toFixed(1)} | ${f0(r.wallSec)} | ${f0(r.skippedSec)} | ${r.requests} | ${r.r503} / ${r.r429} | ${f0(b.bound)} (${b.by}) | ${r.requests ? ratio(r.portalSec, b.bound) : '—'} | ${r.note.replace(/\|/g, '/')} |`);
  }
  const sum = (p: string) => rows.filter((r) => r.phase.startsWith(p)).reduce((s, r) => s + r.portalSec, 0) / 60;
  const rest = (p: string) => rows.filter((r) => r.phase.startsWith(p) && !r.phase.endsWith('score')).reduce((s, r) => s + r.portalSec, 0) / 60;
  lines.push('');
  lines.push(`First cycle ${sum('first').toFixed(1)} portal min (written ${w1}); second ${sum('second').toFixed(1)} portal min, of which pull + write ${rest('second').toFixed(1)} (written ${w2}, ${touched.size} contacts on the changed deals); third ${sum('third').toFixed(1)} portal min (written ${w3}).`);
  lines.push('');
  lines.push('Value first (portal min from the cycle\'s start; scoring local wall s):');
  lines.push('');
  lines.push('| cycle | segments usable in the app | top-priority customers written (count) | full cycle | scoring | scoring local s |');
  lines.push('|---|---:|---:|---:|---|---:|');
  valueFirst.forEach((v, i) => {
    const m = (x: number | null) => (x === null ? '—' : (x / 60).toFixed(1));
    const how = v.scoring.mode === 'partial' ? `partial: ${v.scoring.rescored} rescored` : `full${v.scoring.fullReason ? ` (${v.scoring.fullReason})` : ''}`;
    lines.push(`| ${['first', 'second', 'third'][i]} | ${m(v.usableSec)} | ${m(v.topWrittenSec)} (${v.topPlanned}) | ${m(v.cycleSec)} | ${how} | ${v.scoring.localSec.toFixed(1)} |`);
  });
  for (const r of rows.filter((x) => x.requests > 0)) {
    lines.push('');
    lines.push(`Bounds, ${r.phase}:`);
    lines.push('');
    lines.push(...boundsTable(r.bounds, r.portalSec));
  }
  return lines.join('\n');
}
