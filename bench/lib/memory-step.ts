/**
 * One step of the memory bench, run as a CHILD process so that its peak RSS
 * (process.resourceUsage().maxRSS) is the step's alone.
 *   argv: <step> <databaseUrl> <portalId>
 *   scoring:   runScoring (pipeline/score.ts) as a cycle runs it: load, score, backtest, data quality, labels;
 *   writeback: runWriteBack (writeback/write.ts) against an empty emulated portal (bench/lib/emulator-child.ts,
 *              its own process, its clock at real speed): it registers the fields, reads every label from the
 *              store and plans (diffs, orders) the updates of all contacts, then reads again and sends the
 *              first WRITES of them, a page at a time (the portal answers "not found": it holds no
 *              contacts). The REST time at 1M is the cycle bench's business.
 *   writeback-all: runWriteBack of EVERY planned update (argv[5]: the seeded contacts) against an emulated
 *              portal that holds the same contacts (ids 1…N, bench/lib/emulator-child.ts with no deals) and
 *              whose clock runs at real speed with the client's waits fast-forwarded (bench/lib/wait-clock.ts):
 *              its summary has the portal seconds, the requests, 503/429 and the largest valid lower bound
 *              of bench/lib/bounds.ts for the calls made.
 * Sends {type:'result', step, maxRssMb, wallSec, summary} over IPC.
 */
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { latestScoreRun, openStore } from '../../src/store/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { MemoryTokenSource } from '../../src/b24/auth.js';
import { B24Client } from '../../src/b24/client.js';
import { AS_OF } from './memory-seed.js';
import { boundModel, methodUse, runBounds } from './bounds.js';
import { waitClock } from './wait-clock.js';
import { ask, childClock } from './child-ipc.js';
import { emulatorStats, resetEmulatorStats, statsDiff } from './emulator-stats.js';
import axios from 'axios';

const [step, url, portalArg, contactsArg] = process.argv.slice(2);
const portalId = Number(portalArg);
const here = path.dirname(fileURLToPath(import.meta.url));
/** updates sent by the writeback step: two pages of the plan (5,000 each); at real speed the operating budget binds after ~3,300 */
const WRITES = 10_000;
const TIME_SCALE = 1;

interface Ready { url: string; oauth: { accessToken: string; refreshToken: string; clientEndpoint: string; serverEndpoint: string; clientId: string; clientSecret: string; expiresIn: number; portalNow: number } }

async function scoring(db: Awaited<ReturnType<typeof openStore>>): Promise<Record<string, unknown>> {
  const r = await runScoring(db, portalId, AS_OF, { now: new Date(`${AS_OF}T06:00:00Z`) });
  return { runId: r.runId, contacts: r.contacts, buyers: r.buyers, segmentChanges: r.segmentChanges, thresholds: r.thresholds, ms: r.ms };
}

type Emu = { child: ReturnType<typeof fork>; ready: Ready; tokens: MemoryTokenSource };

/** The emulator's child: `contacts` contacts and no deals; `waits`: its clock at real speed, moved over the client's waits. */
async function startEmulator(contacts: number, waits: boolean): Promise<Emu> {
  // the child holds the whole portal: its heap is not the worker's (a command-line flag wins over NODE_OPTIONS' cap)
  const execArgv = ['--max-old-space-size=12000', '--import', 'tsx'];
  const child = fork(path.join(here, 'emulator-child.ts'), [String(contacts), '0', String(TIME_SCALE), '1', ...(waits ? ['waits'] : [])], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('exit', (c) => reject(new Error(`emulator child exited (${c})`)));
  });
  const o = ready.oauth;
  const tokens = new MemoryTokenSource({
    accessToken: o.accessToken, refreshToken: o.refreshToken, clientEndpoint: o.clientEndpoint, expiresAt: o.portalNow + o.expiresIn * 1000,
    clientId: o.clientId, clientSecret: o.clientSecret, serverEndpoint: o.serverEndpoint,
  });
  return { child, ready, tokens };
}

async function writeback(db: Awaited<ReturnType<typeof openStore>>): Promise<Record<string, unknown>> {
  const emu = await startEmulator(0, false);
  try {
    const client = new B24Client({ tokens: emu.tokens, limiter: { plan: 'standard', timeScale: TIME_SCALE } });
    const r = await runWriteBack(db, portalId, client, { maxWrites: WRITES });
    return { considered: r.considered, sent: WRITES, written: r.written, missing: r.missing, failed: r.failed, requests: r.requests, fieldsCreated: r.fields.created.length, errors: r.errors.slice(0, 3) };
  } finally {
    emu.child.kill();
  }
}

async function writebackAll(db: Awaited<ReturnType<typeof openStore>>): Promise<Record<string, unknown>> {
  const contacts = Number(contactsArg);
  if (!(contacts > 0)) throw new Error('writeback-all needs the seeded contact count');
  const emu = await startEmulator(contacts, true);
  try {
    const url = emu.ready.url;
    const model = boundModel((await axios.get(`${url}_emulator/limits`)).data);
    const clock = waitClock(await childClock(emu.child), 1000);
    const client = new B24Client({ tokens: emu.tokens, limiter: { plan: 'standard', clock } });
    await resetEmulatorStats(url);
    const s0 = await emulatorStats(url);
    const w0 = performance.now();
    let lastLog = 0;
    const r = await runWriteBack(db, portalId, client, {
      onBatch: (p) => {
        if (Date.now() - lastLog < 30_000) return;
        lastLog = Date.now();
        console.error(`[writeback-all] ${JSON.stringify(p)}`);
      },
    });
    const wallSec = (performance.now() - w0) / 1000;
    const s = statsDiff(s0, await emulatorStats(url));
    const check = await checkSegments(db, emu.child, contacts, 5_000);
    const portalSec = s.elapsed;
    const b = runBounds(s.requests, methodUse(s.methods), model);
    return {
      considered: r.considered, written: r.written, missing: r.missing, failed: r.failed, requests: s.requests,
      rejected503: s.rejected503, rejected429: s.rejected429, portalSec: Math.round(portalSec), portalHours: +(portalSec / 3600).toFixed(2),
      writeWallSec: Math.round(wallSec), skippedSec: Math.round(clock.skippedMs() / 1000),
      bound: Math.round(b.largest.bound), boundBy: b.largest.by, ratio: +(portalSec / b.largest.bound).toFixed(3),
      methods: Object.fromEntries(Object.entries(s.methods).map(([m, v]) => [m, { calls: v.calls, operatingSeconds: Math.round(v.operatingSeconds) }])),
      errors: r.errors.slice(0, 3), check,
    };
  } finally {
    emu.child.kill();
  }
}

/**
 * The segment field of `sample` contacts spread over 1…N, read from the emulated portal, against the
 * latest run's labels in the store: a buyer's segment, nothing for a contact without purchases.
 */
async function checkSegments(db: Awaited<ReturnType<typeof openStore>>, child: Emu['child'], n: number, sample: number): Promise<{ contacts: number; differ: number; examples: string[] }> {
  const step = Math.max(1, Math.floor(n / sample));
  const ids = Array.from({ length: Math.min(sample, n) }, (_, i) => 1 + i * step);
  const crm = (await ask<{ values: Record<string, string | null> }>(child, { cmd: 'fields', field: 'UF_CRM_SEG_SEGMENT', ids })).values;
  const run = await latestScoreRun(db, portalId);
  if (!run) throw new Error('no score run to check the write against');
  const { rows } = await db.query<{ id: string; segment: string | null; buyer: boolean }>(
    `SELECT l.contact_id::text AS id, l.segment, COALESCE((l.extra->>'hasPurchases')::boolean, l.last_purchase IS NOT NULL) AS buyer
       FROM contact_labels l WHERE l.portal_id = $1 AND l.run_id = $2 AND l.contact_id = ANY($3::bigint[])`, [portalId, run.id, ids]);
  const out = { contacts: 0, differ: 0, examples: [] as string[] };
  for (const r of rows) {
    const want = r.buyer ? r.segment : null;
    const got = crm[r.id] ?? null;
    out.contacts++;
    if (got !== want) {
      out.differ++;
      if (out.examples.length < 3) out.examples.push(`${r.id}: ${got} vs ${want}`);
    }
  }
  return out;
}

const db = await openStore({ databaseUrl: url!, poolMax: 4 });
const t0 = performance.now();
try {
  const summary = step === 'scoring' ? await scoring(db) : step === 'writeback' ? await writeback(db) : step === 'writeback-all' ? await writebackAll(db) : null;
  if (!summary) throw new Error(`unknown step ${step}`);
  process.send?.({ type: 'result', step, maxRssMb: process.resourceUsage().maxRSS / 1024, wallSec: (performance.now() - t0) / 1000, summary });
} finally {
  await db.close();
}
