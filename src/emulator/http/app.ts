/**
 * The express app of one emulated portal: REST (`/rest/...`), OAuth (`/oauth/token/`),
 * admin API (`/_emulator/...`), CORS, and — mounted last — the portal host page router.
 */
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import { EventDelivery } from '../events.js';
import { Faults, type FaultConfig } from '../faults.js';
import { Limits, type LimitsOptions } from '../limits.js';
import type { Portal } from '../portal.js';
import { createAdminRouter } from './admin.js';
import { sendError } from './envelope.js';
import { oauthTokenHandler } from './oauth.js';
import { oversizeRequest } from './oversize.js';
import { restHandler } from './rest.js';
import type { Dispatcher, Runtime } from './runtime.js';

export interface EmulatorAppOptions {
  /** The method layer (default: `src/emulator/methods`, supplied by server.ts). */
  dispatcher: Dispatcher;
  /** Bucket, operating budget and cost model; the bucket follows `portal.plan` unless overridden. */
  limits?: LimitsOptions;
  /** Fault spec (see faults.ts) or a parsed config. */
  faults?: string | FaultConfig;
  /** Answer REST calls after their simulated cost / timeScale in wall ms (default false). */
  simulateLatency?: boolean;
  /** `domain` in OAuth server responses (default "oauth.bitrix.info", https://apidocs.bitrix24.com/settings/oauth/index.html). */
  oauthDomain?: string;
  statePath?: string | null;
  /** Wall ms before an event POST is abandoned (default 10000). */
  eventTimeoutMs?: number;
  log?: (line: string) => void;
  /** Router factories mounted at `/` after the emulator's own routes (the host page). */
  extraRouters?: Array<(rt: Runtime) => Router>;
}

export type EmulatorApp = Express & { runtime: Runtime };

function cors(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', String(req.headers['access-control-request-headers'] ?? 'Content-Type, Accept, Authorization, X-Requested-With'));
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
    return;
  }
  next();
}

export function createRuntime(portal: Portal, opts: EmulatorAppOptions): Runtime {
  const delivery = new EventDelivery(portal, { timeoutMs: opts.eventTimeoutMs });
  delivery.attach();
  return {
    portal,
    dispatcher: opts.dispatcher,
    limits: new Limits({ plan: portal.plan, ...opts.limits }),
    faults: new Faults(opts.faults),
    delivery,
    simulateLatency: opts.simulateLatency ?? false,
    oauthDomain: opts.oauthDomain ?? 'oauth.bitrix.info',
    statePath: opts.statePath ?? null,
    heldSockets: new Set(),
    log: opts.log ?? ((line) => console.error(line)),
  };
}

export function createEmulatorApp(portal: Portal, opts: EmulatorAppOptions): EmulatorApp {
  const rt = createRuntime(portal, opts);
  const app = express() as EmulatorApp;
  app.runtime = rt;
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(oversizeRequest);
  const raw = express.raw({ type: () => true, limit: '64mb' });
  const rest = restHandler(rt);
  const oauth = oauthTokenHandler(rt);

  app.use((req, res, next) => {
    const first = req.path.split('/').find((s) => s !== '')?.toLowerCase();
    if (first !== 'rest' && first !== 'oauth') return next();
    cors(req, res, () => {
      raw(req, res, (err?: unknown) => {
        if (err) return next(err);
        if (first === 'rest') {
          Promise.resolve(rest(req, res, next)).catch(next);
          return;
        }
        const segs = req.path.split('/').filter((s) => s !== '');
        if (segs.length === 2 && segs[1]?.toLowerCase() === 'token' && (req.method === 'GET' || req.method === 'POST')) {
          oauth(req, res, next);
          return;
        }
        sendError(res, 404, 'invalid_request', 'Unknown OAuth endpoint');
      });
    });
  });
  app.use('/_emulator', cors, createAdminRouter(rt));
  for (const make of opts.extraRouters ?? []) app.use('/', make(rt));

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (status === 413) return sendError(res, 413, 'INVALID_REQUEST', 'Request body too large');
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(res, status, 'INVALID_REQUEST', err instanceof Error ? err.message : 'Bad request');
    }
    rt.log(`emulator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
  });
  return app;
}
