/**
 * `npm run bench -- scoring [--contacts 200000] [--deals 1000000] [--seed 1]`
 *
 * Full scoring (aggregation, RFM, BG/NBD + Gamma-Gamma fits, labels, CLV) of synthetic contacts
 * whose deals are generated in memory with a seeded PRNG and streamed to scorePortal through a
 * generator: each contact's deals exist only until they are aggregated, so memory grows with the
 * number of contacts, not of deals. Prints wall and CPU time per phase (the data generation is
 * timed separately and not counted as scoring), garbage-collection time and peak RSS / heap.
 */
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { scorePortal, type CustomerInput, type SectionNode } from '../src/scoring/index.js';
import { mulberry32 } from '../src/emulator/generator/random.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const CONTACTS = arg('contacts', 200_000);
const DEALS = arg('deals', 1_000_000);
const SEED = arg('seed', 1);
const AS_OF = Date.UTC(2025, 0, 1) / 86_400_000;


const rand = mulberry32(SEED);
const exp = () => -Math.log(1 - rand());
const sections: SectionNode[] = [];
for (let top = 1; top <= 20; top++) {
  sections.push({ id: top, parentId: null, name: `Top ${top}` });
  for (let k = 1; k <= 10; k++) sections.push({ id: top * 100 + k, parentId: top, name: `Section ${top}.${k}` });
}
const leafIds = sections.filter((s) => s.parentId !== null).map((s) => s.id);

let generatedDeals = 0;
let peakRss = 0;
let peakHeap = 0;
function sampleMemory(): void {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}

/** wall ms and CPU µs spent generating the synthetic data (inside the scoring's first phase; subtracted from it) */
let genWall = 0;
let genCpu = 0;
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Deals per contact: 1 + a geometric-ish count with mean DEALS/CONTACTS; 3 years of history. */
function generateContact(i: number): CustomerInput {
  const meanExtra = Math.max(0, DEALS / CONTACTS - 1);
  const n = 1 + Math.floor(exp() * meanExtra + 0.5);
  const first = AS_OF - Math.floor(rand() * 1095);
  const span = AS_OF - first;
  const spend = 500 + 5000 * exp();
  const won = [];
  const lost = [];
  for (let k = 0; k < n; k++) {
    const date = k === 0 ? first : first + Math.floor(rand() * (span + 1));
    if (rand() < 0.1) lost.push({ date, reason: rand() < 0.5 ? 'no response' : 'too expensive' });
    else won.push({ date, amount: Math.round(spend * (0.5 + rand())), sectionIds: [leafIds[Math.floor(rand() * leafIds.length)]!] });
  }
  generatedDeals += n;
  return { id: String(i + 1), won, lost, openDeals: rand() < 0.05 ? 1 : 0 };
}

/**
 * Contacts are generated in batches of 1,024 (timed, so that generation is not counted as scoring)
 * and streamed one at a time: at most one batch of deals exists at any moment.
 */
const BATCH = 1024;
function* contacts(): Generator<CustomerInput> {
  for (let start = 0; start < CONTACTS; start += BATCH) {
    const w0 = performance.now();
    const c0 = cpuNow();
    const batch: CustomerInput[] = [];
    for (let i = start; i < Math.min(CONTACTS, start + BATCH); i++) batch.push(generateContact(i));
    genWall += performance.now() - w0;
    genCpu += cpuNow() - c0;
    if ((start & 16383) === 0) sampleMemory();
    yield* batch;
  }
}

let gcMs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});
gcObserver.observe({ entryTypes: ['gc'] });

const baseline = process.memoryUsage();
const cpu0 = cpuNow();
const t0 = performance.now();
const marks: [string, number, number][] = [];
const run = scorePortal(
  { asOf: AS_OF, customers: contacts(), sections },
  { models: { timeUnit: 'day' }, interests: { depth: 1 } },
  {
    onPhase: (p) => {
      marks.push([p, performance.now(), cpuNow()]);
      sampleMemory();
    },
  },
);
const total = performance.now() - t0;
const cpu = cpuNow() - cpu0;
sampleMemory();
await new Promise((resolve) => setTimeout(resolve, 50)); // let the GC observer deliver its entries
gcObserver.disconnect();
const maxRss = process.resourceUsage().maxRSS * 1024;

const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rows: [string, string, string][] = [];
let prevWall = t0;
let prevCpu = cpu0;
const labels: Record<string, string> = {
  aggregate: 'aggregate deals → per-contact columns',
  rfm: 'RFM values + quantile thresholds',
  models: 'BG/NBD + Gamma-Gamma fits',
  labels: 'labels, sleeping, interests, P(alive), CLV',
};
for (const [p, t, c] of marks) {
  // the synthetic data is generated during the first phase: not part of the scoring
  const gw = p === 'aggregate' ? genWall : 0;
  const gc = p === 'aggregate' ? genCpu : 0;
  rows.push([labels[p] ?? p, sec(t - prevWall - gw), sec((c - prevCpu - gc) / 1000)]);
  prevWall = t;
  prevCpu = c;
}
rows.push(['**scoring total** (without data generation)', `**${sec(total - genWall)}**`, `**${sec((cpu - genCpu) / 1000)}**`]);
rows.push(['synthetic data generation (not scoring)', sec(genWall), sec(genCpu / 1000)]);
rows.push(['of the scoring: garbage collection', sec(gcMs), '']);
rows.push(['contacts / deals generated', `${CONTACTS.toLocaleString('en')} / ${generatedDeals.toLocaleString('en')}`, '']);
rows.push(['BG/NBD', `${run.models.bgnbd.status}, ${run.models.bgnbd.uniqueTriples} triples (grid ${run.models.bgnbd.gridStep} d), ${run.models.bgnbd.evaluations} evals`, '']);
rows.push(['Gamma-Gamma', `${run.models.gammagamma.status}, ${run.models.gammagamma.customers} customers, ${run.models.gammagamma.evaluations} evals`, '']);
rows.push(['peak RSS: process max / sampled (baseline)', `${mb(maxRss)} / ${mb(peakRss)} (${mb(baseline.rss)})`, '']);
rows.push(['peak heap used, sampled (baseline)', `${mb(peakHeap)} (${mb(baseline.heapUsed)})`, '']);
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`scoring bench: ${CONTACTS} contacts, target < 5 s on 2 cores; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`| ${'phase'.padEnd(w0)} | ${'wall'.padEnd(w1)} | CPU |`);
console.log(`|${'-'.repeat(w0 + 2)}|${'-'.repeat(w1 + 2)}|-----|`);
for (const [k, v, c] of rows) console.log(`| ${k.padEnd(w0)} | ${v.padEnd(w1)} | ${c} |`);
