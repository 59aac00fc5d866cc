/**
 * GET /companies/:id — one company's card (the company tab, B2B): its labels, history and contacts.
 * A non-admin only for a company the portal lets them read (crm.company.list with their token:
 * the portal's company permissions, e.g. own companies by ASSIGNED_BY_ID; 403 otherwise), and of
 * its contacts only those they may read. A company of another portal is simply not found (404):
 * every query is scoped to the session's portal.
 */
import express, { type Router } from 'express';
import { companyCard } from '../company-card.js';
import { authed, HttpError, wrap } from '../http.js';
import { lifecycleLabel, segmentLabel } from '../labels.js';
import type { RouteDeps } from './shared.js';

export function companyRoutes({ db, vis, verifier }: RouteDeps): Router {
  const r = express.Router();
  r.get('/companies/:id', wrap(async (req) => {
    const a = authed(req);
    const raw = req.params.id;
    const id = Number(raw);
    if (!/^\d{1,15}$/.test(String(raw)) || !Number.isSafeInteger(id) || id <= 0) throw new HttpError(400, 'BAD_REQUEST', 'bad company id');
    if (!a.session.a && !(await vis.canSee(req, a, id, 'company'))) throw new HttpError(403, 'ACCESS_DENIED', 'your CRM permissions do not include this company');
    const card = await companyCard(db, a.portal.id, id);
    if (!card.company) throw new HttpError(404, 'NOT_FOUND', 'no such company in this portal');
    if (!a.session.a && card.contacts.length) {
      const token = await vis.userToken(req, a);
      const ok = await verifier.visibleContactIds(a.portal, token, card.contacts.map((c) => c.id));
      card.contacts = card.contacts.filter((c) => ok.has(c.id));
    }
    return {
      ...card,
      segmentText: card.label?.segment ? segmentLabel(card.label.segment, a.lang) : null,
      lifecycleText: card.label?.lifecycle ? lifecycleLabel(card.label.lifecycle, a.lang) : null,
      contacts: card.contacts.map((c) => ({ ...c, segmentText: c.segment ? segmentLabel(c.segment, a.lang).name : null })),
    };
  }));
  return r;
}
