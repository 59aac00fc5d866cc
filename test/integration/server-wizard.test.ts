/** Installer page (wizard) install, the served SDK bundle, and config errors. */
import { randomBytes } from 'node:crypto';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { createTokenCipher, setTokenCipher } from '../../src/store/index.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { SCOPES, admin, portalRow, postForm, startPortal, startTestApp, type TestApp } from './server-harness.js';

setTokenCipher(createTokenCipher(randomBytes(32)));

eachDb('installer page', (getDb) => {
  let emu: RunningEmulator;
  let t: TestApp;
  beforeAll(async () => {
    emu = await startPortal();
    t = await startTestApp(getDb(), { accept: [emu] });
  });
  afterAll(async () => {
    await t?.app.close();
    await emu?.close();
  });

  it('POST /install with the frame fields stores, registers and answers the installFinish page', async () => {
    const a = admin(emu);
    const inst = await a.post('apps/install', { clientId: t.clientId, clientSecret: t.clientSecret, appUrl: `${t.app.config.publicUrl}/app`, installUrl: `${t.app.config.publicUrl}/install`, scopes: SCOPES, mode: 'wizard' });
    expect(inst.status).toBe(201);
    const appToken = inst.data.app.applicationToken as string;
    // What the host page POSTs into the installer iframe (tokens of the installing admin).
    const code = (await a.post(`apps/${t.clientId}/auth-code`, {})).data.code as string;
    const tok = (await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'authorization_code', client_id: t.clientId, client_secret: t.clientSecret, code } })).data;
    const q = `DOMAIN=${encodeURIComponent(emu.portal.domain)}&PROTOCOL=0&LANG=en&APP_SID=${randomBytes(8).toString('hex')}`;
    const r = await postForm(t.http, `/install?${q}`, {
      AUTH_ID: tok.access_token, AUTH_EXPIRES: '3600', REFRESH_ID: tok.refresh_token, SERVER_ENDPOINT: tok.server_endpoint,
      APPLICATION_TOKEN: appToken, APPLICATION_SCOPE: SCOPES.join(','), member_id: emu.portal.memberId, status: 'L', PLACEMENT: 'DEFAULT', PLACEMENT_OPTIONS: '{}',
    });
    expect(r.status, JSON.stringify(r.data)).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.headers['content-security-policy']).toContain(`frame-ancestors http://${emu.portal.domain}`);
    expect(r.data).toContain('/static/b24jssdk.umd.min.js');
    expect(r.data).toContain('initializeB24Frame');
    expect(r.data).toContain('installFinish');
    const row = await portalRow(getDb(), emu.portal.memberId);
    expect(row!.status).toBe('active');
    expect(JSON.stringify(row)).not.toContain(tok.refresh_token);
    expect(emu.portal.placements.filter((p) => p.clientId === t.clientId)).toHaveLength(3); // the manifest's three: contact tab, company tab (B2B), contact list toolbar
    expect(emu.portal.eventBindings.filter((b) => b.clientId === t.clientId)).toHaveLength(13);
    // the SDK bundle the page loads
    const sdk = await t.http.get('/static/b24jssdk.umd.min.js');
    expect(sdk.status).toBe(200);
    expect(sdk.headers['content-type']).toMatch(/javascript/);
    expect(String(sdk.data)).toContain('B24Js');
  });
});

describe('config', () => {
  it('defaults for development', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.publicUrl).toBe('http://127.0.0.1:3000');
    expect(c.allowDevPortals).toBe(true);
    expect(c.oauthServerEndpoints).toEqual(['https://oauth.bitrix.info/rest/']);
  });
  it('errors name the variable', () => {
    const bad = (env: Record<string, string>, re: RegExp) => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(re);
    };
    bad({ PORT: 'abc' }, /PORT/);
    bad({ PUBLIC_URL: 'not a url' }, /PUBLIC_URL/);
    bad({ LOG_LEVEL: 'loud' }, /LOG_LEVEL/);
    bad({ TOKEN_ENCRYPTION_KEY: 'short' }, /TOKEN_ENCRYPTION_KEY/);
    bad({ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/);
    bad({ NODE_ENV: 'production' }, /PUBLIC_URL[\s\S]*CLIENT_ID[\s\S]*CLIENT_SECRET[\s\S]*TOKEN_ENCRYPTION_KEY[\s\S]*SESSION_SECRET/);
    const prod = loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://seg.example.com/', CLIENT_ID: 'app.1', CLIENT_SECRET: 's', TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'), SESSION_SECRET: 'x'.repeat(40) });
    expect(prod.publicUrl).toBe('https://seg.example.com');
    expect(prod.allowDevPortals).toBe(false);
  });
});
