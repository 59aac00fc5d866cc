/**
 * Starts one emulated Bitrix24 portal over HTTP. Several portals in one process = several
 * servers, each with its own Portal.
 *
 *   const emu = await startEmulator({ port: 0 });
 *   emu.url        // http://127.0.0.1:PORT/
 *   emu.webhookUrl // http://127.0.0.1:PORT/rest/1/<secret>/  (user 1, admin, full CRM scopes)
 *   await emu.close();
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { PortalClock } from './clock.js';
import type { FaultConfig } from './faults.js';
import { createEmulatorApp, type EmulatorApp, type EmulatorAppOptions } from './http/app.js';
import { attachOversizeHandler, MAX_HEADER_BYTES } from './http/oversize.js';
import type { Dispatcher, Runtime } from './http/runtime.js';
import type { LimitsOptions } from './limits.js';
import { startLiveTicker } from './live/index.js';
import { callMethod, methods } from './methods/index.js';
import { Portal, type Plan } from './portal.js';

export { createEmulatorApp } from './http/app.js';
export type { EmulatorApp, EmulatorAppOptions } from './http/app.js';

/** The real method layer (`src/emulator/methods`). */
export const defaultDispatcher: Dispatcher = { methods, callMethod };

/** Scopes of the webhook the emulator creates: everything CRM-related and user data. */
export const WEBHOOK_SCOPES = ['crm', 'user', 'user_brief', 'user_basic', 'catalog', 'bizproc', 'department', 'entity', 'lists', 'task', 'im', 'userfieldconfig'];

export interface StartOptions {
  /** 0 (default) = ephemeral. */
  port?: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** An existing portal (its clock decides the time scale); otherwise a fresh empty one. */
  portal?: Portal;
  /** Portal seconds per wall second for a fresh portal (default 1). */
  timeScale?: number;
  /** Plan of a fresh portal, or overrides the given portal's plan (bucket 50@2/s or 250@5/s). */
  plan?: Plan;
  limits?: LimitsOptions;
  faults?: string | FaultConfig;
  statePath?: string | null;
  simulateLatency?: boolean;
  oauthDomain?: string;
  dispatcher?: Dispatcher;
  eventTimeoutMs?: number;
  /** Access-token lifetime in portal seconds for a fresh portal (default 3600). */
  accessTokenTtl?: number;
  /**
   * Run the living portal in real time (live/index.ts): every `everyMs` wall ms (default 1000) the
   * purchase process catches up with the portal clock. The uplift is the portal's (`startLive`).
   */
  live?: boolean | { everyMs?: number };
  /** Mount the host page router (src/emulator/host/router.ts) when present (default true). */
  hostPage?: boolean;
  log?: (line: string) => void;
}

export interface RunningEmulator {
  url: string;
  webhookUrl: string;
  portal: Portal;
  runtime: Runtime;
  app: EmulatorApp;
  server: Server;
  close(): Promise<void>;
}

/** Makes sure user 1 (admin) exists: webhooks and the installing admin need a user. */
export function ensureAdminUser(portal: Portal): void {
  if (portal.users.has(1)) return;
  portal.users.set(1, {
    id: 1, active: true, name: 'Admin', lastName: 'Emulator', email: 'admin@example.com', isAdmin: true,
    timeZone: portal.timeZone, departmentIds: [1], workPosition: 'Administrator', personalGender: '',
    dateRegister: portal.clock.now(),
  });
  portal.bumpId('user', 1);
}

/** Returns the webhook of user 1, creating it when missing. */
export function ensureWebhook(portal: Portal): { userId: number; secret: string } {
  const existing = portal.webhooks.find((w) => w.userId === 1);
  if (existing) return existing;
  const secret = randomBytes(8).toString('hex');
  portal.webhooks.push({ userId: 1, secret, scopes: [...WEBHOOK_SCOPES] });
  return { userId: 1, secret };
}

type HostRouterFactory = NonNullable<EmulatorAppOptions['extraRouters']>[number];

/** The host page router of another engineer, if the file exists (optional import). */
async function loadHostRouter(log: (l: string) => void): Promise<HostRouterFactory | null> {
  const spec = './host/router.js';
  try {
    const mod = (await import(spec)) as { createHostRouter?: (portal: Portal, opts: Record<string, unknown>) => express.Router };
    const make = mod.createHostRouter;
    if (typeof make !== 'function') return null;
    return (rt) => {
      try {
        return make(rt.portal, { runtime: rt, delivery: rt.delivery });
      } catch (e) {
        log(`emulator: host page router failed to start, serving without it: ${e instanceof Error ? e.message : String(e)}`);
        return express.Router();
      }
    };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && !(e instanceof Error && /Cannot find module|Failed to load url|does not exist/i.test(e.message))) {
      log(`emulator: host page router failed to load: ${e instanceof Error ? e.message : String(e)}`);
    }
    return null;
  }
}

export async function startEmulator(opts: StartOptions = {}): Promise<RunningEmulator> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const portal = opts.portal ?? new Portal({
    plan: opts.plan,
    accessTokenTtl: opts.accessTokenTtl,
    clock: new PortalClock(Date.now(), opts.timeScale ?? 1),
  });
  if (opts.plan) portal.plan = opts.plan;
  ensureAdminUser(portal);
  const hook = ensureWebhook(portal);
  const extraRouters: HostRouterFactory[] = [];
  if (opts.hostPage !== false) {
    const host = await loadHostRouter(log);
    if (host) extraRouters.push(host);
  }
  const app = createEmulatorApp(portal, {
    dispatcher: opts.dispatcher ?? defaultDispatcher,
    limits: opts.limits,
    faults: opts.faults,
    simulateLatency: opts.simulateLatency,
    oauthDomain: opts.oauthDomain,
    statePath: opts.statePath ?? null,
    eventTimeoutMs: opts.eventTimeoutMs,
    log,
    extraRouters,
  });
  const listenHost = opts.host ?? '127.0.0.1';
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, app);
  attachOversizeHandler(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.keepAliveTimeout = 5_000;
  const port = (server.address() as AddressInfo).port;
  const publicHost = listenHost === '0.0.0.0' || listenHost === '::' ? '127.0.0.1' : listenHost;
  portal.domain = `${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${port}`;
  const url = `http://${portal.domain}/`;
  const stopLive = opts.live ? startLiveTicker(portal, typeof opts.live === 'object' ? opts.live.everyMs : undefined, log) : () => undefined;
  let closed = false;
  return {
    url,
    webhookUrl: `${url}rest/${hook.userId}/${hook.secret}/`,
    portal,
    runtime: app.runtime,
    app,
    server,
    async close() {
      if (closed) return;
      closed = true;
      stopLive();
      if (portal.eventSink) portal.eventSink = null;
      for (const s of app.runtime.heldSockets) s.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
