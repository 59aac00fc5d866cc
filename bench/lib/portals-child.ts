/**
 * Bench helper for `npm run bench -- portals`, run as a CHILD process (so the workers' figures are
 * the app's own): `n` generated living portals (standard plan, each its own emulator on its own
 * port, its clock at real speed from `t0`), the app installed in each with ONE client id/secret (as
 * a Market app is), its tokens handed to the parent to store like an install. IPC:
 *   argv: <portals> <contacts> <seed> <clientId> <clientSecret> <t0>
 *   → {type:'ready', portals:[{url, memberId, accessToken, refreshToken, clientEndpoint, serverEndpoint, expiresAt}], genMs, deals}
 *   ← {cmd:'day', fraction, id}   → {type:'done', id, created, moved, touched, deals}: every portal lives one day
 *                                    (src/emulator/live: new deals, stage moves) and `fraction` of its deals change
 *   ← {cmd:'stats', id}           → {type:'done', id, requests, pollRequests, rejected503, rejected429}: summed over the portals
 *                                    (pollRequests: event.offline.get / .clear, the workers' minute poll)
 *   ← {cmd:'fields', index, field, id} → {type:'done', id, segments: {[contactId]: code | null}}: the contacts' segment field as its XML_ID
 *   ← {cmd:'cpu', id}             → {type:'done', id, cpuSec}: this process's CPU seconds so far (every portal's answers)
 *   ← {cmd:'exit'}
 */
import axios from 'axios';
import { Portal } from '../../src/emulator/portal.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { advanceLive } from '../../src/emulator/live/index.js';
import { updateDeal } from '../../src/emulator/methods/data.js';
import { fieldCodes } from './emulator-fields.js';

const [nArg, contactsArg, seedArg, clientId, clientSecret, t0Arg] = process.argv.slice(2);
const N = Number(nArg);
const CONTACTS = Number(contactsArg);
const SEED = Number(seedArg);
const T0 = Number(t0Arg);
if (!clientId || !clientSecret || !(N > 0) || !(CONTACTS > 0) || !Number.isFinite(T0)) throw new Error('usage: portals-child <portals> <contacts> <seed> <clientId> <clientSecret> <t0>');

type Tok = { access_token: string; refresh_token: string; client_endpoint: string; server_endpoint: string; expires_in: number; member_id: string };

/** Installs the app like the Market does (wizard, finish, an authorization code exchanged for tokens). */
async function install(emu: RunningEmulator): Promise<Tok> {
  const admin = axios.create({ baseURL: `${emu.url}_emulator/`, validateStatus: () => true });
  const inst = await admin.post('apps/install', { clientId, clientSecret, appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user'], mode: 'wizard' });
  if (inst.status !== 201) throw new Error(`install failed: ${JSON.stringify(inst.data)}`);
  await admin.post(`apps/${clientId}/install-finish`);
  const code = (await admin.post(`apps/${clientId}/auth-code`, {})).data.code as string;
  const tok = await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'authorization_code', client_id: clientId, client_secret: clientSecret, code } });
  return tok.data as Tok;
}

const t = performance.now();
const emus: RunningEmulator[] = [];
const portals = [];
let deals = 0;
for (let i = 0; i < N; i++) {
  // 30-day tokens: the bench measures the cycles, not a refresh every portal hour
  const portal = new Portal({ plan: 'standard', clock: new PortalClock(T0, 1), language: 'en', accessTokenTtl: 30 * 86400 });
  deals += generatePortal(portal, { contacts: CONTACTS, seed: SEED * 100_000 + i, live: true }).deals;
  const emu = await startEmulator({ port: 0, portal, hostPage: false, log: () => {} });
  emus.push(emu);
  const tok = await install(emu);
  portals.push({
    url: emu.url, memberId: `p${i}-${tok.member_id}`, accessToken: tok.access_token, refreshToken: tok.refresh_token,
    clientEndpoint: tok.client_endpoint, serverEndpoint: tok.server_endpoint, expiresAt: portal.clock.now() + tok.expires_in * 1000,
  });
}
const send = (m: unknown) => process.send?.(m);
send({ type: 'ready', portals, genMs: Math.round(performance.now() - t), deals });

/** One portal day: the living process, then `fraction` of the deals edited (amount +10%, title marked). */
function liveDay(p: Portal, fraction: number): { created: number; moved: number; touched: number } {
  const r = advanceLive(p, 86_400_000);
  const ids = [...p.deals.keys()];
  const step = Math.max(1, Math.round(1 / fraction));
  let touched = 0;
  for (let i = 0; fraction > 0 && i < ids.length; i += step) {
    const d = p.deals.get(ids[i]!)!;
    updateDeal(p, d.id, { opportunity: Math.round(d.opportunity * 1.1 * 100) / 100, title: `${d.title} *` }, 1);
    touched++;
  }
  return { created: r.created, moved: r.moved, touched };
}

process.on('message', (m: { cmd: string; id: number; fraction?: number; index?: number; field?: string }) => {
  if (m.cmd === 'day') {
    const sum = { created: 0, moved: 0, touched: 0, deals: 0 };
    for (const e of emus) {
      const r = liveDay(e.portal, m.fraction ?? 0);
      sum.created += r.created;
      sum.moved += r.moved;
      sum.touched += r.touched;
      sum.deals += e.portal.deals.size;
    }
    send({ type: 'done', id: m.id, ...sum });
  } else if (m.cmd === 'stats') {
    const s = { requests: 0, pollRequests: 0, rejected503: 0, rejected429: 0 };
    for (const e of emus) {
      const x = e.runtime.limits.snapshot(e.portal.clock.now());
      s.requests += x.requests;
      s.pollRequests += (x.methods['event.offline.get']?.requests ?? 0) + (x.methods['event.offline.clear']?.requests ?? 0);
      s.rejected503 += x.rejected503;
      s.rejected429 += x.rejected429;
    }
    send({ type: 'done', id: m.id, ...s });
  } else if (m.cmd === 'fields') {
    send({ type: 'done', id: m.id, segments: fieldCodes(emus[m.index ?? 0]!.portal, m.field ?? 'UF_CRM_SEG_SEGMENT') });
  } else if (m.cmd === 'cpu') {
    const c = process.cpuUsage();
    send({ type: 'done', id: m.id, cpuSec: (c.user + c.system) / 1e6 });
  } else if (m.cmd === 'exit') {
    void Promise.all(emus.map((e) => e.close())).then(() => process.exit(0));
  }
});
