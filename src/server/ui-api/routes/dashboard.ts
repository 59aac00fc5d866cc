/**
 * GET /dashboard?from=&to= (heavy: admitted by the portal gate): the run `to` (default the latest)
 * compared with `from` (default the run before; "30d": the run 30 days before, "2026-09-01": the
 * run of that day, "run:12": that run). Admins get every figure. A non-admin (e.g.
 * a head of sales) gets counts (groups under MIN_GROUP withheld) and SHARES of revenue
 * (revenueShare = the group's revenue / the run's total, 0..1), never an amount of money: no
 * absolute or average revenue, and the value histogram's band edges (amounts; the top edge is the
 * largest customer's revenue) become null, leaving the band number and its count. The non-admin
 * payload is built field by field, so a figure added to `dashboard()` later stays admin-only until
 * it is added here. `entity=company` (B2B): the same figures over the companies; anything but
 * contact or company is a 400.
 */
import express, { type Router } from 'express';
import { dashboard, type Dashboard } from '../dashboard-query.js';
import { parseRunSpec } from '../dashboard-runs.js';
import { backtestQuery, backtestView, readBacktest } from '../dashboard-backtest.js';
import { authed, HttpError, wrap, type Authed } from '../http.js';
import { MIN_GROUP, suppress } from '../visibility.js';
import { entitySchema, runFor, type RouteDeps } from './shared.js';
import { parse } from '../http.js';
import { z } from 'zod';

function nonAdminView(a: Authed, d: Dashboard) {
  const s = (n: number) => suppress(a, n);
  return {
    run: d.run,
    previousRun: d.previousRun,
    runs: d.runs,
    compare: d.compare,
    totals: { count: d.totals.count, revenue: null },
    heatmap: d.heatmap.map((h) => ({
      r: h.r, f: h.f, count: s(h.count), revenue: null, avgM: null, revenueShare: s(h.count) === null ? null : h.revenueShare,
    })),
    segments: d.segments.map((x) => ({ segment: x.segment, count: s(x.count), revenue: null, revenueShare: s(x.count) === null ? null : x.revenueShare })),
    movement: d.movement.filter((m) => m.count >= MIN_GROUP),
    movementMatrix: d.movementMatrix.map((m) => ({
      from: m.from, to: m.to, count: s(m.count), revenue: null, revenueShare: s(m.count) === null ? null : m.revenueShare,
    })),
    // R and F bounds are days and purchase counts; M's are amounts of money: withheld
    thresholds: d.thresholds && {
      ...d.thresholds,
      monetary: { ...d.thresholds.monetary, bounds: [], levels: d.thresholds.monetary.levels.map((l) => ({ ...l, min: null, max: null })) },
    },
    history: d.history.map((h) => ({ ...h, sizes: Object.fromEntries(Object.entries(h.sizes).filter(([, n]) => n >= MIN_GROUP)) })),
    alerts: d.alerts.map((x) => ({ ...x, from: s(x.from), to: s(x.to) })),
    // viaLead splits a group in two: each part is shown only when it is itself a group
    sources: d.sources.filter((m) => m.count >= MIN_GROUP).map((m) => ({
      ...m, viaLead: m.viaLead >= MIN_GROUP && m.count - m.viaLead >= MIN_GROUP ? m.viaLead : m.viaLead === 0 || m.viaLead === m.count ? m.viaLead : null,
    })),
    valueHistogram: d.valueHistogram.map((h) => ({ bin: h.bin, from: null, to: null, count: s(h.count) })),
    concentration: d.concentration,
    suppressedBelow: MIN_GROUP,
  };
}

/** A given ?from= / ?to= must be one of the forms (absent = the default); anything else is refused, not ignored. */
function runSpec(v: unknown, name: string) {
  if (v === undefined || v === '') return null;
  const spec = parseRunSpec(v);
  if (!spec) throw new HttpError(400, 'BAD_RUN', `${name} must be run:<id>, a day YYYY-MM-DD or <n>d (days back), once`);
  return spec;
}

export function dashboardRoutes({ db }: RouteDeps): Router {
  const r = express.Router();
  r.get('/dashboard', wrap(async (req) => {
    const a = authed(req);
    // ?from=run:<id> | YYYY-MM-DD | <n>d (days before `to`) & to=run:<id> | YYYY-MM-DD & entity=contact|company
    const { entity } = parse(z.object({ entity: entitySchema }), { entity: req.query.entity });
    if (entity === 'company') await runFor(db, a, entity); // 409 NO_COMPANIES when the latest run labelled none
    const d = await dashboard(db, a.portal.id, runSpec(req.query.from, 'from'), runSpec(req.query.to, 'to'), entity);
    return a.session.a ? { ...d, suppressedBelow: null } : nonAdminView(a, d);
  }));
  // the predicted value's track record stored with a run (dashboard-backtest.ts)
  r.get('/dashboard/backtest', wrap(async (req) => {
    const a = authed(req);
    const q = backtestQuery.parse(req.query);
    const answer = await readBacktest(db, a.portal.id, q.run ? Number(q.run.slice(4)) : null);
    return { ...backtestView(a, answer), suppressedBelow: a.session.a ? null : MIN_GROUP };
  }));
  return r;
}
