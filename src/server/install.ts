/**
 * Install, both documented ways (reference §1.2-§1.4), at `POST /install`:
 *
 *  (a) install callback: ONAPPINSTALL, form-encoded `event=ONAPPINSTALL&auth[...]` with a
 *      refresh token — store, register, answer 200 JSON. (Also accepted at /events.)
 *  (b) installer page: the portal opens the URL in an iframe for the admin with query
 *      DOMAIN/PROTOCOL/LANG/APP_SID and body AUTH_ID, AUTH_EXPIRES, REFRESH_ID, SERVER_ENDPOINT,
 *      APPLICATION_TOKEN, member_id, ... — store, register, answer an HTML page that calls
 *      `installFinish()` through the official SDK (its UMD build, served by us).
 *  Told apart by the `event` field.
 *
 * Before anything is stored:
 *  - the payload is validated (zod) → 400 `{error, reason}`;
 *  - client_endpoint must be on the portal's own host (auth[domain]); server_endpoint (where
 *    refreshes send CLIENT_SECRET) must be an accepted OAuth server (OAUTH_SERVER_ENDPOINTS;
 *    with ALLOW_DEV_PORTALS also the portal's own host, as the emulator serves OAuth there);
 *  - the access token is proven on the portal with one `app.info` call: a forged install for
 *    someone else's member_id/domain cannot pass it → 401.
 * Then: upsert the portal (tokens encrypted, application_token as HMAC) as 'installing',
 * register placements/events idempotently, mark 'active'. Installs of one member_id are
 * serialised in this process.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { B24Client } from '../b24/client.js';
import { B24Error, B24NetworkError } from '../b24/errors.js';
import type { AccessToken, TokenSource } from '../b24/auth.js';
import { setPortalStatus, upsertPortalOnInstall, type Portal } from '../store/portals.js';
import { formParser, jsonParser, sendJsonError, zodReason } from './body.js';
import type { ServerDeps } from './deps.js';
import { esc, portalOrigin, sendPage } from './html.js';
import { registerApp, type RegisterReport } from './register.js';
import { registerFields } from '../writeback/fields.js';
import { installEventSchema, installPageSchema } from './schemas.js';

export class InstallRejected extends Error {
  override name = 'InstallRejected';
  constructor(public readonly status: number, public readonly code: string, reason: string) {
    super(reason);
  }
}

export interface InstallInput {
  memberId: string;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  applicationToken: string;
  scope: string | null;
  language: string | null;
}

export interface InstallResult {
  portal: Portal;
  report: RegisterReport;
}

/** A token used once, never refreshed (the install-time proof call). */
class OneShotTokens implements TokenSource {
  constructor(private readonly t: AccessToken) {}
  async get(): Promise<AccessToken> {
    return this.t;
  }
  async refresh(): Promise<AccessToken> {
    throw new InstallRejected(401, 'TOKEN_REJECTED', 'the portal rejected the access token of the install request');
  }
}

const hostOf = (u: URL) => `${u.hostname}${u.port ? `:${u.port}` : ''}`.toLowerCase();
const stripDefaultPort = (host: string, scheme: string) => host.replace(scheme === 'https:' ? /:443$/ : /:80$/, '');

export function checkEndpoints(deps: ServerDeps, i: Pick<InstallInput, 'domain' | 'clientEndpoint' | 'serverEndpoint'>): void {
  const cfg = deps.config;
  const ce = new URL(i.clientEndpoint);
  if (ce.protocol !== 'https:' && !cfg.allowDevPortals) throw new InstallRejected(400, 'INSECURE_PORTAL', 'client_endpoint must be https');
  const domain = stripDefaultPort(i.domain.toLowerCase(), ce.protocol);
  if (stripDefaultPort(hostOf(ce), ce.protocol) !== domain) {
    throw new InstallRejected(400, 'ENDPOINT_MISMATCH', 'client_endpoint is not on the portal domain');
  }
  const se = new URL(i.serverEndpoint);
  const norm = `${i.serverEndpoint.replace(/\/+$/, '')}/`;
  const allowed = cfg.oauthServerEndpoints.includes(norm)
    || (cfg.allowDevPortals && stripDefaultPort(hostOf(se), se.protocol) === domain);
  if (!allowed) throw new InstallRejected(400, 'OAUTH_SERVER_NOT_ALLOWED', 'server_endpoint is not an accepted OAuth server (OAUTH_SERVER_ENDPOINTS)');
}

/** One `app.info` with the offered token on the offered portal. */
async function proveToken(deps: ServerDeps, i: InstallInput): Promise<void> {
  const client = new B24Client({
    tokens: new OneShotTokens({ accessToken: i.accessToken, clientEndpoint: i.clientEndpoint, expiresAt: Number.POSITIVE_INFINITY }),
    limiter: { ...deps.limiter },
    maxRetries: 1,
    retryBaseMs: 200,
    timeoutMs: 15_000,
  });
  try {
    await client.call('app.info');
  } catch (e) {
    if (e instanceof InstallRejected) throw e;
    if (e instanceof B24NetworkError) throw new InstallRejected(502, 'PORTAL_UNREACHABLE', `the portal did not answer (${e.causeCode})`);
    if (e instanceof B24Error && (e.status === 401 || e.status === 403)) {
      throw new InstallRejected(401, 'TOKEN_REJECTED', `the portal rejected the access token (${e.code || e.status})`);
    }
    throw e;
  }
}

const locks = new Map<string, Promise<unknown>>();

/** Runs fn after any install of the same member_id in this process finished. */
async function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const run = prev.catch(() => {}).then(fn);
  locks.set(key, run);
  try {
    return await run;
  } finally {
    if (locks.get(key) === run) locks.delete(key);
  }
}

export async function performInstall(deps: ServerDeps, input: InstallInput, source: 'callback' | 'page'): Promise<InstallResult> {
  checkEndpoints(deps, input);
  await proveToken(deps, input);
  return serialised(input.memberId, async () => {
    const portal = await upsertPortalOnInstall(deps.db, {
      memberId: input.memberId,
      domain: input.domain,
      clientEndpoint: input.clientEndpoint,
      serverEndpoint: input.serverEndpoint,
      accessToken: input.accessToken,
      refreshToken: input.refreshToken,
      expiresAt: input.expiresAt,
      applicationToken: input.applicationToken,
      scope: input.scope,
      language: input.language,
      status: 'installing',
    });
    const fields = deps.registerFields === false
      ? undefined
      : async (client: Parameters<typeof registerFields>[0]) => {
        const r = await registerFields(client, deps.db, portal.id, { manifest: deps.manifest });
        return { created: r.created, existing: r.existing, errors: r.errors };
      };
    const report = await registerApp(deps.clientFor(portal.id), deps.manifest, deps.config.publicUrl, fields);
    if (report.fields.errors?.length) deps.log.warn('install: contact fields incomplete', { portalId: portal.id, errors: report.fields.errors });
    const failed = Object.keys(report.errors).length;
    if (failed) {
      deps.log.error('install: registration incomplete', { portalId: portal.id, memberId: portal.memberId, errors: report.errors });
      throw new InstallRejected(502, 'REGISTRATION_FAILED', `${failed} placement/event bindings failed: ${Object.values(report.errors).join('; ')}`);
    }
    await setPortalStatus(deps.db, portal.id, 'active');
    deps.log.info('install: portal registered', {
      source, portalId: portal.id, memberId: portal.memberId, domain: portal.domain,
      placementsBound: report.placements.bound.length, placementsUnbound: report.placements.unbound.length,
      eventsBound: report.events.bound.length, eventsUnbound: report.events.unbound.length,
      fieldsCreated: report.fields.created.length,
    });
    if (deps.onInstalled) {
      // The first full cycle is queued, not run here: install must answer quickly.
      await deps.onInstalled(portal.id).catch((e: unknown) =>
        deps.log.error('install: could not queue the first cycle', { portalId: portal.id, error: e instanceof Error ? e.message : String(e) }));
    }
    return { portal: { ...portal, status: 'active' }, report };
  });
}

/** ONAPPINSTALL body → InstallInput (throws InstallRejected 400 with the zod reason). */
export function parseInstallEvent(body: unknown): InstallInput {
  const r = installEventSchema.safeParse(body);
  if (!r.success) throw new InstallRejected(400, 'BAD_INSTALL_PAYLOAD', zodReason(r.error));
  const a = r.data.auth;
  const expiresAt = a.expires !== undefined && a.expires > 0 ? new Date(a.expires * 1000) : new Date(Date.now() + a.expires_in * 1000);
  const lang = r.data.data?.LANGUAGE_ID;
  return {
    memberId: a.member_id,
    domain: a.domain,
    clientEndpoint: a.client_endpoint,
    serverEndpoint: a.server_endpoint,
    accessToken: a.access_token,
    refreshToken: a.refresh_token,
    expiresAt,
    applicationToken: a.application_token,
    scope: a.scope ?? null,
    language: typeof lang === 'string' ? lang.slice(0, 8) : null,
  };
}

function sendRejected(deps: ServerDeps, res: Response, e: unknown, source: string): void {
  if (e instanceof InstallRejected) {
    deps.log.warn('install: rejected', { source, status: e.status, code: e.code, reason: e.message });
    return sendJsonError(res, e.status, e.code, e.message);
  }
  deps.log.error('install: failed', { source, error: e instanceof Error ? e.message : String(e) });
  sendJsonError(res, 500, 'INSTALL_FAILED', 'internal error during install');
}

/** The install callback (ONAPPINSTALL), also used by the events handler. */
export async function handleInstallEvent(deps: ServerDeps, req: Request, res: Response): Promise<void> {
  try {
    const input = parseInstallEvent(req.body);
    const out = await performInstall(deps, input, 'callback');
    res.json({ ok: true, portalId: out.portal.id, report: { placements: out.report.placements, events: out.report.events } });
  } catch (e) {
    sendRejected(deps, res, e, 'callback');
  }
}

let sdkPath: string | undefined;
/** Path of the SDK's UMD build (global `B24Js`). */
export function sdkUmdPath(): string {
  if (!sdkPath) {
    const require = createRequire(import.meta.url);
    const main = require.resolve('@bitrix24/b24jssdk'); // .../dist/cjs/index.cjs
    sdkPath = path.join(path.dirname(main), '..', 'umd', 'index.min.js');
  }
  return sdkPath;
}

export const SDK_URL = '/static/b24jssdk.umd.min.js';

async function handleInstallPage(deps: ServerDeps, req: Request, res: Response): Promise<void> {
  const r = installPageSchema.safeParse({ query: req.query ?? {}, body: req.body ?? {} });
  if (!r.success) return sendRejected(deps, res, new InstallRejected(400, 'BAD_INSTALL_PAYLOAD', zodReason(r.error)), 'page');
  const { query: q, body: b } = r.data;
  const clientEndpoint = `${q.PROTOCOL === '1' ? 'https' : 'http'}://${q.DOMAIN}/rest/`;
  const input: InstallInput = {
    memberId: b.member_id,
    domain: q.DOMAIN,
    clientEndpoint,
    serverEndpoint: b.SERVER_ENDPOINT,
    accessToken: b.AUTH_ID,
    refreshToken: b.REFRESH_ID,
    expiresAt: new Date(Date.now() + b.AUTH_EXPIRES * 1000),
    applicationToken: b.APPLICATION_TOKEN,
    scope: b.APPLICATION_SCOPE ?? null,
    language: q.LANG ?? null,
  };
  let out: InstallResult;
  try {
    out = await performInstall(deps, input, 'page');
  } catch (e) {
    return sendRejected(deps, res, e, 'page');
  }
  const bound = out.report.placements.bound.length + out.report.events.bound.length;
  sendPage(res, 200, {
    title: 'Installing…',
    frameAncestor: portalOrigin(q.DOMAIN, q.PROTOCOL),
    body: `<h1>${esc(deps.manifest.app.name.en)}</h1>
<p id="status">Installed on <b>${esc(out.portal.domain)}</b> (${bound} new bindings). Finishing the installation…</p>`,
    scripts: [SDK_URL],
    script: `(function(){var s=document.getElementById('status');
function fail(e){s.className='err';s.textContent='Could not finish the installation: '+(e&&e.message?e.message:String(e));}
if(!window.B24Js){return fail(new Error('SDK not loaded'));}
B24Js.initializeB24Frame().then(function(b24){return b24.installFinish();}).then(function(){s.textContent='Installation finished.';},fail);})();`,
  });
}

export function createInstallRouter(deps: ServerDeps): Router {
  const r = express.Router();
  r.get(SDK_URL, (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.sendFile(sdkUmdPath(), { headers: { 'Content-Type': 'text/javascript; charset=utf-8' } });
  });
  const route = deps.manifest.app.pages.install;
  r.post(route, formParser, jsonParser, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.event === 'string') {
      if (body.event.toUpperCase() !== 'ONAPPINSTALL') return sendJsonError(res, 400, 'BAD_INSTALL_PAYLOAD', `event: expected ONAPPINSTALL at the install URL`);
      return handleInstallEvent(deps, req, res);
    }
    return handleInstallPage(deps, req, res);
  });
  r.get(route, (_req, res) => sendJsonError(res, 400, 'BAD_INSTALL_PAYLOAD', 'the install URL expects the POST Bitrix24 sends (ONAPPINSTALL or the installer page fields)'));
  return r;
}
