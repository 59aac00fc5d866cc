/**
 * The app page (`/app`, PLACEMENT=DEFAULT) and the placement handlers of the manifest
 * (`/placement/contact-tab`, `/placement/contact-list`), GET and POST.
 *
 * Bitrix24 POSTs the https://apidocs.bitrix24.com/settings/oauth/simple-way.html fields: query DOMAIN/PROTOCOL/LANG/APP_SID, body AUTH_ID,
 * APPLICATION_TOKEN, member_id, PLACEMENT, PLACEMENT_OPTIONS (a JSON string). We verify
 * APPLICATION_TOKEN against the stored HMAC for member_id (401 page otherwise) and answer a
 * minimal server-rendered status page (the Vue UI replaces it later). GET is accepted with the
 * same fields in the query string.
 *
 * Framing: `Content-Security-Policy: frame-ancestors <portal origin>` where the origin is the
 * VERIFIED portal's stored domain (a DOMAIN in the query that differs from it is ignored) and
 * the scheme from PROTOCOL; unauthenticated answers are not frameable by anyone.
 */
import express, { type Request, type Response, type Router } from 'express';
import { latestSyncRun } from '../store/syncRuns.js';
import { verifyApplicationToken, type Portal } from '../store/portals.js';
import { formParser, jsonParser, zodReason } from './body.js';
import type { ServerDeps } from './deps.js';
import { esc, portalOrigin, sendPage } from './html.js';
import { framePageSchema, parsePlacementOptions } from './schemas.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { renderAppPage, type UiContext } from './ui-api/serve.js';
import { DEFAULT_UI_DIST } from './ui-api/context.js';

/** true when the Vue UI has been built (`npm run build:ui`). */
function uiBuilt(ui: UiContext): boolean {
  return existsSync(join(ui.uiDist ?? DEFAULT_UI_DIST, 'index.html'));
}

function fmtDate(d: Date | null | undefined): string {
  return d ? new Date(d).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '—';
}

async function statusBody(deps: ServerDeps, portal: Portal, placement: string, options: Record<string, unknown>): Promise<string> {
  const run = await latestSyncRun(deps.db, portal.id);
  const counts = await deps.db.query<{ contacts: number; deals: number }>(
    `SELECT (SELECT count(*) FROM contacts WHERE portal_id = $1)::int AS contacts,
            (SELECT count(*) FROM deals WHERE portal_id = $1)::int AS deals`,
    [portal.id],
  );
  const c = counts.rows[0] ?? { contacts: 0, deals: 0 };
  let runHtml = '<p class="muted">No sync has run yet.</p>';
  if (run) {
    const pct = run.rowsExpected ? Math.min(100, Math.round((100 * run.rowsDone) / run.rowsExpected)) : null;
    runHtml = `<table>
<tr><th>Last sync</th><td>${esc(run.kind)} — <b>${esc(run.status)}</b>${run.phase ? ` (${esc(run.phase)})` : ''}</td></tr>
<tr><th>Progress</th><td>${pct === null ? esc(run.rowsDone) + ' rows' : `<progress max="100" value="${pct}"></progress> ${pct}% (${esc(run.rowsDone)} / ${esc(run.rowsExpected)})`}${run.etaSeconds != null && run.status === 'running' ? `, ETA ${esc(run.etaSeconds)} s` : ''}</td></tr>
<tr><th>Started</th><td>${fmtDate(run.startedAt)}</td></tr>
<tr><th>Finished</th><td>${fmtDate(run.finishedAt)}</td></tr>
<tr><th>REST</th><td>${esc(run.requests)} requests, ${esc(run.calls)} calls, ${esc(Number(run.operatingSeconds).toFixed(1))} operating s</td></tr>
</table>`;
  }
  const subject = placement === 'DEFAULT' ? '' : `<p>Opened from <code>${esc(placement)}</code>${options.ID !== undefined ? ` for record <b>#${esc(options.ID)}</b>` : ''}.</p>`;
  return `<h1>${esc(deps.manifest.app.name.en)}</h1>
${subject}
<table>
<tr><th>Portal</th><td>${esc(portal.domain)}</td></tr>
<tr><th>Status</th><td>${esc(portal.status)}</td></tr>
<tr><th>Installed</th><td>${fmtDate(portal.installedAt)}</td></tr>
<tr><th>Data</th><td>${esc(c.contacts)} contacts, ${esc(c.deals)} deals synced</td></tr>
</table>
${runHtml}`;
}

function deny(res: Response, status: number, reason: string): void {
  sendPage(res, status, {
    title: 'Not authorised',
    frameAncestor: null,
    body: `<h1>Cannot open the app</h1><p class="err">${esc(reason)}</p><p class="muted">Open it from your Bitrix24 portal.</p>`,
  });
}

export function createPagesRouter(deps: ServerDeps, ui?: UiContext): Router {
  const r = express.Router();
  const routes = [deps.manifest.app.pages.app, ...deps.manifest.app.placements.map((p) => p.handler)];
  const handler = async (req: Request, res: Response): Promise<void> => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const body = req.method === 'GET' ? q : { ...((req.body ?? {}) as Record<string, unknown>) };
    const parsed = framePageSchema.safeParse({ query: q, body });
    if (!parsed.success) {
      deps.log.warn('page: rejected', { path: req.path, reason: zodReason(parsed.error) });
      return deny(res, 401, `Missing or malformed launch parameters (${zodReason(parsed.error)}).`);
    }
    const { query, body: b } = parsed.data;
    const portal = await verifyApplicationToken(deps.db, b.member_id, b.APPLICATION_TOKEN);
    if (!portal || portal.status === 'uninstalled') {
      deps.log.warn('page: bad application_token', { path: req.path, memberId: b.member_id });
      return deny(res, 401, 'This request is not signed by an installed portal.');
    }
    // The Vue UI when it is built; the server-rendered status page otherwise (e.g. a server-only deployment).
    if (ui && req.method === 'POST' && uiBuilt(ui)) return renderAppPage(req, res, ui);
    const protocol = query.PROTOCOL ?? (portal.clientEndpoint?.startsWith('http:') ? '0' : '1');
    const html = await statusBody(deps, portal, b.PLACEMENT, parsePlacementOptions(b.PLACEMENT_OPTIONS));
    sendPage(res, 200, { title: deps.manifest.app.name.en, frameAncestor: portalOrigin(portal.domain, protocol), body: html });
  };
  for (const path of routes) {
    r.get(path, (req, res, next) => handler(req, res).catch(next));
    r.post(path, formParser, jsonParser, (req, res, next) => handler(req, res).catch(next));
  }
  return r;
}
