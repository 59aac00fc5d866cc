/**
 * `POST /call/:method` and `/crm/:method`: internal calls, any method as an internal admin
 * (`?userId=` another user), no limits, no faults (data changes fire events).
 */
import type { Router } from 'express';
import { RequestTally } from '../../limits.js';
import type { Params } from '../../types.js';
import { sendError, timeBlock } from '../envelope.js';
import { execute, internalCaller } from '../rest.js';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

export function mountCall(r: Router, rt: Runtime): void {
  const portal = rt.portal;
  const call = h((req, res) => {
    const name = String(req.params.method).toLowerCase();
    const params = (req.body && typeof req.body === 'object' ? req.body : {}) as Params;
    const userId = typeof req.query.userId === 'string' ? Number(req.query.userId) : 1;
    const now = portal.clock.now();
    const tally = new RequestTally();
    const out = execute(rt, internalCaller(userId), name, params, now, tally);
    rt.limits.commit(tally, now);
    if (!out.ok) return sendError(res, out.err.status, out.err.code, out.err.description, out.err.extra);
    const body: Record<string, unknown> = { result: out.res.result };
    if (out.res.total !== undefined) body.total = out.res.total;
    if (out.res.next !== undefined) body.next = out.res.next;
    body.time = timeBlock(now, out.cost, out.op, portal.timeZone, rt.limits.costs.overhead);
    res.json(body);
  });
  r.post('/call/:method', call);
  r.post('/crm/:method', call);
}
