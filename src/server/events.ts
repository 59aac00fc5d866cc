/**
 * `POST /events` — every event Bitrix24 sends us (https://apidocs.bitrix24.com/api-reference/events/index.html), form-encoded.
 *
 * Authentication: `auth[application_token]` is compared in constant time with the HMAC we
 * stored at install for `auth[member_id]` (store.verifyApplicationToken). Missing, wrong, or an
 * unknown/uninstalled portal → 401 `{error:'UNAUTHORIZED'}` and nothing changes; the three
 * cases get the same answer so the endpoint does not reveal which member_ids are installed.
 * The one exception is ONAPPINSTALL (the install callback may be configured here too): it
 * carries the token being installed and goes to the install logic, which proves it on the portal.
 *
 *  - ONAPPUNINSTALL: first confirmed with the portal (./uninstall-proof.ts: the application_token
 *    is known to every user who opens the app, so it alone proves nothing): still installed → 401
 *    UNINSTALL_UNPROVEN, portal unreachable → 503, nothing changes. Confirmed: `data[CLEAN]=1`
 *    deletes the portal and all its data; `0` keeps the data, marks the portal 'uninstalled' and
 *    deletes its tokens (a reinstall sees the data again).
 *  - ONCRMDEAL{ADD,UPDATE,DELETE}, ONCRMCONTACT{ADD,UPDATE,DELETE}: 200 at once, the record
 *    id goes to `deps.events.enqueueCrmEvent(portalId, event, id)` (see event-queue.ts).
 *  - Anything else authenticated: 200 `{ok:true, ignored:true}` (Bitrix does not retry).
 */
import express, { type Router } from 'express';
import { uninstallPortal, verifyApplicationToken } from '../store/portals.js';
import { formParser, jsonParser, sendJsonError, zodReason } from './body.js';
import type { ServerDeps } from './deps.js';
import { handleInstallEvent } from './install.js';
import { memberIdOf, rateLimit } from './rate-limit.js';
import { checkUninstalled } from './uninstall-proof.js';
import { CRM_EVENT_RE, crmEventDataSchema, eventEnvelopeSchema, uninstallDataSchema } from './schemas.js';

/** The one answer to a missing or wrong application_token and an unknown or uninstalled portal. */
const EVENT_UNAUTHORIZED = 'auth[member_id] and a valid auth[application_token] of an installed portal are required';

export function createEventsRouter(deps: ServerDeps): Router {
  const r = express.Router();
  const limit = rateLimit({ db: deps.db, log: deps.log, endpoint: 'events', limits: deps.rateLimits, memberOf: memberIdOf });
  r.post(deps.manifest.app.events.handler, formParser, jsonParser, limit, async (req, res, next) => {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (typeof body.event === 'string' && body.event.toUpperCase() === 'ONAPPINSTALL') return await handleInstallEvent(deps, req, res);

      const env = eventEnvelopeSchema.safeParse(body);
      if (!env.success) {
        const noAuth = env.error.issues.some((i) => i.path[0] === 'auth');
        deps.log.warn('events: rejected', { reason: zodReason(env.error) });
        return noAuth
          ? sendJsonError(res, 401, 'UNAUTHORIZED', EVENT_UNAUTHORIZED)
          : sendJsonError(res, 400, 'BAD_EVENT', zodReason(env.error));
      }
      const { event, auth, data } = env.data;
      const portal = await verifyApplicationToken(deps.db, auth.member_id, auth.application_token);
      if (!portal || portal.status === 'uninstalled') {
        deps.log.warn('events: bad application_token', { event, memberId: auth.member_id });
        return sendJsonError(res, 401, 'UNAUTHORIZED', EVENT_UNAUTHORIZED);
      }

      if (event === 'ONAPPUNINSTALL') {
        const d = uninstallDataSchema.safeParse(data ?? {});
        if (!d.success) return sendJsonError(res, 400, 'BAD_EVENT', zodReason(d.error));
        const clean = d.data.CLEAN === '1';
        const verdict = await checkUninstalled(deps, portal);
        if (verdict !== 'confirmed') {
          deps.log.warn('events: uninstall not confirmed by the portal', { portalId: portal.id, verdict });
          return verdict === 'still_installed'
            ? sendJsonError(res, 401, 'UNINSTALL_UNPROVEN', 'the portal still answers this app as installed')
            : sendJsonError(res, 503, 'UNINSTALL_UNCONFIRMED', 'the portal could not be asked; nothing was changed');
        }
        await uninstallPortal(deps.db, portal.id, { clean });
        deps.forgetClient(portal.id);
        deps.log.info('events: portal uninstalled', { portalId: portal.id, memberId: portal.memberId, clean });
        return res.json({ ok: true, clean });
      }

      if (CRM_EVENT_RE.test(event)) {
        const d = crmEventDataSchema.safeParse(data);
        if (!d.success) return sendJsonError(res, 400, 'BAD_EVENT', zodReason(d.error));
        await deps.events.enqueueCrmEvent(portal.id, event, d.data.FIELDS.ID);
        deps.log.debug('events: queued', { portalId: portal.id, event, id: d.data.FIELDS.ID });
        return res.json({ ok: true, queued: true });
      }

      deps.log.debug('events: ignored', { portalId: portal.id, event });
      return res.json({ ok: true, ignored: true });
    } catch (e) {
      next(e);
    }
  });
  return r;
}
