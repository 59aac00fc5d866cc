/** `/departments`: the company structure the CRM levels D and F follow. */
import type { Router } from 'express';
import { z } from 'zod';
import { RestError } from '../../types.js';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

const DepartmentBody = z.object({
  id: z.number().int().positive().optional(),
  name: z.string().min(1).max(200),
  parentId: z.number().int().positive().nullable().optional(),
}).strict();

export function mountDepartments(r: Router, rt: Runtime): void {
  const portal = rt.portal;
  r.get('/departments', h((_req, res) => res.json({ departments: [...portal.departments.values()] })));
  r.post('/departments', h((req, res) => {
    const b = DepartmentBody.parse(req.body ?? {});
    const id = b.id ?? Math.max(0, ...portal.departments.keys()) + 1;
    if (portal.departments.has(id)) throw new RestError('CONFLICT', `department ${id} exists`, 409);
    const parentId = b.parentId ?? null;
    if (parentId !== null && !portal.departments.has(parentId)) throw new RestError('NOT_FOUND', `department ${parentId} does not exist`, 404);
    const d = { id, name: b.name, parentId };
    portal.departments.set(id, d);
    res.status(201).json({ department: d });
  }));
}
