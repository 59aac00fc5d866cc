/**
 * CRM access permissions of the emulated portal (Bitrix24 CRM roles, CCrmPerms).
 *
 * Each user has one level per entity (contact, company, deal; `UserRec.crmPerms`):
 *   ''  none      — lists and gets answer "Access denied."
 *   'A' own       — records whose responsible (ASSIGNED_BY_ID) is the user
 *   'D' department — own + records of users sharing one of the user's departments
 *   'F' department + subdepartments — D plus users of every department below the user's
 *   'O' all open  — F plus every record with OPENED=Y
 *   'X' all
 * Portal administrators and the emulator's internal calls (`/_emulator/call`) see everything.
 * A user without a recorded role (hand-made users, old state files) reads everything ('X'),
 * as the emulator did before roles existed.
 *
 * Applied to every call made with a user's token (OAuth or webhook):
 *   - list methods silently leave out what the user may not read (rows and `total`);
 *   - get/update/delete of such a record: legacy methods 400 `""` "Access denied.",
 *     crm.item.* 400 `ACCESS_DENIED` "Access denied." (crm-contact-get.md, crm-item-get.md,
 *     crm-item-update.md); a user with level '' gets the same error from list and add.
 * Write and delete use the read level (the emulator keeps one level per entity).
 * Batch commands run through the same method handlers, so each command is checked alike.
 */
import type { CrmPermEntity, CrmPermLevel, CrmPerms, UserRec } from './model.js';
import type { Portal } from './portal.js';
import { RestError, type CallAuth } from './types.js';

export const PERM_LEVELS: readonly CrmPermLevel[] = ['', 'A', 'D', 'F', 'O', 'X'];
export const PERM_ENTITIES: readonly CrmPermEntity[] = ['contact', 'company', 'deal'];

/** Anything with a responsible user and the "available to everyone" flag. */
export interface Owned {
  assignedById: number;
  opened: boolean;
}

/** What a caller may read of one entity type: null = everything. */
export type ReadScope = null | { none: true } | { none: false; users: ReadonlySet<number>; open: boolean };

/** The level a user's role gives for an entity (admins: 'X'). */
export function levelOf(user: UserRec | undefined, entity: CrmPermEntity): CrmPermLevel {
  if (!user || user.isAdmin) return 'X';
  // a role without its own lead level (older state files, the generator's roles) reads leads as contacts
  return user.crmPerms?.[entity] ?? (entity === 'lead' ? user.crmPerms?.contact : undefined) ?? 'X';
}

/** Department IDs at or below the given ones. */
export function departmentsBelow(p: Portal, roots: readonly number[]): Set<number> {
  const out = new Set<number>(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const d of p.departments.values()) {
      if (d.parentId !== null && out.has(d.parentId) && !out.has(d.id)) {
        out.add(d.id);
        grew = true;
      }
    }
  }
  return out;
}

/** Users whose records a level lets `user` see (own, department, department tree). */
function usersInScope(p: Portal, user: UserRec, level: CrmPermLevel): Set<number> {
  const ids = new Set<number>([user.id]);
  if (level === 'A') return ids;
  const depts = level === 'D' ? new Set(user.departmentIds) : departmentsBelow(p, user.departmentIds);
  for (const u of p.users.values()) if (u.departmentIds.some((d) => depts.has(d))) ids.add(u.id);
  return ids;
}

/** The read scope of a caller for an entity type. */
export function readScope(p: Portal, auth: CallAuth, entity: CrmPermEntity): ReadScope {
  if (auth.kind === 'internal' || auth.isAdmin) return null;
  const user = p.users.get(auth.userId);
  const level = levelOf(user, entity);
  if (level === 'X' || !user) return null;
  if (level === '') return { none: true };
  return { none: false, users: usersInScope(p, user, level), open: level === 'O' };
}

export function inScope(scope: ReadScope, rec: Owned): boolean {
  if (scope === null) return true;
  if (scope.none) return false;
  return scope.users.has(rec.assignedById) || (scope.open && rec.opened);
}

export type DeniedStyle = 'legacy' | 'item';

export function accessDenied(style: DeniedStyle): RestError {
  return style === 'legacy' ? new RestError('', 'Access denied.', 400) : new RestError('ACCESS_DENIED', 'Access denied.', 400);
}

/**
 * The list predicate for a caller (null = no restriction). A caller with no access at all
 * gets the error the portal answers a list with.
 */
export function listVisibility(p: Portal, auth: CallAuth, entity: CrmPermEntity, style: DeniedStyle): ((r: Owned) => boolean) | null {
  const scope = readScope(p, auth, entity);
  if (scope === null) return null;
  if (scope.none) throw accessDenied(style);
  return (r) => inScope(scope, r);
}

/** Throws the portal's access error unless the caller may read (and so change) `rec`. */
export function assertAccess(p: Portal, auth: CallAuth, entity: CrmPermEntity, rec: Owned, style: DeniedStyle): void {
  if (!inScope(readScope(p, auth, entity), rec)) throw accessDenied(style);
}

/** Throws unless the caller has some access to the entity type (add). */
export function assertAnyAccess(p: Portal, auth: CallAuth, entity: CrmPermEntity, style: DeniedStyle): void {
  const s = readScope(p, auth, entity);
  if (s !== null && s.none) throw accessDenied(style);
}

/** Parses a level as written in the admin API / CLI ('none' and '-' mean ''). */
export function parseLevel(v: string): CrmPermLevel | null {
  const s = v.trim().toUpperCase();
  if (s === '' || s === 'NONE' || s === '-') return '';
  return (PERM_LEVELS as readonly string[]).includes(s) ? (s as CrmPermLevel) : null;
}

/** The same level for every entity. */
export function uniformPerms(level: CrmPermLevel): CrmPerms {
  return { contact: level, company: level, deal: level };
}
