/** `POST /state/save {path?}`: writes the portal to a file (default: the `--state FILE` path). */
import type { Router } from 'express';
import { z } from 'zod';
import { savePortal } from '../../state.js';
import { RestError } from '../../types.js';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

export function mountState(r: Router, rt: Runtime): void {
  r.post('/state/save', h(async (req, res) => {
    const b = z.object({ path: z.string().min(1).optional() }).strict().parse(req.body ?? {});
    const path = b.path ?? rt.statePath;
    if (!path) throw new RestError('INVALID_REQUEST', 'no state path: start with --state FILE or pass {"path": ...}', 400);
    res.json(await savePortal(rt.portal, path));
  }));
}
