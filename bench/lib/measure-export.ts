/**
 * Measures the export strategies against the emulator (not part of the runtime client):
 *
 *   npx tsx bench/lib/measure-export.ts [contacts=20000] [deals=80000] [timeScale=100]
 *
 * Per run: HTTP requests, REST calls, operating seconds charged (emulator stats), portal
 * seconds elapsed (emulator clock; simulateLatency on, so a batch takes its server time),
 * 503/429 counts. Between runs the emulator's stats, bucket and budgets are reset.
 */
import axios from 'axios';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { invalidateIndex } from '../../src/emulator/query.js';
import { startEmulator } from '../../src/emulator/server.js';
import { MemoryTokenSource } from '../../src/b24/auth.js';
import { B24Client } from '../../src/b24/client.js';
import { type EntityName, exportList, exportProductRows } from '../../src/b24/export.js';

const contacts = Number(process.argv[2] ?? 20000);
const deals = Number(process.argv[3] ?? 80000);
const timeScale = Number(process.argv[4] ?? 100);

const portal = new Portal({ plan: 'standard', clock: new PortalClock(Date.now(), timeScale) });
const gen = generatePortal(portal, { contacts, deals, seed: 11 });
const emu = await startEmulator({ port: 0, portal, simulateLatency: true, hostPage: false, log: () => {} });
const admin = axios.create({ baseURL: `${emu.url}_emulator/` });
const app = (await admin.post('apps/install', { appUrl: 'http://127.0.0.1:9/app', scopes: ['crm'], mode: 'wizard' })).data.app as { clientId: string; clientSecret: string };
await admin.post(`apps/${app.clientId}/install-finish`);
const code = (await admin.post(`apps/${app.clientId}/auth-code`, {})).data.code as string;
const t = (await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'authorization_code', client_id: app.clientId, client_secret: app.clientSecret, code } })).data;
const tokens = new MemoryTokenSource({
  accessToken: t.access_token, refreshToken: t.refresh_token, clientEndpoint: t.client_endpoint, clientId: app.clientId,
  clientSecret: app.clientSecret, serverEndpoint: t.server_endpoint, expiresAt: portal.clock.now() + t.expires_in * 1000,
});
console.log(`portal: ${gen.contacts} contacts, ${gen.deals} deals, ${gen.productRows} product rows, timeScale ${timeScale}, plan standard`);

interface Row { run: string; rows: number; requests: number; calls: number; operatingSec: number; portalSec: number; opWaitSec: number; wallMs: number; r503: number; r429: number; byMethod: string }
const table: Row[] = [];

async function measure(run: string, body: (c: B24Client) => Promise<number>, operatingLimitSec = 480): Promise<void> {
  await admin.post('stats/reset', { counters: true });
  await admin.post('limits', { operatingLimit: operatingLimitSec });
  const c = new B24Client({ tokens, limiter: { plan: 'standard', timeScale, operatingLimitSec } });
  const p0 = portal.clock.elapsedSeconds();
  const w0 = Date.now();
  const rows = await body(c);
  const s = (await admin.get('stats')).data.limits as { requests: number; rejected503: number; rejected429: number; methods: Record<string, { calls: number; operatingSeconds: number }> };
  const calls = Object.entries(s.methods).filter(([m]) => m !== 'batch').reduce((a, [, x]) => a + x.calls, 0);
  const op = Object.values(s.methods).reduce((a, x) => a + x.operatingSeconds, 0);
  table.push({ run, rows, requests: s.requests, calls, operatingSec: Math.round(op * 100) / 100, portalSec: Math.round((portal.clock.elapsedSeconds() - p0) * 10) / 10, opWaitSec: Math.round((c.limiter.stats.waitedOperatingMs * timeScale) / 1000), wallMs: Date.now() - w0, r503: s.rejected503, r429: s.rejected429, byMethod: Object.entries(c.counters.byMethod).map(([m, x]) => `${m.replace(/^crm\./, '')}:${x.calls}`).join(' ') });
}

async function count(c: B24Client, entity: EntityName, strategy: 'chain' | 'ranges', api: 'legacy' | 'item' | 'spread' = 'legacy', modifiedSince?: number, expect?: number): Promise<number> {
  let n = 0;
  const seen = new Set<number>();
  for await (const p of exportList(c, { entity, strategy, api, modifiedSince, overlapSec: 0 })) for (const r of p.rows) { seen.add(Number(r.ID)); n++; }
  const want = expect ?? (entity === 'contact' ? portal.contacts.size : portal.deals.size);
  if (seen.size !== want) throw new Error(`${entity} ${strategy} ${api}: ${seen.size} ids, want ${want}`);
  return n;
}

/** argv[5]: 'budget' runs only the tight-budget comparison. */
const full = process.argv[5] !== 'budget';
if (full) {
  for (const entity of ['contact', 'deal'] as const) {
    for (const strategy of ['chain', 'ranges'] as const) await measure(`${entity} ${strategy} legacy`, (c) => count(c, entity, strategy));
  }
  await measure('deal chain crm.item', (c) => count(c, 'deal', 'chain', 'item'));
  await measure('deal ranges spread', (c) => count(c, 'deal', 'ranges', 'spread'));
}
// a tight operating budget (60 s per 10 min): one method vs spreading over crm.deal.list + crm.item.list
await measure('deal chain legacy, budget 60s', (c) => count(c, 'deal', 'chain'), 60);
await measure('deal chain spread, budget 60s', (c) => count(c, 'deal', 'chain', 'spread'), 60);
await measure('deal ranges spread, budget 60s', (c) => count(c, 'deal', 'ranges', 'spread'), 60);
if (full) {
// incremental: deals modified in the last ~10% of the history (sparse in ID space)
const mods = [...portal.deals.values()].map((d) => d.dateModify).sort((a, b) => a - b);
const since = mods[Math.floor(mods.length * 0.9)]!;
const expectInc = mods.filter((m) => m > since).length;
for (const strategy of ['chain', 'ranges'] as const) await measure(`deal ${strategy} incremental 10%`, (c) => count(c, 'deal', strategy, 'legacy', since, expectInc));
// sparse IDs: 70% of contacts deleted
let k = 0;
for (const id of [...portal.contacts.keys()]) if (k++ % 10 < 7) portal.contacts.delete(id);
invalidateIndex(portal.contacts);
for (const strategy of ['chain', 'ranges'] as const) await measure(`contact ${strategy} 30% ids left`, (c) => count(c, 'contact', strategy));
// product rows of every deal
const dealIds = [...portal.deals.keys()];
try {
  await measure('productrows', async (c) => {
    let n = 0;
    for await (const p of exportProductRows(c, dealIds)) n += p.rows.length;
    return n;
  });
} catch (e) {
  console.log(`productrows: ${e instanceof Error ? e.message : String(e)}`);
}
}
console.table(table);
await emu.close();
