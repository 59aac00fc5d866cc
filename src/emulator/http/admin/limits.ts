/** `GET/POST /limits`: the leaky bucket, the operating limit and method costs. */
import type { Router } from 'express';
import { z } from 'zod';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

const LimitsBody = z.object({
  burst: z.number().positive().optional(),
  drain: z.number().positive().optional(),
  operatingLimit: z.number().positive().optional(),
  rateLimit: z.boolean().optional(),
  costs: z.object({
    kinds: z.record(z.enum(['list', 'get', 'write', 'bind', 'other']), z.number().min(0)).optional(),
    perRow: z.number().min(0).optional(),
    methods: z.record(z.string(), z.number().min(0)).optional(),
  }).optional(),
}).strict();

export function mountLimits(r: Router, rt: Runtime): void {
  r.get('/limits', h((_req, res) => res.json({ bucket: rt.limits.bucket, operatingLimit: rt.limits.operatingLimit, rateLimit: rt.limits.rateLimitEnabled, costs: rt.limits.costs })));
  r.post('/limits', h((req, res) => {
    const b = LimitsBody.parse(req.body ?? {});
    if (b.burst !== undefined) rt.limits.bucket.burst = b.burst;
    if (b.drain !== undefined) rt.limits.bucket.drain = b.drain;
    if (b.operatingLimit !== undefined) rt.limits.operatingLimit = b.operatingLimit;
    if (b.rateLimit !== undefined) rt.limits.rateLimitEnabled = b.rateLimit;
    if (b.costs?.kinds) Object.assign(rt.limits.costs.kinds, b.costs.kinds);
    if (b.costs?.perRow !== undefined) rt.limits.costs.perRow = b.costs.perRow;
    if (b.costs?.methods) {
      for (const [m, s] of Object.entries(b.costs.methods)) rt.limits.costs.methods[m.toLowerCase()] = s;
    }
    res.json({ bucket: rt.limits.bucket, operatingLimit: rt.limits.operatingLimit, rateLimit: rt.limits.rateLimitEnabled, costs: rt.limits.costs });
  }));
}
