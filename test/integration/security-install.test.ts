/**
 * Attacks on install and on UI sessions (issue 10), each over real HTTP against the real app,
 * with a victim portal (emulator A, the app installed), the attacker's own genuine portal
 * (emulator B, the app installed there too) and a fake attacker host on loopback that answers
 * everything and counts what it gets. Every refused attack must (a) answer the documented status
 * and code, (b) send zero requests to the attacker's host, (c) leave a dump of the whole store
 * identical. Both install kinds (ONAPPINSTALL callback at /install and at /events; the installer
 * page) are tried, with development and production settings.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { createTokenCipher, getPortalByMemberId, setTokenCipher } from '../../src/store/index.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { issueTokens } from '../../src/emulator/tokens.js';
import { UNAUTHORIZED } from '../../src/server/ui-api/renew.js';
import { admin, installCallback, oauthOf, postForm, startPortal, startTestApp, type Installed, type TestApp } from './server-harness.js';
import { dumpStore, forgedCallback, forgedPage, startAttackerHost, type AttackerHost, type Forged } from './helpers/attack.js';

setTokenCipher(createTokenCipher(randomBytes(32)));

/** These tests send many attacks from one address: the rate limits (tested in security-rate-limit) are raised here. */
const lots = { points: 100_000, seconds: 60 };
const rateLimits = Object.fromEntries(['install', 'events', 'session'].map((k) => [k, { perAddress: lots, perMember: lots }]));

/** A UI build of one page, so the app page and renewal verify AUTH_ID for real. */
function tinyUi(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'b24seg-sec-ui-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><html lang="en"><head></head><body>app</body></html>');
  return dir;
}

eachDb('security: install proof, SSRF, foreign tokens', (getDb) => {
  let victim: RunningEmulator;
  let attackerPortal: RunningEmulator;
  let attacker: AttackerHost;
  let dev: TestApp;
  let prod: TestApp;
  let inst: Installed;

  beforeAll(async () => {
    victim = await startPortal({ contacts: 10, seed: 5 });
    attackerPortal = await startPortal({ contacts: 3, seed: 6 });
    // development settings: both emulators' OAuth servers are accepted (each stands for oauth.bitrix.info)
    dev = await startTestApp(getDb(), { accept: [victim, attackerPortal], uiDist: tinyUi(), rateLimits });
    inst = await installCallback(victim, dev);
    // the attacker installed our app on their own portal: they hold genuine tokens of it
    await installCallback(attackerPortal, dev);
    // production settings, same database: https portals only, one accepted OAuth server
    prod = await startTestApp(getDb(), {
      accept: [victim],
      rateLimits,
      config: { production: true, allowDevPortals: false, clientId: dev.clientId, clientSecret: dev.clientSecret, sessionSecret: 's'.repeat(40) },
    });
    attacker = await startAttackerHost({ memberId: inst.memberId, code: dev.clientId });
  });
  afterAll(async () => {
    await prod?.app.close();
    await dev?.app.close();
    await attacker?.close();
    await attackerPortal?.close();
    await victim?.close();
  });

  type Kind = 'callback' | 'events' | 'page';
  const send = (t: TestApp, kind: Kind, f: Forged) => {
    if (kind === 'page') {
      const p = forgedPage(f);
      return postForm(t.http, p.path, p.body);
    }
    return postForm(t.http, kind === 'callback' ? '/install' : '/events', forgedCallback(f));
  };

  /** Sends a forged install and checks: status and code, no request to the attacker, store unchanged. */
  const refused = async (t: TestApp, kind: Kind, f: Forged, status: number, code: string) => {
    const before = await dumpStore(getDb());
    const hits = attacker.hits.length;
    const r = await send(t, kind, f);
    expect({ kind, status: r.status, code: r.data?.error }).toEqual({ kind, status, code });
    expect(attacker.hits.slice(hits), `${kind}: requests to the attacker's host`).toEqual([]);
    expect(await dumpStore(getDb())).toEqual(before);
    return r;
  };

  const KINDS: Kind[] = ['callback', 'events', 'page'];
  /** A genuine reinstall's secrets: fresh tokens and the portal's real application_token. */
  const genuine = (t: { accessToken: string; refreshToken: string }) => ({ accessToken: t.accessToken, refreshToken: t.refreshToken, applicationToken: inst.applicationToken });

  it('takeover by member_id (dev settings): refused before any request to the attacker, store unchanged', async () => {
    const host = attacker.host;
    for (const kind of KINDS) {
      // the attacker's host as OAuth server, or oauth.bitrix.info (not accepted here): refused without a request
      await refused(dev, kind, { memberId: inst.memberId, host, server: `${attacker.url}rest/` }, 400, 'OAUTH_SERVER_NOT_ALLOWED');
      await refused(dev, kind, { memberId: inst.memberId, host, server: 'https://oauth.bitrix.info/rest/' }, 400, 'OAUTH_SERVER_NOT_ALLOWED');
      // an accepted OAuth server with made-up tokens: it refuses them
      await refused(dev, kind, { memberId: inst.memberId, host, server: oauthOf(victim) }, 401, 'TOKEN_REJECTED');
      // a new member_id the same way
      await refused(dev, kind, { memberId: 'f'.repeat(32), host, server: oauthOf(victim) }, 401, 'TOKEN_REJECTED');
      await refused(dev, kind, { memberId: 'f'.repeat(32), host, server: `${attacker.url}rest/` }, 400, 'OAUTH_SERVER_NOT_ALLOWED');
    }
    expect(await getPortalByMemberId(getDb(), 'f'.repeat(32))).toBeNull();
  });

  it('takeover by member_id (production settings): http portals and unproven tokens refused, no request to the attacker', async () => {
    for (const kind of KINDS) {
      await refused(prod, kind, { memberId: inst.memberId, host: attacker.host, server: oauthOf(victim) }, 400, 'INSECURE_PORTAL');
      await refused(prod, kind, { memberId: inst.memberId, host: attacker.host, server: oauthOf(victim), protocol: 'https' }, 401, 'TOKEN_REJECTED');
      await refused(prod, kind, { memberId: 'e'.repeat(32), host: attacker.host, server: oauthOf(victim), protocol: 'https' }, 401, 'TOKEN_REJECTED');
      await refused(prod, kind, { memberId: inst.memberId, host: attacker.host, server: oauthOf(attackerPortal), protocol: 'https' }, 400, 'OAUTH_SERVER_NOT_ALLOWED');
    }
  });

  it('genuine tokens of the attacker\'s own portal cannot claim the victim\'s member_id or endpoint', async () => {
    for (const kind of KINDS) {
      const own = issueTokens(attackerPortal.portal, dev.clientId, 1);
      const tok = { accessToken: own.accessToken, refreshToken: own.refreshToken };
      // victim's member_id on the attacker's portal: the OAuth server names the attacker's portal
      await refused(dev, kind, { ...tok, memberId: inst.memberId, host: attackerPortal.portal.domain, server: oauthOf(attackerPortal) }, 401, 'IDENTITY_MISMATCH');
      // victim's member_id AND endpoint, proven by the attacker's OAuth server: its answer names another endpoint
      const own2 = issueTokens(attackerPortal.portal, dev.clientId, 1);
      await refused(dev, kind, {
        accessToken: own2.accessToken, refreshToken: own2.refreshToken, memberId: inst.memberId, host: victim.portal.domain, server: oauthOf(attackerPortal),
      }, 401, 'IDENTITY_MISMATCH');
    }
  });

  it('tokens our app did not get (another app on the victim portal) and a replayed install are refused', async () => {
    const other = await admin(victim).post('apps/install', { clientId: 'local.other.app1', clientSecret: 'other-secret', appUrl: 'http://127.0.0.1:9/app', scopes: ['user_brief'], mode: 'wizard' });
    expect(other.status).toBe(201);
    for (const kind of KINDS) {
      const t = issueTokens(victim.portal, 'local.other.app1', 1);
      await refused(dev, kind, { accessToken: t.accessToken, refreshToken: t.refreshToken, memberId: inst.memberId, host: victim.portal.domain, server: oauthOf(victim) }, 401, 'TOKEN_REJECTED');
    }
    // the victim's genuine ONAPPINSTALL, replayed: its refresh token was spent by the install
    const before = await dumpStore(getDb());
    const replay = await postForm(dev.http, '/install', inst.payload);
    expect([replay.status, replay.data.error]).toEqual([401, 'TOKEN_REJECTED']);
    expect(await dumpStore(getDb())).toEqual(before);
  });

  it('a non-admin user\'s own genuine tokens (every app page gives them out) cannot reinstall the portal', async () => {
    const user = [...victim.portal.users.values()].find((u) => !u.isAdmin && u.active)!;
    expect(user).toBeDefined();
    for (const kind of KINDS) {
      const t = issueTokens(victim.portal, dev.clientId, user.id);
      await refused(dev, kind, { ...genuine(t), applicationToken: 'chosen-by-the-user', memberId: inst.memberId, host: victim.portal.domain, server: oauthOf(victim) }, 403, 'NOT_ADMIN');
    }
  });

  it('a forged ONAPPUNINSTALL with the genuine application_token (known to every user) changes nothing while the portal says installed', async () => {
    const before = await dumpStore(getDb());
    for (const clean of ['1', '0']) {
      const r = await postForm(dev.http, '/events', { event: 'ONAPPUNINSTALL', data: { LANGUAGE_ID: 'en', CLEAN: clean }, auth: { member_id: inst.memberId, application_token: inst.applicationToken, domain: victim.portal.domain } });
      expect([r.status, r.data.error]).toEqual([401, 'UNINSTALL_UNPROVEN']);
    }
    expect(await dumpStore(getDb())).toEqual(before);
    expect(attacker.hits).toEqual([]);
  });

  it('SSRF: the answer does not depend on what the client endpoint reaches; odd endpoints are refused', async () => {
    const closed = 9; // discard port: nothing listens
    const base = { memberId: 'd'.repeat(32), server: oauthOf(victim) };
    const open = await refused(dev, 'callback', { ...base, host: attacker.host }, 401, 'TOKEN_REJECTED');
    const shut = await refused(dev, 'callback', { ...base, host: `127.0.0.1:${closed}` }, 401, 'TOKEN_REJECTED');
    const pg = await refused(dev, 'callback', { ...base, host: '127.0.0.1:5432' }, 401, 'TOKEN_REJECTED');
    expect(shut.data).toEqual(open.data);
    expect(pg.data).toEqual(open.data);
    for (const clientEndpoint of [`${attacker.url}rest/?x=1`, `${attacker.url}admin/`, `http://user:pw@${attacker.host}/rest/`, `http://127.0.0.2:${attacker.port}/rest/`]) {
      await refused(dev, 'callback', { ...base, host: attacker.host, clientEndpoint }, 400, 'ENDPOINT_MISMATCH');
    }
  });

  it('dev: a portal-hosted OAuth server cannot move an installed member_id to another domain; a separate one can', async () => {
    const port = victim.portal.domain.split(':')[1]!;
    const renamed = `localhost:${port}`;
    dev.app.config.oauthServerEndpoints.push(`http://${renamed}/rest/`);
    const was = victim.portal.domain;
    victim.portal.domain = renamed; // the same portal, now answering as localhost:PORT, OAuth on its own host
    try {
      for (const kind of KINDS) {
        const t = issueTokens(victim.portal, dev.clientId, 1);
        await refused(dev, kind, { accessToken: t.accessToken, refreshToken: t.refreshToken, memberId: inst.memberId, host: renamed, server: `http://${renamed}/rest/` }, 401, 'DOMAIN_CHANGE_UNPROVEN');
      }
      // an OAuth server on another host than the portal (as oauth.bitrix.info is) proves the move
      victim.portal.serverEndpoint = oauthOf({ url: `http://${was}/` } as RunningEmulator);
      const t = issueTokens(victim.portal, dev.clientId, 1);
      const moved = await postForm(dev.http, '/install', forgedCallback({ ...genuine(t), memberId: inst.memberId, host: renamed, server: `http://${was}/rest/` }));
      expect(moved.status, JSON.stringify(moved.data)).toBe(200);
      expect((await getPortalByMemberId(getDb(), inst.memberId))!.domain).toBe(renamed);
    } finally {
      victim.portal.domain = was;
      victim.portal.serverEndpoint = null;
    }
    // and back, the genuine way
    const t = issueTokens(victim.portal, dev.clientId, 1);
    victim.portal.serverEndpoint = `http://localhost:${port}/rest/`;
    try {
      const back = await postForm(dev.http, '/install', forgedCallback({ ...genuine(t), memberId: inst.memberId, host: was, server: `http://localhost:${port}/rest/` }));
      expect(back.status, JSON.stringify(back.data)).toBe(200);
    } finally {
      victim.portal.serverEndpoint = null;
    }
    expect((await getPortalByMemberId(getDb(), inst.memberId))!.domain).toBe(was);
  });

  describe('UI sessions', () => {
    const session = (t: TestApp, body: Record<string, unknown>) => t.http.post('/api/ui/session', body);

    it('only our app\'s tokens open a session: another app\'s token on the same portal gets 401, like an unknown member_id', async () => {
      const ours = issueTokens(victim.portal, dev.clientId, 1);
      const ok = await session(dev, { member_id: inst.memberId, auth_id: ours.accessToken });
      expect(ok.status, JSON.stringify(ok.data)).toBe(200);
      expect(ok.data.isAdmin).toBe(true);

      const foreign = issueTokens(victim.portal, 'local.other.app1', 1); // installed by the previous test, scope user_brief
      const before = await dumpStore(getDb());
      const r = await session(dev, { member_id: inst.memberId, auth_id: foreign.accessToken });
      expect(r.status).toBe(401);
      expect(r.data).toEqual(UNAUTHORIZED);
      const unknown = await session(dev, { member_id: 'no-such-member-0000', auth_id: foreign.accessToken });
      expect(unknown.status).toBe(401);
      expect(unknown.data).toEqual(r.data);
      const bad = await session(dev, { member_id: inst.memberId, auth_id: 'made-up-token-000000' });
      expect([bad.status, bad.data]).toEqual([401, UNAUTHORIZED]);
      expect(await dumpStore(getDb())).toEqual(before);
    });

    it('the app page refuses another app\'s AUTH_ID even with our APPLICATION_TOKEN', async () => {
      const foreign = issueTokens(victim.portal, 'local.other.app1', 1);
      const q = `DOMAIN=${encodeURIComponent(victim.portal.domain)}&PROTOCOL=0&LANG=en&APP_SID=x`;
      const page = await postForm(dev.http, `/app?${q}`, { AUTH_ID: foreign.accessToken, APPLICATION_TOKEN: inst.applicationToken, member_id: inst.memberId, PLACEMENT: 'DEFAULT' });
      expect(page.status).toBe(401);
      expect(page.data).not.toContain('__SEG_BOOT');
      const ours = issueTokens(victim.portal, dev.clientId, 1);
      const good = await postForm(dev.http, `/app?${q}`, { AUTH_ID: ours.accessToken, APPLICATION_TOKEN: inst.applicationToken, member_id: inst.memberId, PLACEMENT: 'DEFAULT' });
      expect(good.status).toBe(200);
      expect(good.data).toContain('__SEG_BOOT');
    });
  });
});
