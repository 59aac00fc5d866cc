// Tiny portal builders for the emulator-methods tests.
import { Portal } from '../../src/emulator/portal.js';
import { PortalClock } from '../../src/emulator/clock.js';
import type { CallContext, CallAuth } from '../../src/emulator/types.js';
import type { AppRec, StatusRec } from '../../src/emulator/model.js';
import { addContact, addDeal } from '../../src/emulator/methods/data.js';

export const T0 = Date.UTC(2024, 7, 15, 7, 38, 21); // 2024-08-15T10:38:21+03:00

export function mkPortal(tz = 'Europe/Moscow'): Portal {
  const p = new Portal({ clock: new PortalClock(T0, 1, () => 0), timeZone: tz, memberId: 'm1' });
  p.users.set(1, { id: 1, active: true, name: 'Ann', lastName: 'Admin', email: 'a@x.io', isAdmin: true, timeZone: tz, departmentIds: [1], workPosition: null, personalGender: 'F' });
  p.users.set(2, { id: 2, active: true, name: 'Bob', lastName: 'User', email: 'b@x.io', isAdmin: false, timeZone: tz, departmentIds: [1], workPosition: 'Sales', personalGender: 'M' });
  const st = (entityId: string, statusId: string, sort: number, semantics: StatusRec['semantics'], categoryId: number | null = null) =>
    p.statuses.push({ id: p.nextId('status'), entityId, statusId, name: statusId, sort, system: true, categoryId, color: null, semantics });
  st('DEAL_STAGE', 'NEW', 10, null, 0); st('DEAL_STAGE', 'PREPARATION', 20, null, 0); st('DEAL_STAGE', 'WON', 30, 'S', 0);
  st('DEAL_STAGE', 'LOSE', 40, 'F', 0); st('DEAL_STAGE', 'APOLOGY', 50, 'F', 0);
  st('DEAL_STAGE_1', 'C1:NEW', 10, null, 1); st('DEAL_STAGE_1', 'C1:WON', 20, 'S', 1); st('DEAL_STAGE_1', 'C1:LOSE', 30, 'F', 1);
  st('SOURCE', 'WEB', 10, null); st('CONTACT_TYPE', 'CLIENT', 10, null);
  p.categories.push({ id: 0, entityTypeId: 2, name: 'General', sort: 100, isDefault: true }, { id: 1, entityTypeId: 2, name: 'Wholesale', sort: 200, isDefault: false });
  p.currencies.push({ currency: 'USD', amountCnt: 1, amount: 1, sort: 100, base: true, fullName: 'US Dollar', dateUpdate: T0 });
  const app: AppRec = {
    clientId: 'local.abc.123', clientSecret: 's', code: 'seg', version: 1, appUrl: 'https://app/', installUrl: null,
    scopes: ['crm', 'placement', 'user', 'bizproc'], status: 'L', installed: true, applicationToken: 'apptok', paymentExpired: false, options: {}, userOptions: {},
  };
  p.apps.set(app.clientId, app);
  return p;
}

export function ctxOf(p: Portal, over: Partial<CallAuth> = {}): CallContext {
  const auth: CallAuth = { kind: 'oauth', userId: 1, isAdmin: true, clientId: 'local.abc.123', scopes: new Set(['crm', 'placement', 'user', 'bizproc']), ...over };
  return { portal: p, auth, now: p.clock.now() };
}

export function seedContacts(p: Portal, n: number): void {
  for (let i = 1; i <= n; i++) {
    addContact(p, {
      name: `Name${i}`, lastName: i % 2 ? 'Odd' : 'Even', dateCreate: T0 - (n - i) * 86400_000, dateModify: T0,
      fm: i % 3 === 0 ? [{ id: p.nextId('multifield'), typeId: 'PHONE', valueType: 'WORK', value: `+100${i}` }] : [],
    }, 1);
  }
}

export function seedDeals(p: Portal, n: number): void {
  for (let i = 1; i <= n; i++) {
    addDeal(p, { title: `Deal ${i}`, opportunity: i * 100, stageId: i % 2 ? 'WON' : 'NEW', contactIds: i % 4 === 0 ? [2, 1] : [1], beginDate: '2024-01-01', closeDate: `2024-02-${String((i % 28) + 1).padStart(2, '0')}` }, 1);
  }
}
