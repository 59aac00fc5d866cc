/** `POST /clock/advance {seconds?, ms?}`: jumps the portal clock forward. */
import type { Router } from 'express';
import { z } from 'zod';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

export function mountClock(r: Router, rt: Runtime): void {
  const portal = rt.portal;
  r.post('/clock/advance', h((req, res) => {
    const b = z.object({ seconds: z.number().min(0).optional(), ms: z.number().min(0).optional() }).strict().parse(req.body ?? {});
    portal.clock.advance((b.ms ?? 0) + (b.seconds ?? 0) * 1000);
    res.json({ now: portal.clock.now() });
  }));
}
