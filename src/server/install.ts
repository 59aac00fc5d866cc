/**
 * Install, both documented ways, at `POST /install`
 * (https://apidocs.bitrix24.com/settings/app-installation/mass-market-apps/index.html):
 *
 *  (a) install callback: ONAPPINSTALL, form-encoded `event=ONAPPINSTALL&auth[...]` with a
 *      refresh token, answered with 200 JSON. (Also accepted at /events.)
 *  (b) installer page: the portal opens the URL in an iframe for the admin with query
 *      DOMAIN/PROTOCOL/LANG/APP_SID and body AUTH_ID, AUTH_EXPIRES, REFRESH_ID, SERVER_ENDPOINT,
 *      APPLICATION_TOKEN, member_id, ...; answered with an HTML page that calls
 *      `installFinish()` through the official SDK (its UMD build, served by us).
 *  Told apart by the `event` field.
 *
 * Order (nothing is stored, and no request goes anywhere, before step 2 succeeds):
 *  1. the payload is validated (zod) → 400 `{error, reason}`; server_endpoint must be an accepted
 *     OAuth server and client_endpoint the REST base of the payload's domain → 400;
 *  2. proof (./install-proof.ts): one refresh grant at that OAuth server with our client_id and
 *     secret; the portal's member_id and client_endpoint come from its answer → 401 on refusal or
 *     mismatch, 502 when it cannot be reached;
 *  3. an installed member_id whose domain differs from the stored one is a portal rename: accepted
 *     when the OAuth server is not hosted by the portal itself (oauth.bitrix.info vouches for
 *     every portal), refused (401) when it is (the emulator vouches only for itself);
 *  4. the tokens must be an administrator's (`profile` ADMIN, else 403: every user who opens the
 *     app gets a refresh token of it); placements and events are bound on the proven
 *     client_endpoint with the proven tokens (kept in memory);
 *  5. one statement stores the portal (tokens encrypted, application_token as HMAC), active;
 *  6. the contact fields are registered (their failure is retried by the write-back), the first
 *     cycle is queued.
 * A failure in 1-4 leaves the store exactly as it was. Installs of one member_id are serialised
 * in this process.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { MemoryTokenSource, refreshAccessToken, tokenUrl } from '../b24/auth.js';
import { B24Client } from '../b24/client.js';
import { getPortalByMemberId, upsertPortalOnInstall, type Portal } from '../store/portals.js';
import { formParser, jsonParser, sendJsonError, zodReason } from './body.js';
import type { ServerDeps } from './deps.js';
import { esc, portalOrigin, sendPage } from './html.js';
import { InstallRejected, proveInstall, type ProvenInstall } from './install-proof.js';
import { memberIdOf, rateLimit } from './rate-limit.js';
import { registerApp, type RegisterReport } from './register.js';
import { registerFields } from '../writeback/fields.js';
import { markFieldsPresent } from '../writeback/remove-fields.js';
import { installEventSchema, installPageSchema } from './schemas.js';

export { InstallRejected } from './install-proof.js';

/** What an install payload offers: nothing here is trusted before the proof. */
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

/** Step 3: a proven install of an installed member_id on another domain. */
async function checkDomainChange(deps: ServerDeps, p: ProvenInstall): Promise<void> {
  const stored = await getPortalByMemberId(deps.db, p.memberId);
  if (!stored || stored.domain.toLowerCase() === p.domain) return;
  if (p.portalHosted) {
    throw new InstallRejected(401, 'DOMAIN_CHANGE_UNPROVEN', 'this member_id is installed on another domain, and a portal-hosted OAuth server cannot prove a move');
  }
  deps.log.warn('install: portal domain changed', { memberId: p.memberId, from: stored.domain, to: p.domain });
}

/**
 * The install's tokens must be an administrator's: an app page gives every user who opens it a
 * refresh token of this app, and such a user must not be able to "reinstall" the portal with
 * their own tokens and an application_token of their choice.
 */
async function requireAdmin(deps: ServerDeps, client: B24Client, p: ProvenInstall): Promise<void> {
  let me: { ADMIN?: unknown } | null;
  try {
    me = (await client.call('profile')) as { ADMIN?: unknown } | null;
  } catch (e) {
    throw new InstallRejected(502, 'REGISTRATION_FAILED', `the portal did not answer profile: ${e instanceof Error ? e.message : String(e)}`);
  }
  const admin = me?.ADMIN === true || me?.ADMIN === 'Y' || me?.ADMIN === 'true' || me?.ADMIN === 1;
  if (!admin) {
    deps.log.warn('install: refused, not an administrator', { memberId: p.memberId, userId: p.userId });
    throw new InstallRejected(403, 'NOT_ADMIN', 'only a portal administrator can install the app');
  }
}

/** A client on the proven endpoint with the proven tokens, kept in memory until the install is stored. */
function provenClient(deps: ServerDeps, p: ProvenInstall): { client: B24Client; tokens: () => { accessToken: string; refreshToken: string; expiresAt: Date } } {
  let current = { accessToken: p.accessToken, refreshToken: p.refreshToken, expiresAt: p.expiresAt };
  const tokens = new MemoryTokenSource({
    accessToken: p.accessToken,
    refreshToken: p.refreshToken,
    clientEndpoint: p.clientEndpoint,
    expiresAt: p.expiresAt.getTime(),
    clientId: deps.config.clientId,
    clientSecret: deps.config.clientSecret,
    oauthUrl: tokenUrl({ serverEndpoint: p.serverEndpoint }),
    refreshFn: refreshAccessToken,
    onRefresh: (t) => {
      current = { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: new Date(t.expiresAt) };
    },
  });
  const client = new B24Client({ tokens, limiter: { ...deps.limiter }, maxRetries: 3, timeoutMs: 30_000 });
  return { client, tokens: () => current };
}

export async function performInstall(deps: ServerDeps, input: InstallInput, source: 'callback' | 'page'): Promise<InstallResult> {
  return serialised(input.memberId, async () => {
    const proven = await proveInstall({ config: deps.config, refreshFn: deps.oauthRefresh }, input);
    await checkDomainChange(deps, proven);
    const { client, tokens } = provenClient(deps, proven);
    await requireAdmin(deps, client, proven);
    let report: RegisterReport;
    try {
      report = await registerApp(client, deps.manifest, deps.config.publicUrl);
    } catch (e) {
      deps.log.error('install: registration failed', { memberId: proven.memberId, error: e instanceof Error ? e.message : String(e) });
      throw new InstallRejected(502, 'REGISTRATION_FAILED', `the portal refused the registration calls: ${e instanceof Error ? e.message : String(e)}`);
    }
    const failed = Object.keys(report.errors).length;
    if (failed) {
      deps.log.error('install: registration incomplete', { memberId: proven.memberId, errors: report.errors });
      throw new InstallRejected(502, 'REGISTRATION_FAILED', `${failed} placement/event bindings failed: ${Object.values(report.errors).join('; ')}`);
    }
    const t = tokens();
    const portal = await upsertPortalOnInstall(deps.db, {
      memberId: proven.memberId,
      domain: proven.domain,
      clientEndpoint: proven.clientEndpoint,
      serverEndpoint: proven.serverEndpoint,
      accessToken: t.accessToken,
      refreshToken: t.refreshToken,
      expiresAt: t.expiresAt,
      applicationToken: input.applicationToken,
      scope: proven.scope ?? input.scope,
      language: input.language,
      status: 'active',
    });
    if (deps.registerFields !== false) {
      try {
        // every entity of the manifest (contacts and companies): the company fields are there, empty,
        // until the admin turns the B2B option on and the write-back fills them
        const r = await registerFields(deps.clientFor(portal.id), deps.db, portal.id, { manifest: deps.manifest, entities: deps.manifest.fields.entities });
        report.fields = { created: r.created, existing: r.existing, errors: r.errors };
        // the admin had removed the fields (Settings) and installs again: they are back, the write-back writes again
        await markFieldsPresent(deps.db, portal.id);
        if (r.errors.length) deps.log.warn('install: contact fields incomplete', { portalId: portal.id, errors: r.errors });
      } catch (e) {
        report.fields = { created: [], existing: [], errors: [e instanceof Error ? e.message : String(e)] };
        deps.log.warn('install: contact fields not registered; the write-back retries', { portalId: portal.id, error: e instanceof Error ? e.message : String(e) });
      }
    }
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
    return { portal, report };
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
  const limit = rateLimit({ db: deps.db, log: deps.log, endpoint: 'install', limits: deps.rateLimits, memberOf: memberIdOf });
  r.post(route, formParser, jsonParser, limit, async (req, res) => {
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
