/**
 * The UI API (/api/ui/*) and the built UI's static assets (/ui/assets/*), composed from small
 * routers (routes/*) over one set of dependencies.
 *
 * Auth: every /api/ui call carries `Authorization: Bearer <session>` (auth.ts; issued by
 * renderAppPage after verifying the user's AUTH_ID with the portal). Non-admin calls that reveal
 * contacts also carry `X-B24-Auth: <the user's current access token>` (from B24Frame); the server
 * checks it belongs to the session's user and uses it to ask the portal which contacts the user
 * may see (visibility.ts, portal-user.ts).
 *
 * Non-admins see single contacts and segment numbers only over the contacts the portal's own CRM
 * permissions let them see; aggregates only for groups of at least MIN_GROUP contacts. The
 * dashboard stays a portal-wide overview under that rule, as do segment numbers for a user who
 * sees more than VISIBLE_MAX contacts; filter pick lists (cities, interests) offer only values
 * held by at least MIN_GROUP contacts.
 *
 *   auth.ts            session check          routes/meta.ts        /me, /meta
 *   portal-gate.ts     per-portal admission   routes/segments.ts    /segments/count|list|quality|export
 *   error-handler.ts   404 and errors         routes/saved.ts       /saved, /saved-field/clear
 *   visibility.ts      a non-admin's view     routes/views.ts       /views (saved views per user)
 *   portal-user.ts     users' tokens          routes/bulk.ts        /bulk/* (actions as the user)
 *   directory.ts       names of people        routes/contacts.ts    /contacts/:id
 *   channels.ts        phones and e-mails     routes/companies.ts   /companies/:id (B2B)
 *                                             routes/dashboard.ts   /dashboard
 *                                             routes/data-quality.ts /data-quality
 *                                             routes/effectiveness.ts /effectiveness, /effectiveness/export|settings
 *                                             routes/settings.ts    /settings, /settings/preview
 *                                             routes/fields.ts      /settings/fields, /settings/fields/remove|restore
 *                                             routes/automation.ts  /automation/estimate|firings
 *                                             routes/campaigns.ts   /campaigns, /campaigns/:id[/export|/run]
 *                                             routes/sync.ts        /sync, /sync/run
 */
import path from 'node:path';
import express, { type Router } from 'express';
import { sessionAuth } from './auth.js';
import { DEFAULT_UI_DIST, verifierOf, type UiContext } from './context.js';
import { PortalDirectory } from './directory.js';
import { errorHandler, notFound } from './error-handler.js';
import { UI_BODY_LIMIT, UI_PORTAL_RUNNING, UI_PORTAL_WAITING, UI_STATEMENT_TIMEOUT_MS } from './limits.js';
import { admitHeavy, lanedDb, PortalGate } from './portal-gate.js';
import { resolveSessionSecret } from './session.js';
import { visibilityOf } from './visibility.js';
import { automationRoutes } from './routes/automation.js';
import { bulkRoutes } from './routes/bulk.js';
import { campaignRoutes } from './routes/campaigns.js';
import { companyRoutes } from './routes/companies.js';
import { contactRoutes } from './routes/contacts.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { dataQualityRoutes } from './routes/data-quality.js';
import { effectivenessRoutes } from './routes/effectiveness.js';
import { metaRoutes } from './routes/meta.js';
import { savedRoutes } from './routes/saved.js';
import { segmentRoutes } from './routes/segments.js';
import { refusalRoutes } from './routes/refusal.js';
import { fieldsRoutes } from './routes/fields.js';
import { settingsRoutes } from './routes/settings.js';
import type { RouteDeps } from './routes/shared.js';
import { syncRoutes } from './routes/sync.js';
import { viewRoutes } from './routes/views.js';

export function createUiRouter(ctx: UiContext): Router {
  const r = express.Router();
  // Every statement the API runs is bounded (PostgreSQL: cancelled by the server; 503 QUERY_TIMEOUT).
  const timeoutMs = ctx.statementTimeoutMs ?? UI_STATEMENT_TIMEOUT_MS;
  const verifier = verifierOf(ctx);
  const dir = new PortalDirectory((p, t) => verifier.asUser(p, t), (msg, extra) => ctx.log?.('warn', msg, extra));
  // the heavy routes' statements go through their portal's lanes (portal-gate.ts)
  const deps: RouteDeps = { ctx, db: lanedDb(ctx.db.withStatementTimeout(timeoutMs)), vis: visibilityOf(verifier), verifier, dir };
  const secret = resolveSessionSecret(ctx.config.sessionSecret, ctx.config.production);
  const dist = ctx.uiDist ?? DEFAULT_UI_DIST;

  r.use('/ui/assets', express.static(path.join(dist, 'assets'), { immutable: true, maxAge: '365d', index: false }));
  r.use('/ui/assets', (_req, res) => void res.status(404).type('text').send('not found'));

  const api = express.Router();
  api.use(express.json({ limit: UI_BODY_LIMIT }));
  api.use(sessionAuth(deps.db, secret));
  // Heavy requests wait for one of their portal's UI_PORTAL_RUNNING slots; their statements for one of its UI_PORTAL_STATEMENTS lanes.
  api.use(['/segments', '/dashboard', '/effectiveness', '/settings/preview', '/campaigns'], admitHeavy(ctx.gate ?? new PortalGate(UI_PORTAL_RUNNING, UI_PORTAL_WAITING)));
  for (const routes of [metaRoutes, segmentRoutes, savedRoutes, viewRoutes, bulkRoutes, contactRoutes, companyRoutes, dashboardRoutes, dataQualityRoutes, effectivenessRoutes, settingsRoutes, fieldsRoutes, refusalRoutes, automationRoutes, campaignRoutes, syncRoutes]) api.use(routes(deps));
  api.use(notFound);
  api.use(errorHandler(ctx, timeoutMs));
  r.use('/api/ui', api);
  return r;
}
