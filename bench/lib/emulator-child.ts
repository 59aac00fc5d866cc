/**
 * Bench helper, run as a CHILD process (so the app's RSS is measured alone): generates a
 * portal, starts the emulator, installs an app (OAuth tokens through the emulator's OAuth
 * server) and answers IPC commands from the parent.
 *   argv: <contacts> <deals> <timeScale> <seed> [waits]
 *   waits: the portal clock runs at real speed (time scale 1) at a rate the parent can change, and
 *   the parent's client moves it forward over its waits (bench/lib/wait-clock.ts):
 *   ← {cmd:'now', id}               → {type:'done', id, now}
 *   ← {cmd:'advanceTo', due, id}    → {type:'done', id, moved, now} (moves the clock to `due` if behind)
 *   ← {cmd:'rate', rate, id}        → {type:'done', id} (portal seconds per wall second from now on)
 *   → {type:'ready', url, webhookUrl, oauth:{...}, generated:{...}}
 *   ← {cmd:'touchDeals', fraction, id}  → {type:'done', id, changed}
 *   ← {cmd:'advance', seconds, id}      → {type:'done', id}
 *   ← {cmd:'cpu', id}                   → {type:'done', id, cpuSec} (the emulator's CPU time so far)
 *   ← {cmd:'fields', field, ids, id}    → {type:'done', id, values: {[contactId]: XML_ID | value | null}}
 */
import axios from 'axios';
import { Portal } from '../../src/emulator/portal.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { startEmulator } from '../../src/emulator/server.js';
import { updateDeal } from '../../src/emulator/methods/data.js';
import { fieldCodes } from './emulator-fields.js';

const [contacts, deals, timeScale, seed] = process.argv.slice(2).map(Number);
const waits = process.argv[6] === 'waits';
// in `waits` mode the clock's wall time runs at `rate` (1, or the baseline's time scale)
let rate = 1;
let anchorWall = performance.now();
let anchorVirtual = anchorWall;
const virtualWall = () => anchorVirtual + (performance.now() - anchorWall) * rate;
const clock = waits ? new PortalClock(Date.now(), 1, virtualWall) : new PortalClock(Date.now(), timeScale!);
const portal = new Portal({ plan: 'standard', clock, accessTokenTtl: 30 * 86400 });
const generated = generatePortal(portal, { contacts: contacts!, deals: deals!, seed: seed! });
portal.clock.advance(3600 * 1000); // the history ends an hour before the first sync
const emu = await startEmulator({ port: 0, portal, hostPage: false, log: () => {} });
const admin = axios.create({ baseURL: `${emu.url}_emulator/`, validateStatus: () => true });
const inst = await admin.post('apps/install', { appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user'], mode: 'wizard' });
const { clientId, clientSecret } = inst.data.app as { clientId: string; clientSecret: string };
await admin.post(`apps/${clientId}/install-finish`);
type Tok = { access_token: string; refresh_token: string; client_endpoint: string; server_endpoint: string; expires_in: number; member_id: string; domain: string };
let t: Tok | null = null;
for (let i = 0; i < 50 && !t; i++) {
  const code = (await admin.post(`apps/${clientId}/auth-code`, {})).data.code as string;
  const tok = await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'authorization_code', client_id: clientId, client_secret: clientSecret, code }, validateStatus: () => true });
  if (tok.status === 200) t = tok.data as Tok;
}
if (!t) throw new Error('no OAuth token');
const send = (m: unknown) => process.send?.(m);
send({
  type: 'ready', url: emu.url, webhookUrl: emu.webhookUrl,
  oauth: { clientId, clientSecret, accessToken: t.access_token, refreshToken: t.refresh_token, clientEndpoint: t.client_endpoint, serverEndpoint: t.server_endpoint, expiresIn: t.expires_in, memberId: t.member_id, domain: t.domain, portalNow: portal.clock.now() },
  generated: { contacts: generated.contacts, companies: generated.companies, deals: generated.deals, won: generated.won, productRows: generated.productRows, genMs: generated.ms },
});
process.on('message', (m: { cmd: string; id: number; fraction?: number; seconds?: number; due?: number; rate?: number; field?: string; ids?: number[] }) => {
  if (m.cmd === 'now') {
    send({ type: 'done', id: m.id, now: portal.clock.now() });
  } else if (m.cmd === 'advanceTo') {
    const ahead = (m.due ?? 0) - portal.clock.now();
    if (ahead > 0) portal.clock.advance(ahead);
    send({ type: 'done', id: m.id, moved: Math.max(0, ahead), now: portal.clock.now() });
  } else if (m.cmd === 'rate') {
    anchorVirtual = virtualWall();
    anchorWall = performance.now();
    rate = m.rate ?? 1;
    send({ type: 'done', id: m.id });
  } else if (m.cmd === 'touchDeals') {
    const ids = [...portal.deals.keys()];
    const step = Math.max(1, Math.round(1 / (m.fraction ?? 0.01)));
    let changed = 0;
    for (let i = 0; i < ids.length; i += step) {
      const d = portal.deals.get(ids[i]!)!;
      updateDeal(portal, d.id, { opportunity: Math.round(d.opportunity * 1.1 * 100) / 100, title: `${d.title} *` }, 1);
      changed++;
    }
    send({ type: 'done', id: m.id, changed });
  } else if (m.cmd === 'fields') {
    send({ type: 'done', id: m.id, values: fieldCodes(portal, m.field ?? 'UF_CRM_SEG_SEGMENT', m.ids ?? []) });
  } else if (m.cmd === 'cpu') {
    const c = process.cpuUsage();
    send({ type: 'done', id: m.id, cpuSec: (c.user + c.system) / 1e6 });
  } else if (m.cmd === 'advance') {
    portal.clock.advance((m.seconds ?? 0) * 1000);
    send({ type: 'done', id: m.id });
  } else if (m.cmd === 'exit') {
    void emu.close().then(() => process.exit(0));
  }
});
