/**
 * `npm run bench -- memory [--contacts 1000000] [--deals 4000000] [--steps scoring,scoring,writeback[,writeback-all]] [--keep] [--json]`
 *
 * Peak RSS of the cycle's steps on one big portal (issue 16 item 5: 1M contacts / 4M deals under 1 GB).
 * A scratch PostgreSQL database (bench/lib/bench-db.ts) is seeded with bulk SQL in the app's own
 * tables (bench/lib/memory-seed.ts), then each step runs in its own CHILD process that reports its
 * own peak RSS (bench/lib/memory-step.ts):
 *   scoring    runScoring: the first run (no previous labels), then a second (previous labels read,
 *              thresholds pinned) as every later cycle runs it;
 *   writeback  runWriteBack over the stored labels: fields registered on an empty emulated portal, every
 *              contact diffed and ordered, then the first 10,000 updates read again and sent, a page at a time
 *              (bench/lib/memory-step.ts).
 *   writeback-all (not in the default steps) runWriteBack of every planned update through REST against an
 *              emulated portal holding the same N contacts, its clock at real speed with the client's waits
 *              fast-forwarded: portal seconds, requests, 503/429 and the ratio to the write's lower bound.
 * The sync's store side is not a step: it holds pages and blocks, never the portal (docs/benchmarks.md).
 * Prints peak RSS per step and the verdict against 1 GB (1024 MiB).
 */
import os from 'node:os';
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openBenchDb } from './lib/bench-db.js';
import { seedPortal } from './lib/memory-seed.js';

const { values: a } = parseArgs({
  options: {
    contacts: { type: 'string', default: '1000000' },
    deals: { type: 'string', default: '4000000' },
    steps: { type: 'string', default: 'scoring,scoring,writeback' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(a.contacts);
const D = Number(a.deals);
const steps = a.steps!.split(',').map((s) => s.trim()).filter(Boolean);
const LIMIT_MB = 1024;
const here = path.dirname(fileURLToPath(import.meta.url));
const log = (m: string) => console.error(`[memory] ${m}`);

interface StepResult { step: string; maxRssMb: number; wallSec: number; summary: Record<string, unknown> }

function runStep(step: string, url: string, portalId: number): Promise<StepResult> {
  const child = fork(path.join(here, 'lib', 'memory-step.ts'), [step, url, String(portalId), String(N)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let result: StepResult | null = null;
    child.on('message', (m) => { result = m as StepResult; });
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`step ${step} exited (${code}) without a result`))));
  });
}

const store = await openBenchDb('postgres');
if (!store.pg) throw new Error('the memory bench needs PostgreSQL');
const u = new URL(store.pg.base);
u.pathname = `/${store.pg.name}`;
try {
  const t0 = performance.now();
  const { portalId, sec } = await seedPortal(store.db, { contacts: N, deals: D });
  const seedSec = (performance.now() - t0) / 1000;
  log(`seeded ${N} contacts / ${D} deals in ${seedSec.toFixed(0)} s (${Object.entries(sec).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')})`);
  const rows: (StepResult & { label: string; load: string })[] = [];
  let scoringRuns = 0;
  for (const step of steps) {
    const label = step === 'scoring' ? `runScoring #${++scoringRuns}` : step === 'writeback' ? 'runWriteBack (plan all, send 10k)'
      : step === 'writeback-all' ? 'runWriteBack (all, through REST)' : step;
    const r = await runStep(step, u.toString(), portalId);
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    rows.push({ ...r, label, load });
    log(`${label}: peak RSS ${r.maxRssMb.toFixed(0)} MB, ${r.wallSec.toFixed(0)} s, ${JSON.stringify(r.summary)} (load ${load})`);
  }
  const worst = Math.max(...rows.map((r) => r.maxRssMb));
  const verdict = worst < LIMIT_MB ? `every step under 1 GB (peak ${worst.toFixed(0)} MB)` : `OVER 1 GB (peak ${worst.toFixed(0)} MB)`;
  if (a.json) {
    console.log(JSON.stringify({ contacts: N, deals: D, seedSec: Math.round(seedSec), steps: rows.map((r) => ({ step: r.label, maxRssMb: Math.round(r.maxRssMb), wallSec: Math.round(r.wallSec), load: r.load, summary: r.summary })), limitMb: LIMIT_MB, ok: worst < LIMIT_MB }));
  } else {
    console.log(`memory bench: ${N.toLocaleString('en')} contacts, ${D.toLocaleString('en')} deals (seeded in ${seedSec.toFixed(0)} s); bound: peak RSS < 1 GB per step`);
    console.log('| step | peak RSS | wall | load average |');
    console.log('|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.label} | ${r.maxRssMb.toFixed(0)} MB | ${r.wallSec.toFixed(0)} s | ${r.load} |`);
    console.log(`verdict: ${verdict}`);
  }
} finally {
  if (a.keep) { await store.db.close(); log(`kept database ${store.pg.name}`); }
  else await store.cleanup();
}
