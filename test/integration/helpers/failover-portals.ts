/**
 * Emulated portals for the failover test (test/integration/jobs-failover.test.ts): `n` portals
 * generated from the same seeds at the same portal instant (a clock held still while generating),
 * so two sets hold identical CRM data; the app installed in each with ONE client id/secret (as a
 * Market app is) and its tokens stored like an install; every successful CRM write of a contact
 * or company counted per record (a dispatcher wrapped around the emulator's method layer, which
 * sees top-level calls and batch commands alike); the CRM fields read back as codes.
 */
import axios from 'axios';
import { startEmulator, defaultDispatcher, type RunningEmulator } from '../../../src/emulator/server.js';
import { Portal } from '../../../src/emulator/portal.js';
import { PortalClock } from '../../../src/emulator/clock.js';
import { generatePortal } from '../../../src/emulator/generator.js';
import type { Dispatcher } from '../../../src/emulator/http/runtime.js';
import { upsertPortalOnInstall, type Db } from '../../../src/store/index.js';

export interface CountedPortal {
  emu: RunningEmulator;
  /** successful writes per record, key `contact:<id>` / `company:<id>` */
  writes: Map<string, number>;
  release(): void;
}

const WRITE_METHODS: Record<string, (p: Record<string, unknown>) => string | null> = {
  'crm.contact.update': (p) => `contact:${Number(p.id ?? p.ID)}`,
  'crm.company.update': (p) => `company:${Number(p.id ?? p.ID)}`,
  'crm.item.update': (p) => (Number(p.entityTypeId) === 3 ? `contact:${Number(p.id)}` : Number(p.entityTypeId) === 4 ? `company:${Number(p.id)}` : null),
};

function countingDispatcher(writes: Map<string, number>): Dispatcher {
  return {
    methods: defaultDispatcher.methods,
    callMethod(ctx, name, params) {
      const res = defaultDispatcher.callMethod(ctx, name, params);
      const key = WRITE_METHODS[name.trim().toLowerCase()]?.(params as Record<string, unknown>);
      if (key) writes.set(key, (writes.get(key) ?? 0) + 1);
      return res;
    },
  };
}

/** `n` portals generated at `t0` (portal time held there while generating, then running at ×1). */
export async function startCountedPortals(n: number, t0: number, o: { contacts: number; seed0: number }): Promise<CountedPortal[]> {
  const out: CountedPortal[] = [];
  for (let i = 0; i < n; i++) {
    let held = true;
    const base = performance.now();
    const clock = new PortalClock(t0, 1, () => (held ? base : performance.now()));
    const portal = new Portal({ plan: 'standard', clock, language: 'en' });
    generatePortal(portal, { contacts: o.contacts, seed: o.seed0 + i });
    const writes = new Map<string, number>();
    const emu = await startEmulator({ port: 0, portal, hostPage: false, log: () => {}, dispatcher: countingDispatcher(writes) });
    out.push({ emu, writes, release: () => { held = false; } });
  }
  return out;
}

/** Installs the app (one client id for every portal) and stores each portal's tokens like an install; returns the portal ids. */
export async function installAll(db: Db, portals: CountedPortal[], app: { clientId: string; clientSecret: string; tag: string }): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, p] of portals.entries()) {
    const admin = axios.create({ baseURL: `${p.emu.url}_emulator/`, validateStatus: () => true });
    const inst = await admin.post('apps/install', { clientId: app.clientId, clientSecret: app.clientSecret, appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user'], mode: 'wizard' });
    if (inst.status !== 201) throw new Error(`install failed: ${JSON.stringify(inst.data)}`);
    await admin.post(`apps/${app.clientId}/install-finish`);
    const code = (await admin.post(`apps/${app.clientId}/auth-code`, {})).data.code as string;
    const tok = await axios.get(`${p.emu.url}oauth/token/`, { params: { grant_type: 'authorization_code', client_id: app.clientId, client_secret: app.clientSecret, code } });
    const t = tok.data as { access_token: string; refresh_token: string; client_endpoint: string; server_endpoint: string; expires_in: number; member_id: string };
    const row = await upsertPortalOnInstall(db, {
      memberId: `${app.tag}-${i}-${t.member_id}`, domain: new URL(p.emu.url).host, clientEndpoint: t.client_endpoint, serverEndpoint: t.server_endpoint,
      accessToken: t.access_token, refreshToken: t.refresh_token, expiresAt: new Date(p.emu.portal.clock.now() + t.expires_in * 1000),
      scope: 'crm,user', status: 'active', language: 'en',
    });
    ids.push(row.id);
  }
  return ids;
}

/** Every contact's and company's UF_CRM_SEG_* fields as codes (enumeration item ids → their XML_ID), sorted. */
export function segFields(p: Portal): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const defs = new Map([...p.userFields.values()].map((u) => [`${u.entityId}|${u.fieldName}`, u]));
  const read = (entity: 'CRM_CONTACT' | 'CRM_COMPANY', id: number, uf: Record<string, unknown>) => {
    const f: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(uf).sort(([a], [b]) => a.localeCompare(b))) {
      if (!k.startsWith('UF_CRM_SEG_')) continue;
      const def = defs.get(`${entity}|${k}`);
      const code = (x: unknown) => def?.list.find((it) => it.id === Number(x))?.xmlId ?? x;
      f[k] = def?.userTypeId === 'enumeration' ? (Array.isArray(v) ? v.map(code).sort() : v === '' || v === null ? v : code(v)) : v;
    }
    if (Object.keys(f).length) out[`${entity}:${id}`] = f;
  };
  for (const c of p.contacts.values()) read('CRM_CONTACT', c.id, c.uf as Record<string, unknown>);
  for (const c of p.companies.values()) read('CRM_COMPANY', c.id, (c as { uf?: Record<string, unknown> }).uf ?? {});
  return out;
}
