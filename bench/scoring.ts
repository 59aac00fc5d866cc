/**
 * `npm run bench -- scoring [--contacts 200000] [--deals 1000000] [--seed 1]`
 *
 * Full scoring (aggregation, RFM, BG/NBD + Gamma-Gamma fits, labels, CLV) of synthetic contacts
 * whose deals are generated in memory with a seeded PRNG and streamed to scorePortal through a
 * generator: each contact's deals exist only until they are aggregated, so memory grows with the
 * number of contacts, not of deals. Prints wall time per phase and peak RSS / heap.
 */
import { scorePortal, type CustomerInput, type SectionNode } from '../src/scoring/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const CONTACTS = arg('contacts', 200_000);
const DEALS = arg('deals', 1_000_000);
const SEED = arg('seed', 1);
const AS_OF = Date.UTC(2025, 0, 1) / 86_400_000;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

/** Deals per contact: 1 + a geometric-ish count with mean DEALS/CONTACTS; 3 years of history. */
function* contacts(): Generator<CustomerInput> {
  const meanExtra = Math.max(0, DEALS / CONTACTS - 1);
  for (let i = 0; i < CONTACTS; i++) {
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
    if ((i & 16383) === 0) sampleMemory();
    yield { id: String(i + 1), won, lost, openDeals: rand() < 0.05 ? 1 : 0 };
  }
}

const baseline = process.memoryUsage();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const marks: [string, number][] = [];
const run = scorePortal(
  { asOf: AS_OF, customers: contacts(), sections },
  { models: { timeUnit: 'day' }, interests: { depth: 1 } },
  {
    onPhase: (p) => {
      sampleMemory();
      marks.push([p, performance.now()]);
    },
  },
);
const total = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
sampleMemory();

const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const rows: [string, string][] = [];
let prev = t0;
const labels: Record<string, string> = {
  aggregate: 'generate + aggregate deals → summaries',
  rfm: 'RFM values + quantile thresholds',
  models: 'BG/NBD + Gamma-Gamma fits',
  labels: 'labels, sleeping, interests, P(alive), CLV',
};
for (const [p, t] of marks) {
  rows.push([labels[p] ?? p, `${((t - prev) / 1000).toFixed(2)} s`]);
  prev = t;
}
rows.push(['total wall', `${(total / 1000).toFixed(2)} s`]);
rows.push(['CPU time of this process (user + sys)', `${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`]);
rows.push(['contacts / deals generated', `${CONTACTS.toLocaleString('en')} / ${generatedDeals.toLocaleString('en')}`]);
rows.push(['BG/NBD', `${run.models.bgnbd.status}, ${run.models.bgnbd.uniqueTriples} triples (grid ${run.models.bgnbd.gridStep} d), ${run.models.bgnbd.evaluations} evals`]);
rows.push(['Gamma-Gamma', `${run.models.gammagamma.status}, ${run.models.gammagamma.customers} customers, ${run.models.gammagamma.evaluations} evals`]);
rows.push(['peak RSS (baseline)', `${mb(peakRss)} (${mb(baseline.rss)})`]);
rows.push(['peak heap used (baseline)', `${mb(peakHeap)} (${mb(baseline.heapUsed)})`]);
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`scoring bench: ${CONTACTS} contacts, target < 5 s on 2 cores`);
console.log(`| ${'phase'.padEnd(w)} | value |`);
console.log(`|${'-'.repeat(w + 2)}|-------|`);
for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
