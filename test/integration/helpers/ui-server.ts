/**
 * The real app (createServer: /healthz, the UI router with its body parser, error handling and
 * access log) over HTTP on a test database, for the UI API's security tests. Sessions are signed
 * with the server's secret (what the app page issues after the portal verified the user);
 * admin-only and portal-wide endpoints need no portal call. Log lines are captured.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadManifest } from '../../../manifest/index.js';
import { loadConfig } from '../../../src/config.js';
import { createServer, SERVER_KEEP_ALIVE_MS, type ServerDeps } from '../../../src/server/app.js';
import type { B24Client } from '../../../src/b24/client.js';
import { MemoryCrmEventQueue } from '../../../src/server/event-queue.js';
import { createLogger } from '../../../src/server/log.js';
import { signSession } from '../../../src/server/ui-api/session.js';
import {
  createScoreRun, createTokenCipher, generateTokenKey, insertContactLabels, parseTokenKey, setTokenCipher, upsertContacts,
  upsertPortalOnInstall, type ContactInput, type ContactLabelInput, type Db,
} from '../../../src/store/index.js';

export const UI_TEST_SECRET = 'ui-security-test-secret-0123456789abcdef';

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export interface UiReply {
  status: number;
  json: Record<string, unknown>;
  text: string;
  headers: Headers;
}

export interface UiTestServer {
  base: string;
  /** every line the server logged (JSON lines, parsed), oldest first */
  logs: LogLine[];
  /** the raw lines */
  raw: string[];
  session(portalId: number, memberId: string, o?: { admin?: boolean; user?: number; lang?: string }): string;
  call(method: string, p: string, o?: { session?: string; body?: unknown; rawBody?: string; contentType?: string; headers?: Record<string, string> }): Promise<UiReply>;
  close(): Promise<void>;
}

export async function startUiServer(db: Db, o: {
  uiStatementTimeoutMs?: number;
  /** the portals' REST clients (default: none; a portal call throws) */
  clientFor?: (portalId: number) => B24Client;
  rateLimits?: ServerDeps['rateLimits'];
} = {}): Promise<UiTestServer> {
  const raw: string[] = [];
  const logs: LogLine[] = [];
  const log = createLogger('debug', (line) => {
    raw.push(line);
    logs.push(JSON.parse(line) as LogLine);
  });
  const config = loadConfig({}, {
    port: 0, host: '127.0.0.1', clientId: 'local.uisec.0001', clientSecret: 'ui-security-client-secret', dataDir: 'memory://',
    logLevel: 'debug', sessionSecret: UI_TEST_SECRET,
  });
  const dist = mkdtempSync(path.join(os.tmpdir(), 'ui-dist-'));
  writeFileSync(path.join(dist, 'index.html'), '<!doctype html><html lang="en"><head><title>t</title></head><body></body></html>');
  const app = createServer({
    db, config, manifest: loadManifest(), log, events: new MemoryCrmEventQueue(),
    clientFor: o.clientFor ?? (() => {
      throw new Error('no portal client in the UI security tests');
    }),
    ...(o.rateLimits ? { rateLimits: o.rateLimits } : {}),
    forgetClient: () => {},
    uiDist: dist,
    ...(o.uiStatementTimeoutMs !== undefined ? { uiStatementTimeoutMs: o.uiStatementTimeoutMs } : {}),
  });
  const server = await new Promise<Server>((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  // as src/app.ts: the test's fetch (undici, 4 s idle) closes first, never the server under its feet
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    logs,
    raw,
    session: (portalId, memberId, s = {}) => signSession(UI_TEST_SECRET, { p: portalId, m: memberId, u: s.user ?? (s.admin ? 1 : 2), a: !!s.admin, l: s.lang ?? 'en' }),
    async call(method, p, c = {}) {
      const headers: Record<string, string> = { 'Content-Type': c.contentType ?? 'application/json', ...c.headers };
      if (c.session) headers.Authorization = `Bearer ${c.session}`;
      const body = c.rawBody !== undefined ? c.rawBody : c.body === undefined ? undefined : JSON.stringify(c.body);
      const r = await fetch(`${base}${p}`, { method, headers, body });
      const text = await r.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        /* csv */
      }
      return { status: r.status, json, text, headers: r.headers };
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

let cipherSet = false;

/** A portal with contacts and one done (tracked) score run; returns its ids. */
export async function seedPortal(
  db: Db,
  memberId: string,
  contacts: ContactInput[],
  labels: ContactLabelInput[],
  o: { asOf?: string; settings?: object } = {},
): Promise<{ portalId: number; runId: number; memberId: string }> {
  if (!cipherSet) {
    setTokenCipher(createTokenCipher(parseTokenKey(generateTokenKey())));
    cipherSet = true;
  }
  const p = await upsertPortalOnInstall(db, { memberId, domain: `${memberId}.test`, clientEndpoint: `https://${memberId}.test/rest/`, status: 'active' });
  await upsertContacts(db, p.id, contacts);
  const run = await createScoreRun(db, p.id, { asOf: new Date(o.asOf ?? '2026-10-01T00:00:00Z'), settings: o.settings ?? { rfm: { scale: 5 } } });
  await insertContactLabels(db, p.id, run.id, labels);
  return { portalId: p.id, runId: run.id, memberId };
}

/** The portal's settings row as stored (to check a refused write changed nothing). */
export async function storedSettings(db: Db, portalId: number): Promise<unknown> {
  const { rows } = await db.query<{ settings: unknown }>('SELECT settings FROM portals WHERE id = $1', [portalId]);
  return rows[0]?.settings;
}
