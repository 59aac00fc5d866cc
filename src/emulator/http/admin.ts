/**
 * The emulator's own admin API under `/_emulator/` (not part of Bitrix24; JSON in, JSON out,
 * no auth: the emulator is a local test tool bound to 127.0.0.1 by default).
 */
import express, { type Request, type Response, type Router } from 'express';
import { mountApps } from './admin/apps.js';
import { mountCall } from './admin/call.js';
import { mountClock } from './admin/clock.js';
import { mountDepartments } from './admin/departments.js';
import { mountEvents } from './admin/events.js';
import { mountFaults } from './admin/faults.js';
import { mountLimits } from './admin/limits.js';
import { mountLive } from './admin/live.js';
import { mountState } from './admin/state.js';
import { mountStats } from './admin/stats.js';
import { mountUsers } from './admin/users.js';
import { sendError } from './envelope.js';
import type { Runtime } from './runtime.js';

export { appView } from './admin/apps.js';
export { userView } from './admin/users.js';

export function createAdminRouter(rt: Runtime): Router {
  const r = express.Router();
  r.use(express.json({ limit: '64mb' }));
  mountStats(r, rt);
  mountClock(r, rt);
  mountLimits(r, rt);
  mountLive(r, rt);
  mountFaults(r, rt);
  mountEvents(r, rt);
  mountApps(r, rt);
  // users, departments and CRM roles (perms.ts)
  mountUsers(r, rt);
  mountDepartments(r, rt);
  mountCall(r, rt);
  mountState(r, rt);
  r.use((_req: Request, res: Response) => sendError(res, 404, 'NOT_FOUND', 'Unknown emulator admin endpoint'));
  return r;
}
