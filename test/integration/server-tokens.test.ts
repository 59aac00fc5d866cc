/**
 * Store-backed tokens against the emulator's OAuth server: one refresh per portal even with
 * concurrent callers in "two processes" (two TokenSources on two Db handles of one database),
 * rotation persisted, dead refresh token → needs_reauth without a crash loop; and two portals
 * (two emulators) served by one app stay apart.
 */
import { randomBytes } from 'node:crypto';
import axios from 'axios';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { createTokenCipher, openDb, setTokenCipher, getPortalAuth, type Db } from '../../src/store/index.js';
import { refreshAccessToken, type RefreshParams } from '../../src/b24/auth.js';
import { B24Client } from '../../src/b24/client.js';
import { PortalNeedsReauthError, StoreTokenSource } from '../../src/b24/store-tokens.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { admin, installCallback, oauthOf, portalRow, postForm, startPortal, startTestApp, type Installed, type TestApp } from './server-harness.js';

setTokenCipher(createTokenCipher(randomBytes(32)));

eachDb('server tokens', (getDb, ctx) => {
  let emu: RunningEmulator;
  let t: TestApp;
  let inst: Installed;
  let portalId: number;
  let db2: Db;
  let closeDb2: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    emu = await startPortal({ accessTokenTtl: 600 });
    t = await startTestApp(getDb(), { accept: [emu] });
    inst = await installCallback(emu, t);
    portalId = Number((await portalRow(getDb(), inst.memberId))!.id);
    // A second handle on the same database, as another process would have.
    const url = ctx.url();
    if (url) {
      db2 = await openDb({ databaseUrl: url, poolMax: 3 });
      closeDb2 = () => db2.close();
    } else {
      db2 = { ...getDb() }; // PGlite: same single connection, different handle (no shared in-process single-flight)
    }
  });
  afterAll(async () => {
    await closeDb2?.();
    await t?.app.close();
    await emu?.close();
  });

  const counting = () => {
    const calls: string[] = [];
    const fn = async (p: RefreshParams) => {
      calls.push(p.portal ?? '');
      await new Promise((r) => setTimeout(r, 30)); // widen the race window
      return refreshAccessToken(p);
    };
    return { calls, fn };
  };

  it('expired token: concurrent callers in two "processes" → exactly one refresh at the OAuth server', async () => {
    const c = counting();
    const mk = (db: Db) => new StoreTokenSource({ db, portalId, clientId: t.clientId, clientSecret: t.clientSecret, refreshFn: c.fn });
    const s1 = mk(getDb());
    const s2 = mk(db2);
    const c1 = new B24Client({ tokens: s1, maxRetries: 0 });
    const c2 = new B24Client({ tokens: s2, maxRetries: 0 });
    const before = await getPortalAuth(getDb(), portalId);
    // Let every access token of the portal expire (portal clock +20 min).
    await admin(emu).post('clock/advance', { seconds: 1200 });
    const results = await Promise.all([c1.call('profile'), c2.call('profile'), c1.call('app.info'), c2.call('app.info'), s1.refresh(before!.accessToken!), s2.refresh(before!.accessToken!)]);
    expect(results.slice(0, 4).every((r) => r && typeof r === 'object')).toBe(true);
    expect(c.calls).toHaveLength(1);
    const after = await getPortalAuth(getDb(), portalId);
    expect(after!.accessToken).not.toBe(before!.accessToken);
    expect(after!.refreshToken).not.toBe(before!.refreshToken); // rotated one stored
    expect(after!.tokenVersion).toBeGreaterThan(before!.tokenVersion);
    // the old refresh token is dead at the server: the stored one is the only live one
    const old = await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'refresh_token', client_id: t.clientId, client_secret: t.clientSecret, refresh_token: before!.refreshToken }, validateStatus: () => true });
    expect(old.data.error).toBe('invalid_grant');
  });

  it('dead refresh token → portal needs_reauth, typed error, no further OAuth calls', async () => {
    const auth = await getPortalAuth(getDb(), portalId);
    // Someone else uses (and so rotates away) our refresh token.
    const stolen = await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'refresh_token', client_id: t.clientId, client_secret: t.clientSecret, refresh_token: auth!.refreshToken } });
    expect(stolen.status).toBe(200);
    const c = counting();
    const src = new StoreTokenSource({ db: getDb(), portalId, clientId: t.clientId, clientSecret: t.clientSecret, refreshFn: c.fn });
    await expect(src.refresh(auth!.accessToken!)).rejects.toBeInstanceOf(PortalNeedsReauthError);
    expect((await portalRow(getDb(), inst.memberId))!.status).toBe('needs_reauth');
    await expect(src.get()).rejects.toBeInstanceOf(PortalNeedsReauthError);
    const client = new B24Client({ tokens: src });
    await expect(client.call('profile')).rejects.toBeInstanceOf(PortalNeedsReauthError);
    expect(c.calls).toHaveLength(1);
    // A reinstall (fresh tokens) brings the portal back.
    await admin(emu).post(`apps/${t.clientId}/uninstall`, { clean: false });
    inst = await installCallback(emu, t);
    expect((await portalRow(getDb(), inst.memberId))!.status).toBe('active');
    expect(await new B24Client({ tokens: src }).call('profile')).toBeTruthy();
  });

  it('two portals side by side (two emulators, one app) stay apart', async () => {
    const emuB = await startPortal({ contacts: 5, seed: 3 });
    t.app.config.oauthServerEndpoints.push(oauthOf(emuB)); // the app accepts portal B's OAuth server too
    try {
      const instB = await installCallback(emuB, t);
      expect(instB.memberId).not.toBe(inst.memberId);
      const a = await portalRow(getDb(), inst.memberId);
      const b = await portalRow(getDb(), instB.memberId);
      expect(a!.id).not.toBe(b!.id);
      expect(b!.domain).toBe(emuB.portal.domain);
      // each client talks to its own portal
      const ca = t.app.deps.clientFor(Number(a!.id));
      const cb = t.app.deps.clientFor(Number(b!.id));
      expect(ca).not.toBe(cb);
      const countA = await ca.callRaw('crm.contact.list', { select: ['ID'] });
      const countB = await cb.callRaw('crm.contact.list', { select: ['ID'] });
      expect(countB.total).toBe(5);
      expect(countA.total).toBe(emu.portal.contacts.size);
      // portal A's application_token does not authenticate portal B's events
      const cross = await postForm(t.http, '/events', { event: 'ONAPPUNINSTALL', data: { CLEAN: '1' }, auth: { member_id: instB.memberId, application_token: inst.applicationToken } });
      expect(cross.status).toBe(401);
      // uninstalling B leaves A untouched
      await admin(emuB).post(`apps/${t.clientId}/uninstall`, { clean: true });
      expect(await portalRow(getDb(), instB.memberId)).toBeUndefined();
      expect((await portalRow(getDb(), inst.memberId))!.status).toBe('active');
      expect(await ca.call('profile')).toBeTruthy();
    } finally {
      await emuB.close();
    }
  });
});
