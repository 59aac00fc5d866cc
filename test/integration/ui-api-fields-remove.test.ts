/**
 * "Remove the app's fields" and "re-create the fields" (POST /api/ui/settings/fields/remove|restore)
 * over real HTTP against two emulated portals. Read back from the emulators: the fields and every
 * contact's values are gone from the portal that asked, the other portal keeps all of its; while
 * removed, a write-back writes and creates nothing; re-creating brings them back and the next
 * write-back fills them. As an attacker: non-admins, a forged session, another portal's admin,
 * no / wrong / nested / extra confirmation, an oversize body, a write-back running, repeats past
 * the rate limit.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { createTokenCipher, setTokenCipher, upsertPortalOnInstall } from '../../src/store/index.js';
import { loadManifest } from '../../manifest/index.js';
import { registerFields } from '../../src/writeback/fields.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { runScoring } from '../../src/pipeline/score.js';
import { signSession } from '../../src/server/ui-api/session.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { eachDb, resetDb, type Db } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';
import { startUiServer, type UiTestServer } from './helpers/ui-server.js';

const TS = 200;
let tpA: TestPortal;
let tpB: TestPortal;
const manifest = loadManifest().fields;
/** how many of our fields each entity carries, from the manifest */
const perEntity = (e: 'contact' | 'company') => manifest.fields.filter((f) => !f.entities || f.entities.includes(e)).length;

beforeAll(async () => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
  [tpA, tpB] = await Promise.all([
    startTestPortal({ contacts: 40, deals: 120, seed: 21, timeScale: TS }),
    startTestPortal({ contacts: 30, deals: 90, seed: 22, timeScale: TS }),
  ]);
}, 60_000);
afterAll(async () => {
  await tpA?.emu.close();
  await tpB?.emu.close();
});

/** Our fields on an emulated portal, read from the emulator's own state: entity → count. */
function ourFields(tp: TestPortal): { contact: number; company: number } {
  const out = { contact: 0, company: 0 };
  for (const f of tp.emu.portal.userFields.values()) {
    if (!f.fieldName.startsWith('UF_CRM_SEG_')) continue;
    if (f.entityId === 'CRM_CONTACT') out.contact++;
    if (f.entityId === 'CRM_COMPANY') out.company++;
  }
  return out;
}
/** Contacts of an emulated portal holding a value in one of our fields. */
const contactsWithValues = (tp: TestPortal) =>
  [...tp.emu.portal.contacts.values()].filter((c) => Object.keys(c.uf).some((k) => k.startsWith('UF_CRM_SEG_') && c.uf[k] !== null && c.uf[k] !== '' && !(Array.isArray(c.uf[k]) && !(c.uf[k] as unknown[]).length))).length;
const wipe = (tp: TestPortal) => {
  for (const [id, f] of tp.emu.portal.userFields) if (f.fieldName.startsWith('UF_CRM_SEG_')) tp.emu.portal.userFields.delete(id);
  for (const c of tp.emu.portal.contacts.values()) for (const k of Object.keys(c.uf)) if (k.startsWith('UF_CRM_SEG_')) delete c.uf[k];
};

eachDb('remove the app\'s fields', (getDb) => {
  let db: Db;
  let srv: UiTestServer;
  let a: number;
  let b: number;
  const clients = new Map<number, B24Client>();
  const clientFor = (id: number) => clients.get(id)!;

  beforeEach(async () => {
    db = getDb();
    await resetDb(db);
    await db.query('DELETE FROM rate_limits');
    wipe(tpA);
    wipe(tpB);
    a = (await upsertPortalOnInstall(db, { memberId: tpA.emu.portal.memberId, domain: 'a.bitrix24.com', language: 'en' })).id;
    b = (await upsertPortalOnInstall(db, { memberId: tpB.emu.portal.memberId, domain: 'b.bitrix24.com', language: 'en' })).id;
    clients.set(a, new B24Client({ tokens: tpA.tokens, limiter: { plan: 'standard', timeScale: TS } }));
    clients.set(b, new B24Client({ tokens: tpB.tokens, limiter: { plan: 'standard', timeScale: TS } }));
    for (const [id, tp] of [[a, tpA], [b, tpB]] as const) {
      await mirrorEmulatorPortal(tp.emu.portal, db, id);
      await registerFields(clientFor(id), db, id, { entities: ['contact', 'company'] });
      await runScoring(db, id);
      const wb = await runWriteBack(db, id, clientFor(id));
      expect(wb.written).toBeGreaterThan(0);
    }
    srv?.close();
    srv = await startUiServer(db, { clientFor });
  }, 60_000);
  afterAll(async () => srv?.close());

  const admin = (portalId: number, memberId: string) => srv.session(portalId, memberId, { admin: true });
  const remove = (session: string, body: unknown) => srv.call('POST', '/api/ui/settings/fields/remove', { session, body });
  const full = () => ({ contact: perEntity('contact'), company: perEntity('company') });

  it('an admin removes every field of the app on their portal; the other portal keeps all of its', async () => {
    expect(ourFields(tpA)).toEqual(full());
    const withValuesB = contactsWithValues(tpB);
    expect(contactsWithValues(tpA)).toBeGreaterThan(0);
    const r = await remove(admin(a, tpA.emu.portal.memberId), { confirm: 'DELETE' });
    expect(r.status).toBe(200);
    expect(r.json.errors).toEqual([]);
    expect((r.json.deleted as string[]).length).toBe(perEntity('contact') + perEntity('company'));
    expect(ourFields(tpA)).toEqual({ contact: 0, company: 0 });
    expect(contactsWithValues(tpA)).toBe(0);
    expect(ourFields(tpB)).toEqual(full());
    expect(contactsWithValues(tpB)).toBe(withValuesB);
    const st = await srv.call('GET', '/api/ui/settings', { session: admin(a, tpA.emu.portal.memberId) });
    expect(st.json.fields).toMatchObject({ removed: true });
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM field_registry WHERE portal_id = $1`, [a]);
    expect(rows[0]!.n).toBe(0);
    // repeating it is harmless: nothing left to delete
    const again = await remove(admin(a, tpA.emu.portal.memberId), { confirm: 'DELETE' });
    expect([again.status, again.json.deleted]).toEqual([200, []]);
  });

  it('while removed the write-back creates and writes nothing; re-creating brings them back and the write-back fills them', async () => {
    expect((await remove(admin(a, tpA.emu.portal.memberId), { confirm: 'DELETE' })).status).toBe(200);
    const before = tpA.emu.portal.userFields.size;
    const wb = await runWriteBack(db, a, clientFor(a));
    expect([wb.skipped, wb.written, wb.runId]).toEqual(['FIELDS_REMOVED', 0, null]);
    expect(tpA.emu.portal.userFields.size).toBe(before);
    expect(ourFields(tpA)).toEqual({ contact: 0, company: 0 });
    // a non-admin cannot bring them back
    expect((await srv.call('POST', '/api/ui/settings/fields/restore', { session: srv.session(a, tpA.emu.portal.memberId), body: {} })).status).toBe(403);
    const r = await srv.call('POST', '/api/ui/settings/fields/restore', { session: admin(a, tpA.emu.portal.memberId), body: {} });
    expect(r.status).toBe(200);
    expect(ourFields(tpA)).toEqual(full());
    const wb2 = await runWriteBack(db, a, clientFor(a));
    expect(wb2.skipped).toBeUndefined();
    expect(wb2.written).toBeGreaterThan(0);
    expect(contactsWithValues(tpA)).toBeGreaterThan(0);
  });

  it('refuses non-admins, forged sessions and another portal\'s admin; nothing is deleted', async () => {
    const user = srv.session(a, tpA.emu.portal.memberId);
    expect((await remove(user, { confirm: 'DELETE' })).status).toBe(403);
    const forged = signSession('not-the-server-secret-0123456789abcdef', { p: a, m: tpA.emu.portal.memberId, u: 1, a: true, l: 'en' });
    expect((await remove(forged, { confirm: 'DELETE' })).status).toBe(401);
    expect((await srv.call('POST', '/api/ui/settings/fields/remove', { body: { confirm: 'DELETE' } })).status).toBe(401);
    // B's admin naming portal A in the body: the body names nothing but the confirmation (400)
    expect((await remove(admin(b, tpB.emu.portal.memberId), { confirm: 'DELETE', portalId: a })).status).toBe(400);
    // a session that claims portal A with B's member_id
    expect((await remove(admin(a, tpB.emu.portal.memberId), { confirm: 'DELETE' })).status).toBe(401);
    expect(ourFields(tpA)).toEqual(full());
    expect(ourFields(tpB)).toEqual(full());
  });

  it('takes nothing but the exact confirmation; oversize bodies are refused', async () => {
    const s = admin(a, tpA.emu.portal.memberId);
    for (const body of [undefined, {}, { confirm: 'delete' }, { confirm: 'DELETE ' }, { confirm: ['DELETE'] }, { confirm: { confirm: 'DELETE' } }, ['DELETE'], 'DELETE', { confirm: true }]) {
      const r = await remove(s, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(typeof r.json.error).toBe('string');
    }
    const big = await srv.call('POST', '/api/ui/settings/fields/remove', { session: s, rawBody: JSON.stringify({ confirm: 'DELETE', pad: 'x'.repeat(2_000_000) }) });
    expect(big.status).toBe(413);
    expect(ourFields(tpA)).toEqual(full());
  });

  it('409 while a write-back of the portal runs (it would create them again)', async () => {
    await db.query(`INSERT INTO writeback_runs (portal_id, score_run_id) VALUES ($1, NULL)`, [a]);
    const r = await remove(admin(a, tpA.emu.portal.memberId), { confirm: 'DELETE' });
    expect([r.status, r.json.error]).toEqual([409, 'WRITEBACK_RUNNING']);
    expect(ourFields(tpA)).toEqual(full());
    // another portal is not held up by it
    expect((await remove(admin(b, tpB.emu.portal.memberId), { confirm: 'DELETE' })).status).toBe(200);
  });

  it('is rate-limited per portal: repeats past the limit get 429 and delete nothing', async () => {
    await srv.close();
    srv = await startUiServer(db, { clientFor, rateLimits: { fields: { perAddress: { points: 100, seconds: 3600 }, perMember: { points: 2, seconds: 3600 } } } });
    const s = admin(a, tpA.emu.portal.memberId);
    expect((await srv.call('POST', '/api/ui/settings/fields/restore', { session: s, body: {} })).status).toBe(200);
    expect((await srv.call('POST', '/api/ui/settings/fields/restore', { session: s, body: {} })).status).toBe(200);
    const r = await remove(s, { confirm: 'DELETE' });
    expect([r.status, r.json.error]).toEqual([429, 'RATE_LIMITED']);
    expect(ourFields(tpA)).toEqual(full());
    // the limit is the portal's: another portal's admin is not counted against it
    expect((await remove(admin(b, tpB.emu.portal.memberId), { confirm: 'DELETE' })).status).toBe(200);
  });
});
