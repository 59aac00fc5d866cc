/** `GET/POST/DELETE /faults`: fault injection (a spec string or a config object, see faults.ts). */
import type { Router } from 'express';
import { parseFaultSpec, validateFaultConfig } from '../../faults.js';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

export function mountFaults(r: Router, rt: Runtime): void {
  r.get('/faults', h((_req, res) => res.json({ config: rt.faults.get(), active: rt.faults.active, counts: rt.faults.counts, draws: rt.faults.draws })));
  r.post('/faults', h((req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const cfg = typeof body.spec === 'string' ? parseFaultSpec(body.spec) : validateFaultConfig(body);
    rt.faults.set(cfg);
    res.json({ config: rt.faults.get(), active: rt.faults.active });
  }));
  r.delete('/faults', h((_req, res) => {
    rt.faults.set(parseFaultSpec(''));
    res.json({ config: rt.faults.get(), active: false });
  }));
}
