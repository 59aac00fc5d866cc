/**
 * CRM access permissions of the emulated portal (src/emulator/perms.ts): per-user role levels
 * (none, own, department, department + subdepartments, all open, all) applied to every read and
 * change made with a user's token — lists filter silently (rows and total), get/update/delete
 * answer the portal's "Access denied." — with admins and internal calls seeing everything; the
 * same rules per batch command, over OAuth and webhooks; the admin API and the generator
 * defaults; state files keep roles and departments.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { callMethod } from '../../src/emulator/methods/index.js';
import type { CrmPermLevel, CrmPermEntity } from '../../src/emulator/model.js';
import { uniformPerms } from '../../src/emulator/perms.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { loadPortal, savePortal } from '../../src/emulator/state.js';
import { issueTokens } from '../../src/emulator/tokens.js';
import { RestError, type CallContext, type Params } from '../../src/emulator/types.js';

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
type Row = Record<string, unknown>;

function genPortal(): Portal {
  const p = new Portal({ clock: new PortalClock(T0, 1, () => 0), memberId: 'perm-portal' });
  generatePortal(p, { contacts: 300, seed: 5 });
  return p;
}

function ctxFor(p: Portal, userId: number, kind: 'oauth' | 'webhook' | 'internal' = 'oauth'): CallContext {
  const u = p.users.get(userId);
  return { portal: p, now: p.clock.now(), auth: { kind, userId, isAdmin: kind === 'internal' || (u?.isAdmin ?? false), clientId: kind === 'oauth' ? 'app' : null, scopes: new Set(['crm', 'user']) } };
}

/** Every ID a list method returns over all its pages, and the total it reported. */
function listAll(ctx: CallContext, method: string, params: Params = {}): { ids: number[]; total: number } {
  const ids: number[] = [];
  let start: number | undefined = 0;
  let total = -1;
  while (start !== undefined) {
    const r = callMethod(ctx, method, { ...params, start });
    const rows = Array.isArray(r.result) ? (r.result as Row[]) : ((r.result as { items: Row[] }).items);
    for (const x of rows) ids.push(Number(x['ID'] ?? x['id']));
    if (total === -1) total = r.total ?? -1;
    start = r.next;
  }
  return { ids, total };
}

function err(fn: () => unknown): RestError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RestError) return e;
    throw e;
  }
  throw new Error('expected a RestError');
}
const shape = (e: RestError): [string, string, number] => [e.code, e.description, e.status];

const idsOf = (m: Map<number, { id: number; assignedById: number; opened: boolean }>, pred: (r: { assignedById: number; opened: boolean }) => boolean): number[] =>
  [...m.values()].filter(pred).map((r) => r.id).sort((a, b) => a - b);

function setLevel(p: Portal, userId: number, level: CrmPermLevel, entity?: CrmPermEntity): void {
  const u = p.users.get(userId)!;
  u.crmPerms = entity ? { ...(u.crmPerms ?? {}), [entity]: level } : uniformPerms(level);
}

describe('emulator CRM permissions: the method layer', () => {
  it('generated portal: admin X, head of sales F, managers A (own)', () => {
    const p = genPortal();
    expect(p.users.get(1)).toMatchObject({ isAdmin: true, departmentIds: [1] });
    expect(p.users.get(2)!.crmPerms).toEqual({ contact: 'F', company: 'F', deal: 'F' });
    for (const id of [3, 4, 5, 6, 7]) expect(p.users.get(id)!.crmPerms).toEqual({ contact: 'A', company: 'A', deal: 'A' });
    expect([...p.departments.values()]).toEqual([{ id: 1, name: 'Company', parentId: null }, { id: 2, name: 'Sales', parentId: 1 }]);
    const q = new Portal({ clock: new PortalClock(T0, 1, () => 0) });
    generatePortal(q, { contacts: 10, seed: 5, managerAccess: 'D', headAccess: 'X' });
    expect(q.users.get(2)!.crmPerms?.deal).toBe('X');
    expect(q.users.get(4)!.crmPerms?.contact).toBe('D');
  });

  it('own (A): contact, deal and company lists — legacy and crm.item — hold only the user\'s records, total included', () => {
    const p = genPortal();
    const own = idsOf(p.contacts, (r) => r.assignedById === 3);
    expect(own.length).toBeGreaterThan(10);
    expect(own.length).toBeLessThan(p.contacts.size / 2);
    const c = ctxFor(p, 3);
    for (const [method, params, table] of [
      ['crm.contact.list', {}, p.contacts], ['crm.item.list', { entityTypeId: 3 }, p.contacts],
      ['crm.deal.list', {}, p.deals], ['crm.item.list', { entityTypeId: 2 }, p.deals],
      ['crm.company.list', {}, p.companies], ['crm.item.list', { entityTypeId: 4 }, p.companies],
    ] as const) {
      const want = idsOf(table, (r) => r.assignedById === 3);
      const got = listAll(c, method, params);
      expect(got.ids.sort((a, b) => a - b), `${method} ${JSON.stringify(params)}`).toEqual(want);
      expect(got.total).toBe(want.length);
    }
    // a filter still applies on top of the permission: >ID, and an order by another field
    const mid = own[Math.floor(own.length / 2)]!;
    const f = listAll(c, 'crm.contact.list', { filter: { '>ID': mid }, order: { DATE_CREATE: 'DESC' } });
    expect(f.ids.sort((a, b) => a - b)).toEqual(own.filter((id) => id > mid));
    // a page of IDs asked with @ID (what the app's UI does): the others' IDs silently drop out
    const page = [...p.contacts.keys()].slice(0, 50);
    const r = callMethod(c, 'crm.contact.list', { filter: { '@ID': page }, select: ['ID'], start: -1 });
    expect((r.result as Row[]).map((x) => Number(x['ID']))).toEqual(page.filter((id) => p.contacts.get(id)!.assignedById === 3));
  });

  it('department (D) vs department + subdepartments (F) vs all open (O) vs none', () => {
    const p = genPortal();
    // Sales East (3) under Sales (2): manager 4 moves there
    p.departments.set(3, { id: 3, name: 'Sales East', parentId: 2 });
    p.users.get(4)!.departmentIds = [3];
    const c2 = ctxFor(p, 2);
    const sales = new Set([2, 3, 5, 6, 7]); // users of department 2 itself
    const f = listAll(c2, 'crm.contact.list');
    expect(f.ids.sort((a, b) => a - b)).toEqual(idsOf(p.contacts, (r) => r.assignedById !== 1));
    setLevel(p, 2, 'D');
    const d = listAll(c2, 'crm.contact.list');
    const wantD = idsOf(p.contacts, (r) => sales.has(r.assignedById));
    expect(d.ids.sort((a, b) => a - b)).toEqual(wantD);
    expect(d.total).toBe(wantD.length);
    expect(idsOf(p.contacts, (r) => r.assignedById === 4).length).toBeGreaterThan(0); // D really hides someone F shows
    // O: own + department tree + every opened record
    setLevel(p, 3, 'O');
    for (const r of p.contacts.values()) r.opened = false;
    const adminsOpen = idsOf(p.contacts, (r) => r.assignedById === 1)[0]!;
    p.contacts.get(adminsOpen)!.opened = true;
    const o = listAll(ctxFor(p, 3), 'crm.contact.list');
    // (user 3 is in Sales; Sales East below it counts, the admin's records only when opened)
    const wantO = idsOf(p.contacts, (r) => r.assignedById !== 1 || r.opened);
    expect(wantO).toContain(adminsOpen);
    expect(o.ids.sort((a, b) => a - b)).toEqual(wantO);
    expect(o.total).toBe(wantO.length);
    // none: lists and adds are refused like the portal does
    setLevel(p, 5, '');
    const c5 = ctxFor(p, 5);
    expect(shape(err(() => callMethod(c5, 'crm.contact.list', {})))).toEqual(['', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c5, 'crm.item.list', { entityTypeId: 2 })))).toEqual(['ACCESS_DENIED', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c5, 'crm.contact.add', { fields: { NAME: 'x' } })))).toEqual(['', 'Access denied.', 400]);
    // per entity: contacts none, deals still own
    setLevel(p, 6, '', 'contact');
    expect(listAll(ctxFor(p, 6), 'crm.deal.list').ids.sort((a, b) => a - b)).toEqual(idsOf(p.deals, (r) => r.assignedById === 6));
  });

  it('get / update / delete of a record the user may not read: "Access denied.", nothing changes; own records work', () => {
    const p = genPortal();
    const c = ctxFor(p, 3);
    const mine = [...p.contacts.values()].find((r) => r.assignedById === 3)!;
    const other = [...p.contacts.values()].find((r) => r.assignedById === 4)!;
    const otherDeal = [...p.deals.values()].find((r) => r.assignedById === 4)!;
    const otherCompany = [...p.companies.values()].find((r) => r.assignedById !== 3)!;
    expect((callMethod(c, 'crm.contact.get', { id: mine.id }).result as Row)['ID']).toBe(String(mine.id));
    expect(((callMethod(c, 'crm.item.get', { entityTypeId: 3, id: mine.id }).result as { item: Row }).item)['id']).toBe(mine.id);
    expect(shape(err(() => callMethod(c, 'crm.contact.get', { id: other.id })))).toEqual(['', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c, 'crm.deal.get', { id: otherDeal.id })))).toEqual(['', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c, 'crm.company.get', { id: otherCompany.id })))).toEqual(['', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c, 'crm.deal.contact.items.get', { id: otherDeal.id })))).toEqual(['', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c, 'crm.deal.productrows.get', { id: otherDeal.id })))).toEqual(['', 'Access denied.', 400]);
    for (const t of [3, 2, 4]) {
      const rec = t === 3 ? other : t === 2 ? otherDeal : otherCompany;
      expect(shape(err(() => callMethod(c, 'crm.item.get', { entityTypeId: t, id: rec.id })))).toEqual(['ACCESS_DENIED', 'Access denied.', 400]);
    }
    // a missing record is still "not found", not "access denied"
    expect(shape(err(() => callMethod(c, 'crm.contact.get', { id: 999_999 })))).toEqual(['', 'Not found', 400]);
    expect(err(() => callMethod(c, 'crm.item.get', { entityTypeId: 3, id: 999_999 })).code).toBe('NOT_FOUND');
    // updates and deletes
    const before = JSON.stringify(other);
    expect(shape(err(() => callMethod(c, 'crm.contact.update', { id: other.id, fields: { NAME: 'Hacked' } })))).toEqual(['', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c, 'crm.item.update', { entityTypeId: 3, id: other.id, fields: { name: 'Hacked' } })))).toEqual(['ACCESS_DENIED', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c, 'crm.item.update', { entityTypeId: 2, id: otherDeal.id, fields: { title: 'Hacked' } })))).toEqual(['ACCESS_DENIED', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c, 'crm.deal.update', { id: otherDeal.id, fields: { TITLE: 'Hacked' } })))).toEqual(['', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c, 'crm.contact.delete', { id: other.id })))).toEqual(['', 'Access denied.', 400]);
    expect(shape(err(() => callMethod(c, 'crm.item.delete', { entityTypeId: 2, id: otherDeal.id })))).toEqual(['ACCESS_DENIED', 'Access denied.', 400]);
    expect(JSON.stringify(p.contacts.get(other.id))).toBe(before);
    expect(p.deals.get(otherDeal.id)!.title).not.toBe('Hacked');
    callMethod(c, 'crm.contact.update', { id: mine.id, fields: { NAME: 'Mine' } });
    expect(p.contacts.get(mine.id)!.name).toBe('Mine');
    // product rows of deals the user may not read drop out of crm.item.productrow.list
    const ownWon = [...p.deals.values()].find((d) => d.assignedById === 3 && (p.productRows.get(d.id)?.length ?? 0) > 0)!;
    const otherWon = [...p.deals.values()].find((d) => d.assignedById === 4 && (p.productRows.get(d.id)?.length ?? 0) > 0)!;
    const rows = callMethod(c, 'crm.item.productrow.list', { filter: { '=ownerType': 'D', '=ownerId': [ownWon.id, otherWon.id] } }).result as { productRows: Row[] };
    expect(new Set(rows.productRows.map((r) => r['ownerId']))).toEqual(new Set([ownWon.id]));
  });

  it('admins and internal calls see everything, whatever role is recorded; users without a role read all (old portals)', () => {
    const p = genPortal();
    setLevel(p, 1, 'A'); // ignored for an admin
    expect(listAll(ctxFor(p, 1), 'crm.contact.list').total).toBe(p.contacts.size);
    expect(listAll(ctxFor(p, 3, 'internal'), 'crm.item.list', { entityTypeId: 2 }).total).toBe(p.deals.size);
    delete p.users.get(4)!.crmPerms;
    expect(listAll(ctxFor(p, 4), 'crm.contact.list').total).toBe(p.contacts.size);
    const other = [...p.contacts.values()].find((r) => r.assignedById === 5)!;
    expect((callMethod(ctxFor(p, 1), 'crm.contact.get', { id: other.id }).result as Row)['ID']).toBe(String(other.id));
  });
});

describe('emulator CRM permissions over HTTP: OAuth, webhooks, batch, admin API, state', () => {
  let emu: RunningEmulator;
  let p: Portal;
  let rest: string;
  let adminTok: string;
  let mgrTok: string;
  const hookSecret = 'mgr3hooksecret';
  const post = async (url: string, body: unknown): Promise<{ status: number; body: any }> => {
    const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const t = await r.text();
    return { status: r.status, body: t ? JSON.parse(t) : null };
  };
  const patch = async (url: string, body: unknown): Promise<{ status: number; body: any }> => {
    const r = await fetch(url, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };

  beforeAll(async () => {
    p = genPortal();
    emu = await startEmulator({ portal: p, port: 0, hostPage: false, log: () => {} });
    rest = `${emu.url}rest/`;
    const ins = await post(`${emu.url}_emulator/apps/install`, { appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user'], mode: 'wizard', clientId: 'local.perm.app', clientSecret: 's' });
    expect(ins.status).toBe(201);
    adminTok = issueTokens(p, 'local.perm.app', 1).accessToken;
    mgrTok = issueTokens(p, 'local.perm.app', 3).accessToken;
    p.webhooks.push({ userId: 3, secret: hookSecret, scopes: ['crm'] });
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('OAuth and webhook calls of a manager see their own contacts; the admin\'s token sees all', async () => {
    const own = idsOf(p.contacts, (r) => r.assignedById === 3);
    const a = await post(`${rest}crm.contact.list`, { auth: adminTok, select: ['ID'] });
    expect(a.body.total).toBe(p.contacts.size);
    const m = await post(`${rest}crm.contact.list`, { auth: mgrTok, select: ['ID'] });
    expect(m.body.total).toBe(own.length);
    expect(m.body.result.map((x: Row) => Number(x['ID']))).toEqual(own.slice(0, 50));
    const h = await post(`${rest}${3}/${hookSecret}/crm.item.list`, { entityTypeId: 3, select: ['id'] });
    expect(h.body.total).toBe(own.length);
    const other = idsOf(p.contacts, (r) => r.assignedById === 5)[0]!;
    const g = await post(`${rest}crm.contact.get`, { auth: mgrTok, id: other });
    expect([g.status, g.body.error, g.body.error_description]).toEqual([400, '', 'Access denied.']);
    const gi = await post(`${rest}3/${hookSecret}/crm.item.get`, { entityTypeId: 3, id: other });
    expect([gi.status, gi.body.error]).toEqual([400, 'ACCESS_DENIED']);
  });

  it('batch applies the rules per command', async () => {
    const mine = idsOf(p.contacts, (r) => r.assignedById === 3)[0]!;
    const other = idsOf(p.contacts, (r) => r.assignedById === 6)[0]!;
    const cmd = {
      list: 'crm.contact.list?select[]=ID',
      deals: 'crm.item.list?entityTypeId=2&select[]=id',
      mine: `crm.contact.get?id=${mine}`,
      other: `crm.contact.get?id=${other}`,
      otherItem: `crm.item.get?entityTypeId=3&id=${other}`,
    };
    const m = await post(`${rest}batch`, { auth: mgrTok, halt: 0, cmd });
    expect(m.status).toBe(200);
    const r = m.body.result;
    expect(r.result_total.list).toBe(idsOf(p.contacts, (x) => x.assignedById === 3).length);
    expect(r.result_total.deals).toBe(idsOf(p.deals, (x) => x.assignedById === 3).length);
    expect(r.result.mine.ID).toBe(String(mine));
    expect(r.result_error.other).toEqual({ error: '', error_description: 'Access denied.' });
    expect(r.result_error.otherItem).toEqual({ error: 'ACCESS_DENIED', error_description: 'Access denied.' });
    const a = await post(`${rest}batch`, { auth: adminTok, halt: 0, cmd });
    expect(a.body.result.result_total.list).toBe(p.contacts.size);
    expect(a.body.result.result.other.ID).toBe(String(other));
    expect(a.body.result.result_error).toEqual([]);
  });

  it('admin API: list users with their levels, change a user\'s role and department, add users and departments; bad input 4xx', async () => {
    const base = `${emu.url}_emulator/`;
    const users = (await (await fetch(`${base}users`)).json()) as { users: Array<{ id: number; crmPerms: Row; departmentIds: number[] }> };
    expect(users.users.find((u) => u.id === 1)!.crmPerms).toEqual({ contact: 'X', company: 'X', deal: 'X' });
    expect(users.users.find((u) => u.id === 3)!.crmPerms).toEqual({ contact: 'A', company: 'A', deal: 'A' });
    const total = async (tok: string) => (await post(`${rest}crm.contact.list`, { auth: tok, select: ['ID'] })).body.total as number;
    // user 4 (own) → department level for contacts only
    const tok4 = issueTokens(p, 'local.perm.app', 4).accessToken;
    expect(await total(tok4)).toBe(idsOf(p.contacts, (r) => r.assignedById === 4).length);
    const ch = await post(`${base}users/4/crm-perms`, { contact: 'D' });
    expect(ch.status).toBe(200);
    expect(ch.body.user.crmPerms).toEqual({ contact: 'D', company: 'A', deal: 'A' });
    expect(await total(tok4)).toBe(idsOf(p.contacts, (r) => r.assignedById !== 1).length);
    // a new department moves user 4 out of Sales: back to own + nobody else there
    const dep = await post(`${base}departments`, { name: 'Export desk', parentId: 1 });
    expect(dep.status).toBe(201);
    expect((await patch(`${base}users/4`, { departmentIds: [dep.body.department.id] })).status).toBe(200);
    expect(await total(tok4)).toBe(idsOf(p.contacts, (r) => r.assignedById === 4).length);
    // none, then all
    expect((await post(`${base}users/4/crm-perms`, { level: 'none' })).status).toBe(200);
    const denied = await post(`${rest}crm.contact.list`, { auth: tok4 });
    expect([denied.status, denied.body.error_description]).toEqual([400, 'Access denied.']);
    expect((await post(`${base}users/4/crm-perms`, { level: 'X' })).status).toBe(200);
    expect(await total(tok4)).toBe(p.contacts.size);
    // a new user: default own-records role, assigned nothing yet
    const nu = await post(`${base}users`, { name: 'New', lastName: 'Hire', departmentIds: [2] });
    expect(nu.status).toBe(201);
    expect(nu.body.user.crmPerms).toEqual({ contact: 'A', company: 'A', deal: 'A' });
    expect(await total(issueTokens(p, 'local.perm.app', nu.body.user.id).accessToken)).toBe(0);
    // bad input
    expect((await post(`${base}users/4/crm-perms`, { level: 'Z' })).status).toBe(400);
    expect((await post(`${base}users/4/crm-perms`, { contact: 'A', lead: 'A' })).status).toBe(400);
    expect((await post(`${base}users/999/crm-perms`, { level: 'A' })).status).toBe(404);
    expect((await patch(`${base}users/4`, { departmentIds: [777] })).status).toBe(404);
    expect((await post(`${base}users`, { id: 3 })).status).toBe(409);
    expect((await post(`${base}departments`, { name: 'x', parentId: 555 })).status).toBe(404);
  });

  it('a saved and reloaded portal keeps roles and departments', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'perm-state-')), 'portal.json');
    await savePortal(p, file);
    const q = await loadPortal(file);
    expect(q.users.get(3)!.crmPerms).toEqual(p.users.get(3)!.crmPerms);
    expect([...q.departments.values()]).toEqual([...p.departments.values()]);
    const c = ctxFor(q, 3);
    expect(listAll(c, 'crm.contact.list').total).toBe(idsOf(q.contacts, (r) => r.assignedById === 3).length);
  });
});
