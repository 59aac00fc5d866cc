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
 * Sends {type:'result', step, maxRssMb, wallSec, summary} over IPC.
 */
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { MemoryTokenSource } from '../../src/b24/auth.js';
import { B24Client } from '../../src/b24/client.js';
import { AS_OF } from './memory-seed.js';

const [step, url, portalArg] = process.argv.slice(2);
const portalId = Number(portalArg);
const here = path.dirname(fileURLToPath(import.meta.url));
/** updates sent by the writeback step: two pages of the plan (5,000 each); at real speed the operating budget binds after ~3,300 */
const WRITES = 10_000;
const TIME_SCALE = 1;

interface Ready { oauth: { accessToken: string; refreshToken: string; clientEndpoint: string; serverEndpoint: string; clientId: string; clientSecret: string; expiresIn: number; portalNow: number } }

async function scoring(db: Awaited<ReturnType<typeof openStore>>): Promise<Record<string, unknown>> {
  const r = await runScoring(db, portalId, AS_OF, { now: new Date(`${AS_OF}T06:00:00Z`) });
  return { runId: r.runId, contacts: r.contacts, buyers: r.buyers, segmentChanges: r.segmentChanges, thresholds: r.thresholds, ms: r.ms };
}

async function writeback(db: Awaited<ReturnType<typeof openStore>>): Promise<Record<string, unknown>> {
  const emu = fork(path.join(here, 'emulator-child.ts'), ['0', '0', String(TIME_SCALE), '1'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await new Promise<Ready>((resolve, reject) => {
      emu.once('message', (m) => resolve(m as Ready));
      emu.once('exit', (c) => reject(new Error(`emulator child exited (${c})`)));
    });
    const o = ready.oauth;
    const tokens = new MemoryTokenSource({
      accessToken: o.accessToken, refreshToken: o.refreshToken, clientEndpoint: o.clientEndpoint, expiresAt: o.portalNow + o.expiresIn * 1000,
      clientId: o.clientId, clientSecret: o.clientSecret, serverEndpoint: o.serverEndpoint,
    });
    const client = new B24Client({ tokens, limiter: { plan: 'standard', timeScale: TIME_SCALE } });
    const r = await runWriteBack(db, portalId, client, { maxWrites: WRITES });
    return { considered: r.considered, sent: WRITES, written: r.written, missing: r.missing, failed: r.failed, requests: r.requests, fieldsCreated: r.fields.created.length, errors: r.errors.slice(0, 3) };
  } finally {
    emu.kill();
  }
}

const db = await openStore({ databaseUrl: url!, poolMax: 4 });
const t0 = performance.now();
try {
  const summary = step === 'scoring' ? await scoring(db) : step === 'writeback' ? await writeback(db) : null;
  if (!summary) throw new Error(`unknown step ${step}`);
  process.send?.({ type: 'result', step, maxRssMb: process.resourceUsage().maxRSS / 1024, wallSec: (performance.now() - t0) / 1000, summary });
} finally {
  await db.close();
}
