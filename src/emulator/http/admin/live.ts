/**
 * The living portal (src/emulator/live/): `GET /live` (status), `POST /live {uplift?}` (switch the
 * process on, set the uplift R), `POST /live/advance {days?, hours?, seconds?}` (move the portal
 * clock forward and run the process through it: at most 3 years in one call).
 */
import type { Router } from 'express';
import { z } from 'zod';
import { advanceLive, liveStatus, startLive } from '../../live/index.js';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

const MAX_ADVANCE_DAYS = 3 * 366;

const AdvanceBody = z.object({
  days: z.number().min(0).max(MAX_ADVANCE_DAYS).optional(),
  hours: z.number().min(0).max(MAX_ADVANCE_DAYS * 24).optional(),
  seconds: z.number().min(0).max(MAX_ADVANCE_DAYS * 86_400).optional(),
}).strict().refine((b) => (b.days ?? 0) * 86_400 + (b.hours ?? 0) * 3600 + (b.seconds ?? 0) <= MAX_ADVANCE_DAYS * 86_400, {
  message: `at most ${MAX_ADVANCE_DAYS} days in one advance`,
});

export function mountLive(r: Router, rt: Runtime): void {
  const portal = rt.portal;
  r.get('/live', h((_req, res) => res.json(liveStatus(portal))));
  r.post('/live', h((req, res) => {
    const b = z.object({ uplift: z.number().min(0).max(100).optional() }).strict().parse(req.body ?? {});
    startLive(portal, b);
    res.json(liveStatus(portal));
  }));
  r.post('/live/advance', h((req, res) => {
    const b = AdvanceBody.parse(req.body ?? {});
    const ms = ((b.days ?? 0) * 86_400 + (b.hours ?? 0) * 3600 + (b.seconds ?? 0)) * 1000;
    const run = advanceLive(portal, ms);
    res.json({ ...run, now: portal.clock.now(), status: liveStatus(portal) });
  }));
}
