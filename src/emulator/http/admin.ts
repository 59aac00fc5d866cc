/**
 * The emulator's own admin API under `/_emulator/` (not part of Bitrix24; JSON in, JSON out,
 * no auth: the emulator is a local test tool bound to 127.0.0.1 by default).
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { finishInstall, installApp, installingAdmin, uninstallApp } from '../apps.js';
import { FaultSpecError, parseFaultSpec, validateFaultConfig } from '../faults.js';
import type { AppRec, CrmPerms, UserRec } from '../model.js';
import { PERM_ENTITIES, parseLevel, uniformPerms } from '../perms.js';
import { savePortal } from '../state.js';
import { RestError, type Params } from '../types.js';
import { sendError, timeBlock } from './envelope.js';
import { mintAuthCode } from './oauth.js';
import { execute, internalCaller } from './rest.js';
import type { Runtime } from './runtime.js';

const InstallBody = z.object({
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  code: z.string().min(1).optional(),
  version: z.number().int().positive().optional(),
  appUrl: z.string().url(),
  installUrl: z.string().url().nullable().optional(),
  scopes: z.array(z.string().min(1)),
  mode: z.enum(['callback', 'wizard']),
  status: z.enum(['F', 'D', 'T', 'P', 'L', 'S']).optional(),
  userId: z.number().int().positive().optional(),
}).strict();

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

/** A CRM role level: X, O, F, D, A, or none ('' / 'none' / '-'). */
const Level = z.string().max(8).transform((v, c) => {
  const l = parseLevel(v);
  if (l === null) {
    c.addIssue({ code: 'custom', message: `unknown CRM permission level "${v}" (use X, O, F, D, A or none)` });
    return z.NEVER;
  }
  return l;
});
/** `"A"` (every entity) or `{contact?, company?, deal?}`. */
const PermsBody = z.union([
  Level.transform((l) => uniformPerms(l)),
  z.object({ contact: Level.optional(), company: Level.optional(), deal: Level.optional() }).strict(),
]);

const UserFields = {
  name: z.string().max(100).optional(),
  lastName: z.string().max(100).optional(),
  email: z.string().max(200).optional(),
  isAdmin: z.boolean().optional(),
  active: z.boolean().optional(),
  departmentIds: z.array(z.number().int().positive()).max(50).optional(),
  workPosition: z.string().max(200).nullable().optional(),
  crmPerms: PermsBody.optional(),
};
const NewUserBody = z.object({ id: z.number().int().positive().optional(), ...UserFields }).strict();
const UserPatchBody = z.object(UserFields).strict();
const DepartmentBody = z.object({
  id: z.number().int().positive().optional(),
  name: z.string().min(1).max(200),
  parentId: z.number().int().positive().nullable().optional(),
}).strict();

export function userView(u: UserRec): Record<string, unknown> {
  const perms: Record<string, string> = {};
  for (const e of PERM_ENTITIES) perms[e] = u.isAdmin ? 'X' : (u.crmPerms?.[e] ?? 'X');
  return {
    id: u.id, active: u.active, name: u.name, lastName: u.lastName, email: u.email, isAdmin: u.isAdmin,
    departmentIds: u.departmentIds, workPosition: u.workPosition,
    /** The effective levels (admins: X; unset: X). */
    crmPerms: perms,
  };
}

export function appView(app: AppRec): Record<string, unknown> {
  return {
    clientId: app.clientId, clientSecret: app.clientSecret, code: app.code, version: app.version,
    appUrl: app.appUrl, installUrl: app.installUrl, scopes: app.scopes, status: app.status,
    installed: app.installed, uninstalled: app.uninstalled ?? false, applicationToken: app.applicationToken,
    paymentExpired: app.paymentExpired,
  };
}

function zodMessage(e: z.ZodError): string {
  return e.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message).join('; ');
}

type Handler = (req: Request, res: Response) => unknown;

/** Wraps a handler so RestError/zod errors become JSON errors. */
function h(fn: Handler): Handler {
  return async (req, res) => {
    try {
      await fn(req, res);
    } catch (e) {
      if (e instanceof RestError) return sendError(res, e.status, e.code, e.description);
      if (e instanceof z.ZodError) return sendError(res, 400, 'INVALID_REQUEST', zodMessage(e));
      if (e instanceof FaultSpecError) return sendError(res, 400, 'INVALID_FAULT_SPEC', e.message);
      throw e;
    }
  };
}

export function createAdminRouter(rt: Runtime): Router {
  const r = express.Router();
  const portal = rt.portal;
  r.use(express.json({ limit: '64mb' }));

  const statsBody = (): Record<string, unknown> => {
    const now = portal.clock.now();
    return {
      clock: { now, iso: new Date(now).toISOString(), unix: Math.floor(now / 1000), timeScale: portal.clock.timeScale, elapsedSeconds: portal.clock.elapsedSeconds() },
      plan: portal.plan,
      limits: { ...rt.limits.snapshot(now), operatingLimit: rt.limits.operatingLimit, rateLimit: rt.limits.rateLimitEnabled },
      faults: { config: rt.faults.get(), counts: rt.faults.counts, draws: rt.faults.draws },
      events: rt.delivery.stats,
    };
  };

  r.get('/stats', h((_req, res) => res.json(statsBody())));
  r.post('/stats/reset', h((req, res) => {
    rt.limits.resetStats();
    if ((req.body as { counters?: boolean } | undefined)?.counters) rt.limits.resetCounters();
    res.json(statsBody());
  }));

  r.get('/portal', h((_req, res) => res.json({
    domain: portal.domain, memberId: portal.memberId, plan: portal.plan, language: portal.language, timeZone: portal.timeZone,
    accessTokenTtl: portal.accessTokenTtl,
    counts: {
      contacts: portal.contacts.size, companies: portal.companies.size, deals: portal.deals.size, products: portal.products.size,
      users: portal.users.size, userFields: portal.userFields.size, apps: portal.apps.size, tokens: portal.tokens.size,
      eventBindings: portal.eventBindings.length, placements: portal.placements.length, offlineEvents: portal.offlineEvents.length,
    },
    webhooks: portal.webhooks.map((w) => ({ userId: w.userId, url: `${rt.delivery.protocol}://${portal.domain}/rest/${w.userId}/${w.secret}/`, scopes: w.scopes })),
  })));

  // Clock
  r.post('/clock/advance', h((req, res) => {
    const b = z.object({ seconds: z.number().min(0).optional(), ms: z.number().min(0).optional() }).strict().parse(req.body ?? {});
    portal.clock.advance((b.ms ?? 0) + (b.seconds ?? 0) * 1000);
    res.json({ now: portal.clock.now() });
  }));

  // Limits
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

  // Faults
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

  // Events
  r.get('/events', h((req, res) => {
    const limit = Math.max(1, Math.min(10_000, Number(req.query.limit ?? 100) || 100));
    res.json({ stats: rt.delivery.stats, deliveries: rt.delivery.log.slice(-limit) });
  }));
  r.post('/events/flush', h(async (_req, res) => {
    await rt.delivery.flush();
    res.json({ stats: rt.delivery.stats });
  }));

  // Apps
  r.get('/apps', h((_req, res) => res.json({ apps: [...portal.apps.values()].map(appView) })));
  r.post('/apps/install', h(async (req, res) => {
    const spec = InstallBody.parse(req.body ?? {});
    const out = installApp(portal, rt.delivery, spec);
    const delivery = out.delivery ? await out.delivery : null;
    res.status(201).json({ app: appView(out.app), delivery });
  }));
  r.post('/apps/:clientId/install-finish', h((req, res) => {
    const app = finishInstall(portal, String(req.params.clientId));
    res.json({ app: appView(app) });
  }));
  r.post('/apps/:clientId/uninstall', h(async (req, res) => {
    const b = z.object({ clean: z.boolean().default(false) }).strict().parse(req.body ?? {});
    const deliveries = await uninstallApp(portal, rt.delivery, String(req.params.clientId), b.clean);
    res.json({ deliveries });
  }));
  r.post('/apps/:clientId/auth-code', h((req, res) => {
    const clientId = String(req.params.clientId);
    const app = portal.apps.get(clientId);
    if (!app || app.uninstalled) throw new RestError('APP_NOT_FOUND', `Application ${clientId} is not installed`, 404);
    const b = z.object({ userId: z.number().int().positive().optional() }).strict().parse(req.body ?? {});
    res.json(mintAuthCode(portal, clientId, b.userId ?? installingAdmin(portal)));
  }));

  // Users, departments and CRM roles (perms.ts)
  const checkDepartments = (ids: readonly number[] | undefined): void => {
    for (const d of ids ?? []) {
      if (!portal.departments.has(d)) throw new RestError('NOT_FOUND', `department ${d} does not exist`, 404);
    }
  };
  r.get('/users', h((_req, res) => res.json({ users: [...portal.users.values()].map(userView) })));
  r.post('/users', h((req, res) => {
    const b = NewUserBody.parse(req.body ?? {});
    if (b.id !== undefined && portal.users.has(b.id)) throw new RestError('CONFLICT', `user ${b.id} exists`, 409);
    checkDepartments(b.departmentIds);
    const uid = b.id ?? Math.max(0, ...portal.users.keys()) + 1;
    portal.bumpId('user', uid);
    const u: UserRec = {
      id: uid, active: b.active ?? true, name: b.name ?? 'User', lastName: b.lastName ?? String(uid),
      email: b.email ?? `user${uid}@example.com`, isAdmin: b.isAdmin ?? false, timeZone: portal.timeZone,
      departmentIds: b.departmentIds ?? [], workPosition: b.workPosition ?? null, personalGender: '',
      crmPerms: b.crmPerms ?? uniformPerms('A'),
    };
    portal.users.set(uid, u);
    res.status(201).json({ user: userView(u) });
  }));
  r.patch('/users/:id', h((req, res) => {
    const u = portal.users.get(Number(req.params.id));
    if (!u) throw new RestError('NOT_FOUND', `user ${String(req.params.id)} does not exist`, 404);
    const b = UserPatchBody.parse(req.body ?? {});
    checkDepartments(b.departmentIds);
    const { crmPerms, ...rest } = b;
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) (u as unknown as Record<string, unknown>)[k] = v;
    if (crmPerms) u.crmPerms = { ...(u.crmPerms ?? {}), ...crmPerms } satisfies CrmPerms;
    res.json({ user: userView(u) });
  }));
  r.post('/users/:id/crm-perms', h((req, res) => {
    const u = portal.users.get(Number(req.params.id));
    if (!u) throw new RestError('NOT_FOUND', `user ${String(req.params.id)} does not exist`, 404);
    const body = (req.body ?? {}) as { level?: unknown };
    const p = PermsBody.parse(body.level !== undefined ? body.level : body);
    u.crmPerms = { ...(u.crmPerms ?? {}), ...p };
    res.json({ user: userView(u) });
  }));
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

  // Internal calls: any method as an internal admin, no limits, no faults (data changes fire events).
  const call = h((req, res) => {
    const name = String(req.params.method).toLowerCase();
    const params = (req.body && typeof req.body === 'object' ? req.body : {}) as Params;
    const userId = typeof req.query.userId === 'string' ? Number(req.query.userId) : 1;
    const now = portal.clock.now();
    const out = execute(rt, internalCaller(userId), name, params, now);
    if (!out.ok) return sendError(res, out.err.status, out.err.code, out.err.description, out.err.extra);
    const body: Record<string, unknown> = { result: out.res.result };
    if (out.res.total !== undefined) body.total = out.res.total;
    if (out.res.next !== undefined) body.next = out.res.next;
    body.time = timeBlock(now, out.cost, out.op, portal.timeZone);
    res.json(body);
  });
  r.post('/call/:method', call);
  r.post('/crm/:method', call);

  // State
  r.post('/state/save', h(async (req, res) => {
    const b = z.object({ path: z.string().min(1).optional() }).strict().parse(req.body ?? {});
    const path = b.path ?? rt.statePath;
    if (!path) throw new RestError('INVALID_REQUEST', 'no state path: start with --state FILE or pass {"path": ...}', 400);
    res.json(await savePortal(portal, path));
  }));

  r.use((_req: Request, res: Response) => sendError(res, 404, 'NOT_FOUND', 'Unknown emulator admin endpoint'));
  return r;
}
