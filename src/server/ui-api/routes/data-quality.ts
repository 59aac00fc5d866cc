/**
 * GET /data-quality?entity=contact|company: the data-quality checks of the latest score run
 * (data-quality-view.ts): per check the count, the customers it moves, whether that is over the
 * warning share, and the links into the CRM (record cards for admins only). Only `entity` is
 * accepted (anything else, repeated or nested: 400); 409 NOT_SCORED before the first run,
 * NO_COMPANIES for companies when the run labelled none, NO_DATA_QUALITY for a run made before
 * the checks existed. Reads one stored row of the request's own portal: no work grows with the data.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { authed, HttpError, parse, wrap } from '../http.js';
import { dataQualityView, storedDataQuality } from '../data-quality-view.js';
import { entitySchema, runFor, type RouteDeps } from './shared.js';

const query = z.object({ entity: entitySchema }).strict();

export function dataQualityRoutes({ db }: RouteDeps): Router {
  const r = express.Router();
  r.get('/data-quality', wrap(async (req) => {
    const a = authed(req);
    const { entity } = parse(query, req.query);
    const run = await runFor(db, a, entity);
    const counts = run.counts as { dataQuality?: unknown; companies?: { dataQuality?: unknown } };
    const raw = entity === 'company' ? counts.companies?.dataQuality : counts.dataQuality;
    const stored = storedDataQuality.safeParse(raw);
    if (raw === undefined || !stored.success) throw new HttpError(409, 'NO_DATA_QUALITY', 'the latest run has no data-quality checks: run the sync again');
    return { run: { id: run.id, asOf: run.asOf }, ...dataQualityView(stored.data, a.session.a) };
  }));
  return r;
}
