/**
 * `GET/POST /limits`: the leaky bucket, the operating limit and the cost model (costs.ts).
 * GET shows the model, the limit and every live operating window (per method × app/webhook);
 * POST changes any of them at runtime (zod-validated: unknown keys, negative or non-finite numbers,
 * unknown cost classes → 400 INVALID_REQUEST) and answers like GET.
 */
import type { Router } from 'express';
import { z } from 'zod';
import { COST_CLASSES, OPERATING_LIMITS, type CostClass } from '../../costs.js';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

const seconds = z.number().finite().min(0).max(3600);
const METHOD_NAME = /^[a-z][a-z0-9_.]{0,99}$/i;

const CostsBody = z.object({
  classes: z.partialRecord(z.enum(COST_CLASSES as [CostClass, ...CostClass[]]), seconds).optional(),
  /** The pre-issue-12 classes (write = add, update and delete; other = read). */
  kinds: z.partialRecord(z.enum(['list', 'get', 'write', 'bind', 'other']), seconds).optional(),
  perRow: seconds.optional(),
  perCountedRow: seconds.optional(),
  complexFilter: seconds.optional(),
  minimalFixTime: seconds.optional(),
  overhead: seconds.optional(),
  /** Per-method flat overrides; null removes one. */
  methods: z.record(z.string().regex(METHOD_NAME, 'a method name'), seconds.nullable())
    .refine((m) => Object.keys(m).length <= 500, 'at most 500 method overrides').optional(),
}).strict();

const LimitsBody = z.object({
  burst: z.number().finite().positive().max(1e6).optional(),
  drain: z.number().finite().positive().max(1e6).optional(),
  operatingLimit: z.number().finite().positive().max(1e7).optional(),
  /** true: the self-hosted limit (420 s); false: the cloud's (480 s). `operatingLimit` wins when both are given. */
  selfHosted: z.boolean().optional(),
  rateLimit: z.boolean().optional(),
  costs: CostsBody.optional(),
}).strict();

function view(rt: Runtime): Record<string, unknown> {
  const now = rt.portal.clock.now();
  return {
    bucket: rt.limits.bucket,
    operatingLimit: rt.limits.operatingLimit,
    limits: OPERATING_LIMITS,
    rateLimit: rt.limits.rateLimitEnabled,
    costs: rt.limits.costs,
    windows: rt.limits.windows(now),
  };
}

export function mountLimits(r: Router, rt: Runtime): void {
  r.get('/limits', h((_req, res) => res.json(view(rt))));
  r.post('/limits', h((req, res) => {
    const b = LimitsBody.parse(req.body ?? {});
    if (b.burst !== undefined) rt.limits.bucket.burst = b.burst;
    if (b.drain !== undefined) rt.limits.bucket.drain = b.drain;
    if (b.selfHosted !== undefined) rt.limits.operatingLimit = b.selfHosted ? OPERATING_LIMITS.selfHosted : OPERATING_LIMITS.cloud;
    if (b.operatingLimit !== undefined) rt.limits.operatingLimit = b.operatingLimit;
    if (b.rateLimit !== undefined) rt.limits.rateLimitEnabled = b.rateLimit;
    if (b.costs) rt.limits.patchCosts(b.costs);
    res.json(view(rt));
  }));
}
