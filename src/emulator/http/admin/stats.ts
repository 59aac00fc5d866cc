/** `GET /stats`, `POST /stats/reset` (limit statistics, optionally the counters) and `GET /portal` (what the portal holds). */
import type { Router } from 'express';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

function statsBody(rt: Runtime): Record<string, unknown> {
  const portal = rt.portal;
  const now = portal.clock.now();
  return {
    clock: { now, iso: new Date(now).toISOString(), unix: Math.floor(now / 1000), timeScale: portal.clock.timeScale, elapsedSeconds: portal.clock.elapsedSeconds() },
    plan: portal.plan,
    limits: { ...rt.limits.snapshot(now), operatingLimit: rt.limits.operatingLimit, rateLimit: rt.limits.rateLimitEnabled },
    faults: { config: rt.faults.get(), counts: rt.faults.counts, draws: rt.faults.draws },
    events: rt.delivery.stats,
  };
}

export function mountStats(r: Router, rt: Runtime): void {
  const portal = rt.portal;
  r.get('/stats', h((_req, res) => res.json(statsBody(rt))));
  r.post('/stats/reset', h((req, res) => {
    rt.limits.resetStats();
    if ((req.body as { counters?: boolean } | undefined)?.counters) rt.limits.resetCounters();
    res.json(statsBody(rt));
  }));

  r.get('/portal', h((_req, res) => res.json({
    domain: portal.domain, memberId: portal.memberId, plan: portal.plan, language: portal.language, timeZone: portal.timeZone,
    accessTokenTtl: portal.accessTokenTtl,
    counts: {
      contacts: portal.contacts.size, companies: portal.companies.size, deals: portal.deals.size, products: portal.products.size,
      users: portal.users.size, userFields: portal.userFields.size, apps: portal.apps.size, tokens: portal.tokens.size,
      eventBindings: portal.eventBindings.length, placements: portal.placements.length, offlineEvents: portal.offlineEvents.length,
    },
    webhooks: portal.webhooks.map((w) => ({ userId: w.userId, url: `${rt.delivery.protocol}://${portal.domain}/rest/${w.userId}/${w.secret}/`, scopes: w.scopes })),
  })));
}
