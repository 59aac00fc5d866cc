/**
 * The express app: install, events, app page + placements, the SDK bundle, health, the privacy
 * policy and terms (/privacy, /terms).
 * The Vue UI's assets and API (`src/server/ui-api/`) mount here too.
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import { bodyErrorHandler, sendJsonError } from './body.js';
import type { ServerDeps } from './deps.js';
import { createEventsRouter } from './events.js';
import { createHealthRouter } from './health.js';
import { createInstallRouter } from './install.js';
import { createPagesRouter } from './pages.js';
import { createLegalRouter } from './legal.js';
import { createUiRouter, type UiContext } from './ui-api/serve.js';
import { clearSavedSegmentField } from '../writeback/saved-segment.js';
import { removeAppFields, restoreAppFields } from '../writeback/remove-fields.js';

/**
 * How long the app's HTTP servers keep an idle keep-alive connection, ms. Longer than any client's
 * own idle limit (a reverse proxy's upstream keep-alive, nginx's default 60 s; undici's 4 s; browsers'),
 * so the client always closes first and never writes a request on a connection the server is closing
 * (the client would see ECONNRESET). Shutdown closes idle connections at once (drainServer).
 */
export const SERVER_KEEP_ALIVE_MS = 65_000;

export type { ServerDeps } from './deps.js';

/** What the UI API needs, from the server's dependencies. */
export function uiContext(deps: ServerDeps): UiContext {
  return {
    db: deps.db,
    config: deps.config,
    clientFor: deps.clientFor,
    ...(deps.runNow ? { runNow: deps.runNow } : {}),
    ...(deps.writeBackNow ? { writeBackNow: deps.writeBackNow } : {}),
    clearSavedField: (portalId) => clearSavedSegmentField(deps.clientFor(portalId), deps.db, portalId),
    removeFields: (portalId) => removeAppFields(deps.clientFor(portalId), deps.db, portalId),
    restoreFields: (portalId) => restoreAppFields(deps.clientFor(portalId), deps.db, portalId),
    ...(deps.uiDist ? { uiDist: deps.uiDist } : {}),
    ...(deps.rateLimits ? { rateLimits: deps.rateLimits } : {}),
    ...(deps.uiStatementTimeoutMs ? { statementTimeoutMs: deps.uiStatementTimeoutMs } : {}),
    log: (level, msg, extra) => deps.log[level](msg, extra),
  };
}

export function createServer(deps: ServerDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.trustProxy);
  // Access log: method, path (no query: it may carry launch parameters), status, time. Never bodies.
  // Skipped where a handler already logged its one line about the request (res.locals.logged).
  app.use((req, res, next) => {
    const t0 = performance.now();
    res.on('finish', () => {
      if (!res.locals.logged) deps.log.debug('http', { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(performance.now() - t0) });
    });
    next();
  });
  app.use(createHealthRouter({ db: deps.db, ...deps.health }));
  for (const r of deps.ops ?? []) app.use(r);
  app.use(createLegalRouter());
  app.use(createInstallRouter(deps));
  app.use(createEventsRouter(deps));
  const ui = uiContext(deps);
  app.use(createUiRouter(ui));
  app.use(createPagesRouter(deps, ui));
  app.use(bodyErrorHandler);
  app.use((_req, res) => sendJsonError(res, 404, 'NOT_FOUND', 'no such endpoint'));
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    deps.log.error('http: unhandled error', { method: req.method, path: req.path, error: err instanceof Error ? err.message : String(err) });
    if (!res.headersSent) sendJsonError(res, 500, 'INTERNAL', 'internal error');
  };
  app.use(onError);
  return app;
}
