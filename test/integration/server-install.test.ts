import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { createTokenCipher, setTokenCipher } from '../../src/store/index.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { admin, countPortals, installCallback, portalRow, postForm, startPortal, startTestApp, type Installed, type TestApp } from './server-harness.js';
import { MemoryCrmEventQueue } from '../../src/server/event-queue.js';
import { loadManifest } from '../../manifest/index.js';
import { issueTokens } from '../../src/emulator/tokens.js';

const manifestFields = new Set(loadManifest().fields.fields.map((f) => f.name));

setTokenCipher(createTokenCipher(randomBytes(32)));

eachDb('server install / events / pages', (getDb) => {
  let emu: RunningEmulator;
  let t: TestApp;
  let inst: Installed;

  beforeAll(async () => {
    emu = await startPortal({ contacts: 20 });
    t = await startTestApp(getDb(), { accept: [emu] });
  });
  afterAll(async () => {
    await t?.app.close();
    await emu?.close();
  });

  const ourFields = (entity = 'CRM_CONTACT') => [...emu.portal.userFields.values()].filter((f) => f.entityId === entity && manifestFields.has(f.fieldName)).map((f) => f.fieldName).sort();
  const bindings = () => ({
    placements: emu.portal.placements.filter((p) => p.clientId === t.clientId).map((p) => `${p.placement} ${p.handler}`).sort(),
    events: emu.portal.eventBindings.filter((b) => b.clientId === t.clientId).map((b) => `${b.event} ${b.eventType} ${b.handler}`).sort(),
  });

  it('install callback: portal stored active, tokens encrypted at rest, placements and events bound', async () => {
    inst = await installCallback(emu, t);
    expect(inst.status).toBe(200);
    const row = await portalRow(getDb(), inst.memberId);
    expect(row).toBeDefined();
    expect(row!.status).toBe('active');
    expect(row!.domain).toBe(emu.portal.domain);
    const raw = JSON.stringify(row);
    expect(raw).not.toContain(inst.payload.auth.access_token);
    expect(raw).not.toContain(inst.payload.auth.refresh_token);
    expect(raw).not.toContain(inst.applicationToken);
    expect(String(row!.access_token_enc)).toMatch(/^v1:/);

    // What the portal says, read through the app's own client (real REST with the stored token).
    const client = t.app.deps.clientFor(Number(row!.id));
    const placements = (await client.call('placement.get')) as Array<{ placement: string; handler: string }>;
    expect(placements.map((p) => p.placement).sort()).toEqual(['CRM_COMPANY_DETAIL_TAB', 'CRM_CONTACT_DETAIL_TAB', 'CRM_CONTACT_LIST_TOOLBAR']);
    expect(placements.find((p) => p.placement === 'CRM_COMPANY_DETAIL_TAB')!.handler).toBe(`${t.app.config.publicUrl}/placement/company-tab`);
    expect(placements.find((p) => p.placement === 'CRM_CONTACT_DETAIL_TAB')!.handler).toBe(`${t.app.config.publicUrl}/placement/contact-tab`);
    const events = (await client.call('event.get')) as Array<{ event: string; handler: string; offline: number }>;
    const online = events.filter((e) => e.offline === 0);
    const offline = events.filter((e) => e.offline === 1);
    expect(online.map((e) => e.event).sort()).toEqual(['ONAPPUNINSTALL', 'ONCRMCONTACTADD', 'ONCRMCONTACTDELETE', 'ONCRMCONTACTUPDATE', 'ONCRMDEALADD', 'ONCRMDEALDELETE', 'ONCRMDEALUPDATE']);
    expect(new Set(online.map((e) => e.handler))).toEqual(new Set([`${t.app.config.publicUrl}/events`]));
    expect(offline).toHaveLength(6);
    // the contact user fields of the manifest (write-back's registerFields, called by install)
    expect(ourFields()).toEqual([...manifestFields].sort());
    // and the company fields of the same names (crm.company.userfield.add), but the contacts-only one (saved segment)
    expect(ourFields('CRM_COMPANY')).toEqual([...manifestFields].filter((n) => n !== 'UF_CRM_SEG_SAVED').sort());
    const companyField = [...emu.portal.userFields.values()].find((f) => f.entityId === 'CRM_COMPANY' && f.fieldName === 'UF_CRM_SEG_SEGMENT')!;
    expect(companyField.showFilter).toBe('E'); // SHOW_FILTER Y: usable in the CRM's company filter
  });

  /** ONAPPINSTALL as the portal sends it on a reinstall: the same portal and app, fresh tokens of the installing admin. */
  const freshPayload = () => {
    const tok = issueTokens(emu.portal, t.clientId, 1);
    return { ...inst.payload, auth: { ...inst.payload.auth, access_token: tok.accessToken, refresh_token: tok.refreshToken } };
  };

  it('reinstall is idempotent: a new ONAPPINSTALL binds nothing new; a stale handler is unbound', async () => {
    const before = bindings();
    const again = await postForm(t.http, '/install', freshPayload());
    expect(again.status).toBe(200);
    expect(again.data.report.placements.bound).toEqual([]);
    expect(again.data.report.events.bound).toEqual([]);
    expect(bindings()).toEqual(before);

    // A leftover of an older PUBLIC_URL: unbound on the next install, current ones kept.
    const row = await portalRow(getDb(), inst.memberId);
    const client = t.app.deps.clientFor(Number(row!.id));
    await client.call('placement.bind', { PLACEMENT: 'CRM_CONTACT_DETAIL_TAB', HANDLER: 'http://old.example.com/placement/contact-tab', TITLE: 'old' });
    await client.call('event.bind', { event: 'ONCRMDEALUPDATE', handler: 'http://old.example.com/events' });
    expect(bindings().placements).toHaveLength(4); // the manifest's three and the leftover
    const third = await postForm(t.http, '/install', freshPayload());
    expect(third.status).toBe(200);
    expect(third.data.report.placements.unbound).toEqual(['CRM_CONTACT_DETAIL_TAB http://old.example.com/placement/contact-tab']);
    expect(third.data.report.events.unbound).toEqual(['ONCRMDEALUPDATE http://old.example.com/events']);
    expect(bindings()).toEqual(before);
    expect(ourFields()).toEqual([...manifestFields].sort()); // no duplicate fields either
    expect(await countPortals(getDb())).toBe(1);
  });

  it('bad install payloads → 400 with a reason, nothing stored', async () => {
    const n = await countPortals(getDb());
    const auth = inst.payload.auth;
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['no member_id', { ...inst.payload, auth: { ...auth, member_id: undefined } }, /auth\.member_id/],
      ['no tokens', { ...inst.payload, auth: { ...auth, access_token: undefined, refresh_token: undefined } }, /auth\.access_token/],
      ['malformed domain', { ...inst.payload, auth: { ...auth, member_id: 'f'.repeat(32), domain: 'evil.com/<script>' } }, /auth\.domain/],
      ['endpoint off the portal', { ...inst.payload, auth: { ...auth, member_id: 'e'.repeat(32), client_endpoint: 'http://attacker.example/rest/' } }, /client_endpoint/],
      ['foreign OAuth server', { ...inst.payload, auth: { ...auth, member_id: 'd'.repeat(32), server_endpoint: 'http://attacker.example/rest/' } }, /server_endpoint/],
      ['not ONAPPINSTALL', { ...inst.payload, event: 'ONCRMDEALADD' }, /ONAPPINSTALL/],
    ];
    for (const [name, body, reason] of cases) {
      const r = await postForm(t.http, '/install', body);
      expect(r.status, name).toBe(400);
      expect(r.data.reason, name).toMatch(reason);
    }
    // installer-page form without its fields
    const page = await postForm(t.http, `/install?DOMAIN=${encodeURIComponent(emu.portal.domain)}&PROTOCOL=0`, { AUTH_ID: 'x' });
    expect(page.status).toBe(400);
    expect(page.data.reason).toMatch(/REFRESH_ID|member_id|APPLICATION_TOKEN/);
    // a well-formed install with a token the portal does not know → 401, nothing stored
    const forged = await postForm(t.http, '/install', { ...inst.payload, auth: { ...auth, member_id: 'c'.repeat(32), access_token: 'not-a-real-token-123' } });
    expect(forged.status).toBe(401);
    expect(await countPortals(getDb())).toBe(n);
    expect(await portalRow(getDb(), 'c'.repeat(32))).toBeUndefined();
  });

  it('CRM events are ACKed and queued; forged events → 401 and nothing changes', async () => {
    const q = t.app.events as MemoryCrmEventQueue;
    const a = admin(emu);
    const add = await a.post('crm/crm.contact.add', { fields: { NAME: 'Ada', LAST_NAME: 'Event' } });
    expect(add.status).toBe(200);
    await a.post('events/flush');
    const row = await portalRow(getDb(), inst.memberId);
    const queued = q.peek(Number(row!.id));
    expect(queued.some((e) => e.event === 'ONCRMCONTACTADD' && e.id === Number(add.data.result))).toBe(true);

    const before = q.received;
    const forged = { event: 'ONAPPUNINSTALL', data: { CLEAN: '1' }, auth: { member_id: inst.memberId, application_token: 'wrong-token-0000' } };
    const r1 = await postForm(t.http, '/events', forged);
    expect(r1.status).toBe(401);
    expect(r1.data.error).toBe('UNAUTHORIZED');
    const r2 = await postForm(t.http, '/events', { event: 'ONAPPUNINSTALL', data: { CLEAN: '1' } });
    expect(r2.status).toBe(401);
    const r3 = await postForm(t.http, '/events', { event: 'ONCRMDEALADD', data: { FIELDS: { ID: '5' } }, auth: { member_id: 'a'.repeat(32), application_token: inst.applicationToken } });
    expect(r3.status).toBe(401);
    expect(q.received).toBe(before);
    expect((await portalRow(getDb(), inst.memberId))!.status).toBe('active');
  });

  it('app page and placements: verified APPLICATION_TOKEN → status page framed by the portal only; else 401', async () => {
    const q = `DOMAIN=${encodeURIComponent(emu.portal.domain)}&PROTOCOL=0&LANG=en&APP_SID=abc`;
    const ok = await postForm(t.http, `/app?${q}`, { AUTH_ID: 'x', APPLICATION_TOKEN: inst.applicationToken, member_id: inst.memberId, PLACEMENT: 'DEFAULT' });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/text\/html/);
    expect(ok.headers['content-security-policy']).toContain(`frame-ancestors http://${emu.portal.domain}`);
    expect(ok.data).toContain(emu.portal.domain);
    const tab = await postForm(t.http, `/placement/contact-tab?${q}`, {
      APPLICATION_TOKEN: inst.applicationToken, member_id: inst.memberId, PLACEMENT: 'CRM_CONTACT_DETAIL_TAB', PLACEMENT_OPTIONS: '{"ID":"42"}',
    });
    expect(tab.status).toBe(200);
    expect(tab.data).toContain('#42');
    const list = await t.http.get(`/placement/contact-list?${q}&APPLICATION_TOKEN=${inst.applicationToken}&member_id=${inst.memberId}&PLACEMENT=CRM_CONTACT_LIST_TOOLBAR`);
    expect(list.status).toBe(200);
    // A DOMAIN in the query that is not the portal's does not get to frame the page.
    const spoof = await postForm(t.http, `/app?DOMAIN=evil.example&PROTOCOL=1`, { APPLICATION_TOKEN: inst.applicationToken, member_id: inst.memberId });
    expect(spoof.status).toBe(200);
    expect(spoof.headers['content-security-policy']).not.toContain('evil.example');
    const bad = await postForm(t.http, `/app?${q}`, { APPLICATION_TOKEN: 'nope-nope', member_id: inst.memberId });
    expect(bad.status).toBe(401);
    expect(bad.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect((await t.http.get('/app')).status).toBe(401);
  });

  it('uninstall with CLEAN=0 keeps the data, drops tokens; reinstall brings it back; CLEAN=1 deletes everything', async () => {
    const db = getDb();
    const id = Number((await portalRow(db, inst.memberId))!.id);
    await db.query(`INSERT INTO contacts (portal_id, id, name) VALUES ($1, 1, 'kept')`, [id]);
    const a = admin(emu);
    const u0 = await a.post(`apps/${t.clientId}/uninstall`, { clean: false });
    expect(u0.status).toBe(200);
    expect(u0.data.deliveries[0].status).toBe(200);
    let row = await portalRow(db, inst.memberId);
    expect(row!.status).toBe('uninstalled');
    expect(row!.access_token_enc).toBeNull();
    expect(row!.refresh_token_enc).toBeNull();
    expect(row!.application_token_hash).toBeNull();
    expect((await db.query('SELECT * FROM contacts WHERE portal_id = $1', [id])).rows).toHaveLength(1);
    // old application_token no longer opens anything
    const stale = await postForm(t.http, '/app', { APPLICATION_TOKEN: inst.applicationToken, member_id: inst.memberId });
    expect(stale.status).toBe(401);

    inst = await installCallback(emu, t);
    row = await portalRow(db, inst.memberId);
    expect(row!.status).toBe('active');
    expect(Number(row!.id)).toBe(id);
    expect((await db.query('SELECT * FROM contacts WHERE portal_id = $1', [id])).rows).toHaveLength(1);
    expect(bindings().placements).toHaveLength(3); // the manifest's placements
    expect(bindings().events).toHaveLength(13);

    const u1 = await a.post(`apps/${t.clientId}/uninstall`, { clean: true });
    expect(u1.data.deliveries[0].status).toBe(200);
    expect(await portalRow(db, inst.memberId)).toBeUndefined();
    expect((await db.query('SELECT * FROM contacts WHERE portal_id = $1', [id])).rows).toHaveLength(0);
  });
});
