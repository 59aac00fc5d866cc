/** Step: the company structure and its users (the owner, the sales team, one former employee). */
import type { UserRec } from '../model.js';
import { uniformPerms } from '../perms.js';
import type { GenContext } from './context.js';
import type { Rng } from './random.js';

const MANAGER_NAMES: Array<[string, string, 'M' | 'F']> = [
  ['Dmitry', 'Orlov', 'M'], ['Emily', 'Carter', 'F'], ['Olga', 'Belova', 'F'], ['Michael', 'Turner', 'M'],
  ['Ksenia', 'Volkova', 'F'], ['Daniel', 'Wright', 'M'], ['Pavel', 'Egorov', 'M'], ['Sophie', 'Adams', 'F'],
];

export function addUsers(ctx: GenContext): void {
  const { portal, opts } = ctx;
  const nManagers = Math.max(1, opts.managers ?? 5);
  // Company structure: the company (1) with the sales department (2) below it.
  if (!portal.departments.has(1)) portal.departments.set(1, { id: 1, name: 'Company', parentId: null });
  if (!portal.departments.has(2)) portal.departments.set(2, { id: 2, name: 'Sales', parentId: 1 });
  const headPerms = uniformPerms(opts.headAccess ?? 'F');
  const managerPerms = uniformPerms(opts.managerAccess ?? 'A');
  const userDefs: UserRec[] = [{
    id: 1, active: true, name: 'Victoria', lastName: 'Sokolova', email: 'owner@example.com', isAdmin: true,
    timeZone: portal.timeZone, departmentIds: [1], workPosition: 'Portal owner, CEO', personalGender: 'F',
    crmPerms: uniformPerms('X'),
  }];
  for (let m = 0; m < nManagers; m++) {
    const [fn, ln, g] = MANAGER_NAMES[m % MANAGER_NAMES.length] ?? ['Sales', 'Manager', ''];
    userDefs.push({
      id: m + 2, active: true, name: fn, lastName: m < MANAGER_NAMES.length ? ln : `${ln} ${m + 1}`,
      email: `${fn.toLowerCase()}.${ln.toLowerCase()}${m < MANAGER_NAMES.length ? '' : m + 1}@example.com`,
      isAdmin: false, timeZone: portal.timeZone, departmentIds: [2],
      workPosition: m === 0 ? 'Head of sales' : 'Sales manager', personalGender: g,
      crmPerms: { ...(m === 0 ? headPerms : managerPerms) },
    });
  }
  const exId = nManagers + 2;
  userDefs.push({
    id: exId, active: false, name: 'Igor', lastName: 'Frolov', email: 'igor.frolov@example.com', isAdmin: false,
    timeZone: portal.timeZone, departmentIds: [2], workPosition: 'Sales manager (former)', personalGender: 'M',
    crmPerms: { ...managerPerms },
  });
  // DATE_REGISTER: everyone joined when the history starts (derived, no random draw)
  for (const u of userDefs) if (!portal.users.has(u.id)) portal.users.set(u.id, { ...u, dateRegister: ctx.start });
  portal.bumpId('user', exId);
  const managerIds = userDefs.filter((u) => u.id !== 1 && u.active).map((u) => u.id);
  const managerW = managerIds.map((_, i) => (i === 0 ? 0.6 : 1 + (i % 3) * 0.4));
  ctx.staff = { managerIds, managerW, exId };
}

/**
 * Responsible user of a record created at t: early in the history often the former employee,
 * sometimes the owner, else a manager by weight.
 */
export function assignUser(ctx: GenContext, r: Rng, t: number): number {
  const { start, now, staff } = ctx;
  if (t < start + (now - start) * 0.4 && r.chance(0.25)) return staff.exId;
  if (r.chance(0.05)) return 1;
  return r.weighted(staff.managerIds, staff.managerW);
}
