/** GET /contacts/:id — one contact's card (the contact tab); a non-admin only for a contact the portal lets them see (403 otherwise). */
import express, { type Router } from 'express';
import { contactCard } from '../contact-card.js';
import { authed, HttpError, wrap } from '../http.js';
import { lifecycleLabel, segmentLabel } from '../labels.js';
import type { RouteDeps } from './shared.js';

export function contactRoutes({ db, vis }: RouteDeps): Router {
  const r = express.Router();
  r.get('/contacts/:id', wrap(async (req) => {
    const a = authed(req);
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(400, 'BAD_REQUEST', 'bad contact id');
    if (!a.session.a && !(await vis.canSee(req, a, id))) throw new HttpError(403, 'ACCESS_DENIED', 'your CRM permissions do not include this contact');
    const card = await contactCard(db, a.portal.id, id);
    return {
      ...card,
      segmentText: card.label?.segment ? segmentLabel(card.label.segment, a.lang) : null,
      lifecycleText: card.label?.lifecycle ? lifecycleLabel(card.label.lifecycle, a.lang) : null,
    };
  }));
  return r;
}
