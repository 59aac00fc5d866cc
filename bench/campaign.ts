/**
 * `npm run bench -- campaign [--uplift 0.5] [--seed 1] [--contacts 2000] [--holdout 0.5] [--window 90]
 *                            [--seeds K] [--db pglite|postgres|auto]`
 *
 * The whole campaign loop on a living portal (bench/lib/campaign-loop.ts: segment → campaign with
 * holdout → steps → portal time passes → measurement). Progress on stderr; the last stdout line is
 * one JSON object with exactly these keys, in this order (a contract for other checks):
 *
 *   {"planted":R,"lift":…,"ciLow":…,"ciHigh":…,"treated":…,"holdout":…,"roi":…}
 *
 * planted = the uplift R the living portal gives customers a workflow was started on; lift, ciLow,
 * ciHigh = the campaign's relative lift of purchases per member and its 90 % interval; treated,
 * holdout = members per group; roi = (incremental margin − cost) / cost (null without a cost).
 *
 * --seeds K: the loop for seeds S … S+K−1; prints one JSON line per seed, then (last) the summary
 *   {"planted":R,"seeds":K,"covered":c,"coverage":c/K,"significant":s,"meanLift":…}
 *   covered = intervals holding R (with --uplift 0 that is the coverage of zero), significant =
 *   intervals excluding 0. Over seeds the 90 % interval should hold R about 90 % of the time.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createTokenCipher, setTokenCipher } from '../src/store/index.js';
import { openBenchDb, type BenchDbKind } from './lib/bench-db.js';
import { runCampaignLoop, type LoopResult } from './lib/campaign-loop.js';

function fail(msg: string): never {
  console.error(`bench campaign: ${msg}`);
  process.exit(2);
}

const { values: a } = parseArgs({
  options: {
    uplift: { type: 'string', default: '0.5' },
    seed: { type: 'string', default: '1' },
    seeds: { type: 'string' },
    contacts: { type: 'string', default: '2000' },
    holdout: { type: 'string', default: '0.5' },
    window: { type: 'string', default: '90' },
    db: { type: 'string', default: 'pglite' },
  },
});
const num = (name: string, v: string, ok: (n: number) => boolean): number => {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !ok(n)) fail(`--${name}: bad value "${v}"`);
  return n;
};
const uplift = num('uplift', a.uplift!, (n) => n <= 100);
const seed0 = num('seed', a.seed!, (n) => Number.isInteger(n) && n < 2 ** 31);
const seeds = a.seeds === undefined ? 0 : num('seeds', a.seeds, (n) => Number.isInteger(n) && n >= 1 && n <= 1000);
const contacts = num('contacts', a.contacts!, (n) => Number.isInteger(n) && n >= 50 && n <= 200_000);
const holdout = num('holdout', a.holdout!, (n) => n > 0 && n <= 0.5);
const windowDays = num('window', a.window!, (n) => n === 30 || n === 60 || n === 90) as 30 | 60 | 90;
if (!['auto', 'postgres', 'pglite'].includes(a.db!)) fail('--db must be auto, postgres or pglite');

setTokenCipher(createTokenCipher(randomBytes(32)));
const store = await openBenchDb(a.db as BenchDbKind);
const covers = (r: LoopResult['line'], x: number) => r.ciLow !== null && r.ciHigh !== null && r.ciLow <= x && x <= r.ciHigh;
try {
  const runs: LoopResult['line'][] = [];
  for (let s = seed0; s < seed0 + Math.max(1, seeds); s++) {
    const t0 = performance.now();
    const r = await runCampaignLoop({ uplift, seed: s, contacts, holdout, windowDays, costFixed: 200, costPerMessage: 0.5, db: store.db, log: (l) => console.error(l) });
    console.error(`seed ${s}: lift ${r.line.lift?.toFixed(3)} [${r.line.ciLow?.toFixed(3)}, ${r.line.ciHigh?.toFixed(3)}], roi ${r.line.roi?.toFixed(2)}, ${((performance.now() - t0) / 1000).toFixed(1)} s wall`);
    runs.push(r.line);
    console.log(JSON.stringify(r.line));
  }
  if (seeds > 0) {
    const covered = runs.filter((r) => covers(r, uplift)).length;
    const significant = runs.filter((r) => r.ciLow !== null && r.ciLow > 0).length;
    const lifts = runs.map((r) => r.lift).filter((x): x is number => x !== null);
    const meanLift = lifts.length ? lifts.reduce((x, y) => x + y, 0) / lifts.length : null;
    console.error(`coverage of ${uplift}: ${covered}/${seeds} (${((100 * covered) / seeds).toFixed(1)} %), intervals excluding 0: ${significant}/${seeds}`);
    console.log(JSON.stringify({ planted: uplift, seeds, covered, coverage: covered / seeds, significant, meanLift }));
  }
} finally {
  await store.cleanup();
}
