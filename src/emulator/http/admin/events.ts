/** `GET /events?limit=` (delivery log) and `POST /events/flush` (wait for pending deliveries). */
import type { Router } from 'express';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

export function mountEvents(r: Router, rt: Runtime): void {
  r.get('/events', h((req, res) => {
    const limit = Math.max(1, Math.min(10_000, Number(req.query.limit ?? 100) || 100));
    res.json({ stats: rt.delivery.stats, deliveries: rt.delivery.log.slice(-limit) });
  }));
  r.post('/events/flush', h(async (_req, res) => {
    await rt.delivery.flush();
    res.json({ stats: rt.delivery.stats });
  }));
}
