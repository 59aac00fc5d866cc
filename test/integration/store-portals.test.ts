import { beforeAll, beforeEach, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  countCrmRows,
  createSyncRun,
  createTokenCipher,
  getPortal,
  getPortalAuth,
  getPortalByMemberId,
  listPortals,
  setPortalStatus,
  setTokenCipher,
  uninstallPortal,
  updatePortalSettings,
  updatePortalTokens,
  upsertContacts,
  upsertPortalOnInstall,
  verifyApplicationToken,
} from '../../src/store/index.js';
import { eachDb, resetDb } from '../helpers/db.js';

beforeAll(() => setTokenCipher(createTokenCipher(randomBytes(32))));

const install = {
  memberId: 'mem-a',
  domain: 'a.bitrix24.ru',
  clientEndpoint: 'https://a.bitrix24.ru/rest/',
  serverEndpoint: 'https://oauth.bitrix.info/rest/',
  accessToken: 'ACCESS-1',
  refreshToken: 'REFRESH-1',
  expiresAt: new Date('2030-01-01T00:00:00Z'),
  applicationToken: 'APPTOKEN-1',
  scope: 'crm,user_brief',
};

eachDb('portals repository', (getDb) => {
  beforeEach(() => resetDb(getDb()));

  it('installs, finds by member_id, and never exposes tokens on Portal', async () => {
    const db = getDb();
    const p = await upsertPortalOnInstall(db, install);
    expect(p).toMatchObject({ memberId: 'mem-a', domain: 'a.bitrix24.ru', status: 'installing', plan: 'standard', settings: {} });
    expect(JSON.stringify(p)).not.toMatch(/ACCESS-1|REFRESH-1|APPTOKEN-1/);
    expect(await getPortalByMemberId(db, 'mem-a')).toEqual(p);
    expect(await getPortal(db, p.id)).toEqual(p);
    expect(await getPortalByMemberId(db, 'nope')).toBeNull();
  });

  it('stores tokens encrypted at rest and decrypts them on demand', async () => {
    const db = getDb();
    const p = await upsertPortalOnInstall(db, install);
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM portals WHERE id = $1', [p.id]);
    const raw = JSON.stringify(rows[0]);
    expect(raw).not.toMatch(/ACCESS-1|REFRESH-1|APPTOKEN-1/);
    expect(rows[0]!.access_token_enc).toMatch(/^v1:/);
    const auth = await getPortalAuth(db, p.id);
    expect(auth).toMatchObject({ accessToken: 'ACCESS-1', refreshToken: 'REFRESH-1', clientEndpoint: install.clientEndpoint });
  });

  it('tampered ciphertext in the database is detected', async () => {
    const db = getDb();
    const p = await upsertPortalOnInstall(db, install);
    const { rows } = await db.query<{ e: string }>('SELECT access_token_enc AS e FROM portals WHERE id = $1', [p.id]);
    const parts = rows[0]!.e.split(':');
    const ct = Buffer.from(parts[3]!, 'base64');
    ct[0] = ct[0]! ^ 0x01; // one flipped bit in the ciphertext
    parts[3] = ct.toString('base64');
    await db.query('UPDATE portals SET access_token_enc = $2 WHERE id = $1', [p.id, parts.join(':')]);
    await expect(getPortalAuth(db, p.id)).rejects.toThrow(/authentication failed/);
  });

  it('reinstall keeps the id and settings, replaces tokens and status', async () => {
    const db = getDb();
    const p1 = await upsertPortalOnInstall(db, install);
    await updatePortalSettings(db, p1.id, { horizonDays: 365 });
    await setPortalStatus(db, p1.id, 'active');
    const p2 = await upsertPortalOnInstall(db, { ...install, accessToken: 'ACCESS-2', refreshToken: 'REFRESH-2', status: 'active' });
    expect(p2.id).toBe(p1.id);
    expect(p2.settings).toEqual({ horizonDays: 365 });
    expect(p2.tokenVersion).toBeGreaterThan(p1.tokenVersion);
    expect((await getPortalAuth(db, p1.id))?.accessToken).toBe('ACCESS-2');
    expect(await listPortals(db, { status: 'active' })).toHaveLength(1);
  });

  it('token refresh supports compare-and-swap on token_version and revives needs_reauth', async () => {
    const db = getDb();
    const p = await upsertPortalOnInstall(db, install);
    await setPortalStatus(db, p.id, 'needs_reauth');
    const before = (await getPortalAuth(db, p.id))!;
    const t = { accessToken: 'ACCESS-2', refreshToken: 'REFRESH-2', expiresAt: new Date('2031-01-01T00:00:00Z') };
    expect(await updatePortalTokens(db, p.id, { ...t, ifTokenVersion: before.tokenVersion })).toBe(true);
    // a second refresher that read the old version loses
    expect(await updatePortalTokens(db, p.id, { ...t, accessToken: 'LOSER', ifTokenVersion: before.tokenVersion })).toBe(false);
    const after = (await getPortalAuth(db, p.id))!;
    expect(after).toMatchObject({ accessToken: 'ACCESS-2', refreshToken: 'REFRESH-2', tokenVersion: before.tokenVersion + 1 });
    expect(after.expiresAt).toEqual(t.expiresAt);
    expect((await getPortal(db, p.id))!.status).toBe('active');
  });

  it('verifies application_token of incoming events', async () => {
    const db = getDb();
    await upsertPortalOnInstall(db, install);
    expect((await verifyApplicationToken(db, 'mem-a', 'APPTOKEN-1'))?.memberId).toBe('mem-a');
    expect(await verifyApplicationToken(db, 'mem-a', 'APPTOKEN-2')).toBeNull();
    expect(await verifyApplicationToken(db, 'mem-b', 'APPTOKEN-1')).toBeNull();
  });

  it('settings merge shallowly', async () => {
    const db = getDb();
    const p = await upsertPortalOnInstall(db, install);
    await updatePortalSettings(db, p.id, { a: 1, b: { x: 1 } });
    expect(await updatePortalSettings(db, p.id, { b: { y: 2 }, c: 'z' })).toEqual({ a: 1, b: { y: 2 }, c: 'z' });
  });

  it('uninstall without CLEAN keeps data but wipes tokens', async () => {
    const db = getDb();
    const p = await upsertPortalOnInstall(db, install);
    await upsertContacts(db, p.id, [{ id: 1, name: 'Ann' }]);
    await uninstallPortal(db, p.id, { clean: false });
    const after = await getPortal(db, p.id);
    expect(after?.status).toBe('uninstalled');
    expect(await getPortalAuth(db, p.id)).toMatchObject({ accessToken: null, refreshToken: null });
    expect(await verifyApplicationToken(db, 'mem-a', 'APPTOKEN-1')).toBeNull();
    expect((await countCrmRows(db, p.id)).contacts).toBe(1);
    // reinstall revives the same portal with its data
    const again = await upsertPortalOnInstall(db, { ...install, status: 'active' });
    expect(again.id).toBe(p.id);
    expect((await countCrmRows(db, p.id)).contacts).toBe(1);
  });

  it('uninstall with CLEAN deletes the portal and all of its data', async () => {
    const db = getDb();
    const p = await upsertPortalOnInstall(db, install);
    await upsertContacts(db, p.id, [{ id: 1, name: 'Ann' }]);
    await createSyncRun(db, p.id, 'full');
    await uninstallPortal(db, p.id, { clean: true });
    expect(await getPortal(db, p.id)).toBeNull();
    const left = await db.query(`SELECT (SELECT count(*) FROM contacts)::int AS c, (SELECT count(*) FROM sync_runs)::int AS s`);
    expect(left.rows[0]).toEqual({ c: 0, s: 0 });
  });

  it('rejects invalid plan/status values at the database', async () => {
    const db = getDb();
    const p = await upsertPortalOnInstall(db, install);
    await expect(setPortalStatus(db, p.id, 'bogus' as never)).rejects.toThrow();
  });
});
