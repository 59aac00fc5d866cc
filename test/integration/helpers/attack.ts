/**
 * Tools of the security tests: a fake "attacker" host on loopback that answers everything
 * generously and counts every request it gets, a dump of the whole store (to prove an attack
 * changed nothing), and forged install payloads of both kinds (callback and installer page).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Db } from '../../../src/store/index.js';

export interface AttackerHost {
  url: string;
  host: string;
  port: number;
  hits: Array<{ method: string; url: string }>;
  close(): Promise<void>;
}

/**
 * An HTTP host that plays portal and OAuth server at once for whoever asks: app.info answers
 * any CODE it is asked about, profile says admin, the token endpoint vouches for `memberId`.
 */
export async function startAttackerHost(o: { memberId: string; code: string }): Promise<AttackerHost> {
  const hits: AttackerHost['hits'] = [];
  const app = express();
  let base = '';
  app.use((req, _res, next) => {
    hits.push({ method: req.method, url: req.originalUrl });
    next();
  });
  app.all(/^\/oauth\/token\/?$/, (_req, res) => {
    res.json({
      access_token: 'attacker-access-token', refresh_token: 'attacker-refresh-token', expires: Math.floor(Date.now() / 1000) + 3600,
      expires_in: 3600, client_endpoint: `${base}rest/`, server_endpoint: `${base}rest/`, domain: 'oauth.bitrix.info',
      member_id: o.memberId, scope: 'crm,placement,user_brief', status: 'L', user_id: 1,
    });
  });
  app.all(/^\/rest\/.*/, (req, res) => {
    const m = req.path.replace(/^\/rest\//, '').replace(/\.json$/, '');
    if (m === 'app.info') return void res.json({ result: { ID: 1, CODE: o.code, VERSION: 1, STATUS: 'L', INSTALLED: true, PAYMENT_EXPIRED: 'N', DAYS: null } });
    if (m === 'profile') return void res.json({ result: { ID: '1', ADMIN: true, NAME: 'Eve', LAST_NAME: 'Attacker' } });
    if (m === 'batch') return void res.json({ result: { result: { placements: [], events: [] }, result_error: [], result_total: [], result_next: [], result_time: [] } });
    res.json({ result: [], total: 0 });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}/`;
  return {
    url: base,
    host: `127.0.0.1:${port}`,
    port,
    hits,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}

/** Every row of every table of the app's schema (rate-limit counters excluded: they count requests by design). */
export async function dumpStore(db: Db): Promise<Record<string, string[]>> {
  const { rows: tables } = await db.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'rate_limits' ORDER BY 1`,
  );
  const out: Record<string, string[]> = {};
  for (const { t } of tables) {
    const { rows } = await db.query<{ j: string }>(`SELECT row_to_json(x)::text AS j FROM "${t}" x`);
    out[t] = rows.map((r) => r.j).sort();
  }
  return out;
}

export interface Forged {
  memberId: string;
  /** host[:port] the payload names as the portal */
  host: string;
  /** server_endpoint it names */
  server: string;
  protocol?: 'http' | 'https';
  accessToken?: string;
  refreshToken?: string;
  /** client_endpoint, when it differs from `${protocol}://${host}/rest/` */
  clientEndpoint?: string;
  applicationToken?: string;
}

/** ONAPPINSTALL as a portal would POST it (form fields), with made-up tokens unless given. */
export function forgedCallback(f: Forged): Record<string, unknown> {
  const scheme = f.protocol ?? 'http';
  return {
    event: 'ONAPPINSTALL',
    data: { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'en' },
    ts: String(Math.floor(Date.now() / 1000)),
    auth: {
      access_token: f.accessToken ?? 'forged-access-token-0001',
      refresh_token: f.refreshToken ?? 'forged-refresh-token-0001',
      expires_in: '3600',
      scope: 'crm,catalog,placement,user_brief,bizproc',
      domain: f.host,
      server_endpoint: f.server,
      status: 'L',
      client_endpoint: f.clientEndpoint ?? `${scheme}://${f.host}/rest/`,
      member_id: f.memberId,
      application_token: f.applicationToken ?? 'forged-application-token',
    },
  };
}

/** The installer page's POST: query string and form body. */
export function forgedPage(f: Forged): { path: string; body: Record<string, string> } {
  const q = new URLSearchParams({ DOMAIN: f.host, PROTOCOL: (f.protocol ?? 'http') === 'https' ? '1' : '0', LANG: 'en', APP_SID: 'forged-sid' });
  return {
    path: `/install?${q}`,
    body: {
      AUTH_ID: f.accessToken ?? 'forged-access-token-0001', AUTH_EXPIRES: '3600', REFRESH_ID: f.refreshToken ?? 'forged-refresh-token-0001',
      SERVER_ENDPOINT: f.server, APPLICATION_TOKEN: f.applicationToken ?? 'forged-application-token', APPLICATION_SCOPE: 'crm,catalog,placement,user_brief,bizproc',
      member_id: f.memberId, status: 'L', PLACEMENT: 'DEFAULT',
    },
  };
}
