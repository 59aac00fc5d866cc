/** `/users`: list, create, patch, and set CRM roles (`/users/:id/crm-perms`, see perms.ts). */
import type { Router } from 'express';
import { z } from 'zod';
import type { CrmPerms, UserRec } from '../../model.js';
import { PERM_ENTITIES, parseLevel, uniformPerms } from '../../perms.js';
import type { Portal } from '../../portal.js';
import { RestError } from '../../types.js';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

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
  /** trade catalog rights (catalog.product.list): view the catalog, read its information block */
  catalogRights: z.object({ view: z.boolean().optional(), iblockRead: z.boolean().optional() }).strict().optional(),
};
const NewUserBody = z.object({ id: z.number().int().positive().optional(), ...UserFields }).strict();
const UserPatchBody = z.object(UserFields).strict();

export function userView(u: UserRec): Record<string, unknown> {
  const perms: Record<string, string> = {};
  for (const e of PERM_ENTITIES) perms[e] = u.isAdmin ? 'X' : (u.crmPerms?.[e] ?? 'X');
  return {
    id: u.id, active: u.active, name: u.name, lastName: u.lastName, email: u.email, isAdmin: u.isAdmin,
    departmentIds: u.departmentIds, workPosition: u.workPosition,
    /** The effective levels (admins: X; unset: X). */
    crmPerms: perms,
    /** The effective catalog rights (admins: both; unset: granted). */
    catalogRights: { view: u.isAdmin || (u.catalogRights?.view ?? true), iblockRead: u.isAdmin || (u.catalogRights?.iblockRead ?? true) },
  };
}

function checkDepartments(portal: Portal, ids: readonly number[] | undefined): void {
  for (const d of ids ?? []) {
    if (!portal.departments.has(d)) throw new RestError('NOT_FOUND', `department ${d} does not exist`, 404);
  }
}

function existingUser(portal: Portal, id: unknown): UserRec {
  const u = portal.users.get(Number(id));
  if (!u) throw new RestError('NOT_FOUND', `user ${String(id)} does not exist`, 404);
  return u;
}

export function mountUsers(r: Router, rt: Runtime): void {
  const portal = rt.portal;
  r.get('/users', h((_req, res) => res.json({ users: [...portal.users.values()].map(userView) })));
  r.post('/users', h((req, res) => {
    const b = NewUserBody.parse(req.body ?? {});
    if (b.id !== undefined && portal.users.has(b.id)) throw new RestError('CONFLICT', `user ${b.id} exists`, 409);
    checkDepartments(portal, b.departmentIds);
    const uid = b.id ?? Math.max(0, ...portal.users.keys()) + 1;
    portal.bumpId('user', uid);
    const u: UserRec = {
      id: uid, active: b.active ?? true, name: b.name ?? 'User', lastName: b.lastName ?? String(uid),
      email: b.email ?? `user${uid}@example.com`, isAdmin: b.isAdmin ?? false, timeZone: portal.timeZone,
      departmentIds: b.departmentIds ?? [], workPosition: b.workPosition ?? null, personalGender: '',
      crmPerms: b.crmPerms ?? uniformPerms('A'), dateRegister: portal.clock.now(), ...(b.catalogRights ? { catalogRights: b.catalogRights } : {}),
    };
    portal.users.set(uid, u);
    res.status(201).json({ user: userView(u) });
  }));
  r.patch('/users/:id', h((req, res) => {
    const u = existingUser(portal, req.params.id);
    const b = UserPatchBody.parse(req.body ?? {});
    checkDepartments(portal, b.departmentIds);
    const { crmPerms, catalogRights, ...rest } = b;
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) (u as unknown as Record<string, unknown>)[k] = v;
    if (crmPerms) u.crmPerms = { ...(u.crmPerms ?? {}), ...crmPerms } satisfies CrmPerms;
    if (catalogRights) u.catalogRights = { ...(u.catalogRights ?? {}), ...catalogRights };
    res.json({ user: userView(u) });
  }));
  r.post('/users/:id/crm-perms', h((req, res) => {
    const u = existingUser(portal, req.params.id);
    const body = (req.body ?? {}) as { level?: unknown };
    const p = PermsBody.parse(body.level !== undefined ? body.level : body);
    u.crmPerms = { ...(u.crmPerms ?? {}), ...p };
    res.json({ user: userView(u) });
  }));
}
