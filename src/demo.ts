/**
 * `npm run demo -- [--contacts N] [--seed S] [--time-scale K] [--once] [--emulator URL] [--port P] [--data-dir DIR] [--b2b]`
 *
 * 1. Starts the emulator with a generated portal (or uses a running one: `--emulator URL`,
 *    the base URL `npm run emulator` prints).
 * 2. Starts the app (store in DATA_DIR/pglite unless DATABASE_URL is set; a demo-only
 *    TOKEN_ENCRYPTION_KEY is generated once into DATA_DIR/demo-token-key unless the env has one).
 * 3. Installs the app into the portal as a real portal would: `/_emulator/apps/install` in
 *    callback mode (ONAPPINSTALL POSTed to our /install: store + register), then installFinish
 *    (`/_emulator/apps/:id/install-finish`; the emulator waits for it in callback mode too).
 *    Running again against the same emulator with the same DATA_DIR reinstalls: uninstall
 *    (data kept) + install, and registration stays idempotent.
 * 4. Runs the first full sync with a progress bar on stderr (phase, rows, ETA).
 *    With `--b2b` (a contract other checks use): the portal is generated with the B2B profile
 *    (companies with several contacts, deals tied to companies, industries, sizes, revenue), the
 *    B2B option is turned on in the app's settings right after install, and the cycle scores
 *    and writes companies too (the JSON line then carries "companies" and "companiesWritten").
 * 5. Keeps serving and prints the portal URL (host page, the app opens in it) and the app URL;
 *    with `--once` exits after the first full cycle and prints ONE JSON line last on stdout:
 *    {"contacts","deals","requests","operatingSeconds","portalSeconds","wallSeconds"}
 *    requests/operatingSeconds: as the EMULATOR counted them during the cycle (deltas of
 *    /_emulator/stats), portalSeconds: emulator clock, wallSeconds: our clock.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { startApp, type RunningApp } from './app.js';
import type { B24Client } from './b24/client.js';
import { runSync } from './sync/index.js';
import { runScoring } from './pipeline/score.js';
import { runWriteBack } from './writeback/write.js';
import { ensureUiBuilt } from './server/ui-api/ensure-built.js';
import { PortalClock } from './emulator/clock.js';
import { demoQualityPlan, generatePortal } from './emulator/generator.js';
import { Portal } from './emulator/portal.js';
import { startEmulator, type RunningEmulator } from './emulator/server.js';
import { createLogger } from './server/log.js';
import { createTokenCipher, generateTokenKey, parseTokenKey, setTokenCipher } from './store/crypto.js';
import { getPortalByMemberId, updatePortalSettings } from './store/portals.js';
import { settingsPatch } from './settings/index.js';
import { latestSyncRun } from './store/syncRuns.js';
import { runAutomation } from './automation/engine.js';
import type { Db } from './store/db.js';

const USAGE = `usage: npm run demo -- [--contacts 500] [--seed 42] [--time-scale 20] [--once] [--emulator URL] [--port 3000] [--data-dir ./data] [--b2b]`;

export interface DemoOptions {
  contacts: number;
  seed: number;
  timeScale: number;
  once: boolean;
  emulator?: string;
  port: number;
  dataDir: string;
  /** B2B portal: generated with the B2B profile, the B2B option turned on before the cycle */
  b2b?: boolean;
  /** Progress/diagnostics sink (stderr by default). */
  err?: (s: string) => void;
  /** Tests: an open, migrated store instead of DATA_DIR/pglite or DATABASE_URL. */
  db?: Db;
}

export interface DemoResult {
  contacts: number;
  deals: number;
  requests: number;
  operatingSeconds: number;
  portalSeconds: number;
  wallSeconds: number;
  /** Contacts whose fields were written into the portal (issue 4). */
  written: number;
  /** --b2b: companies labelled by the run, and whose fields were written */
  companies?: number;
  companiesWritten?: number;
}

export class DemoUsageError extends Error {}

export function parseDemoArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): DemoOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        contacts: { type: 'string', default: '500' },
        seed: { type: 'string', default: '42' },
        'time-scale': { type: 'string', default: '20' },
        once: { type: 'boolean', default: false },
        emulator: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        b2b: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new DemoUsageError((e as Error).message);
  }
  if (values.help) throw new DemoUsageError('');
  const int = (name: string, v: string, min: number, max: number) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new DemoUsageError(`--${name} must be an integer in ${min}..${max}, got "${v}"`);
    return Number(v);
  };
  const ts = Number(values['time-scale']);
  if (!(ts > 0) || !Number.isFinite(ts)) throw new DemoUsageError(`--time-scale must be a positive number, got "${values['time-scale']}"`);
  let emulator = values.emulator;
  if (emulator !== undefined) {
    try {
      const u = new URL(emulator);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
      emulator = `${u.origin}/`;
    } catch {
      throw new DemoUsageError(`--emulator must be the emulator's base URL (e.g. http://127.0.0.1:7777/), got "${values.emulator}"`);
    }
  }
  return {
    contacts: int('contacts', values.contacts, 0, 5_000_000),
    seed: int('seed', values.seed, 0, 2 ** 31 - 1),
    timeScale: ts,
    once: values.once,
    emulator,
    // --once defaults to an ephemeral port so it never collides with a running app.
    port: values.port !== undefined ? int('port', values.port, 0, 65535) : values.once ? 0 : 3000,
    dataDir: values['data-dir'] ?? env.DATA_DIR ?? './data',
    b2b: values.b2b,
  };
}

// ---- progress bar ----------------------------------------------------------------------

export interface ProgressInfo {
  phase?: string;
  rowsDone?: number;
  rowsExpected?: number | null;
  etaSeconds?: number | null;
}

function progressBar(err: (s: string) => void, tty: boolean): { update(p: ProgressInfo): void; done(): void } {
  const t0 = Date.now();
  let lastPrint = 0;
  let lastPhase = '';
  let line = '';
  return {
    update(p) {
      const done = p.rowsDone ?? 0;
      const total = p.rowsExpected ?? null;
      const elapsed = (Date.now() - t0) / 1000;
      const eta = p.etaSeconds ?? (total && done > 0 ? Math.max(0, ((total - done) * elapsed) / done) : null);
      const width = 28;
      const frac = total ? Math.min(1, done / total) : 0;
      const bar = total ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${(frac * 100).toFixed(0).padStart(3)}%` : '';
      line = `sync ${String(p.phase ?? '').padEnd(10)} ${bar} ${done}${total ? `/${total}` : ''} rows${eta !== null ? `  ETA ${Math.ceil(eta)}s` : ''}  (${elapsed.toFixed(1)}s)`;
      const now = Date.now();
      if (tty) {
        if (now - lastPrint > 100 || p.phase !== lastPhase) err(`\r\x1b[2K${line}`);
      } else if (now - lastPrint > 1000 || p.phase !== lastPhase) {
        err(`${line}\n`);
      } else return;
      lastPrint = now;
      lastPhase = p.phase ?? '';
    },
    done() {
      if (tty && line) err('\n');
    },
  };
}

// ---- the cycle: sync, score, write back ---------------------------------------------

export interface CycleOutcome {
  contacts: number;
  deals: number;
  written: number;
  companies?: number;
  companiesWritten?: number;
}

/** One full cycle for a portal, as the nightly job runs it. `asOf`: the portal clock's now. */
async function runCycle(db: Db, portalId: number, client: B24Client, asOf: Date, onProgress: (p: ProgressInfo) => void, err: (s: string) => void): Promise<CycleOutcome> {
  const s = await runSync({ db, portalId, client }, { kind: 'full', onProgress: (p) => onProgress(p as ProgressInfo) });
  const sc = await runScoring(db, portalId, asOf);
  err(`\ndemo: scored ${sc.contacts} contacts (${sc.buyers} buyers)${sc.companies ? `, ${sc.companies.companies} companies (${sc.companies.buyers} buyers)` : ''}\n`);
  await runAutomation(db, portalId, client);
  onProgress({ phase: 'write-back', rowsDone: 0, rowsExpected: sc.contacts });
  const w = await runWriteBack(db, portalId, client);
  if (w.errors.length) err(`demo: write-back reported ${w.errors.length} problem(s), first: ${JSON.stringify(w.errors[0])}\n`);
  const out: CycleOutcome = { contacts: Number(s.counts?.contacts ?? 0), deals: Number(s.counts?.deals ?? 0), written: w.written };
  if (sc.companies) Object.assign(out, { companies: sc.companies.companies, companiesWritten: w.companies?.written ?? 0 });
  return out;
}

/** Follows the first cycle the job queue runs after install (sync → score → write-back). */
async function followQueuedCycle(db: Db, portalId: number, onProgress: (p: ProgressInfo) => void): Promise<CycleOutcome> {
  const since = new Date(Date.now() - 1000);
  for (;;) {
    const run = await latestSyncRun(db, portalId);
    if (run && run.startedAt >= since) onProgress({ phase: `sync ${run.phase ?? ''}`.trim(), rowsDone: run.rowsDone, rowsExpected: run.rowsExpected ?? undefined });
    const w = await db.query<{ written: number; status: string }>(
      `SELECT written, status FROM writeback_runs WHERE portal_id = $1 AND started_at >= $2 AND status IN ('done', 'failed') ORDER BY id DESC LIMIT 1`,
      [portalId, since],
    );
    const done = w.rows[0];
    if (done && run) return { contacts: Number(run.counts.contacts ?? 0), deals: Number(run.counts.deals ?? 0), written: Number(done.written), ...(await companiesOf(db, portalId, since)) };
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The companies' part of the latest cycle since `since` (B2B): labelled and written, or nothing. */
async function companiesOf(db: Db, portalId: number, since: Date): Promise<Pick<CycleOutcome, 'companies' | 'companiesWritten'>> {
  const { rows } = await db.query<{ companies: unknown; written: unknown }>(
    `SELECT (s.counts->'companies'->>'companies') AS companies, (w.counts->'companies'->>'written') AS written
       FROM writeback_runs w JOIN score_runs s ON s.portal_id = w.portal_id AND s.id = w.score_run_id
      WHERE w.portal_id = $1 AND w.started_at >= $2 ORDER BY w.id DESC LIMIT 1`,
    [portalId, since],
  );
  const r = rows[0];
  return r && r.companies !== null ? { companies: Number(r.companies), companiesWritten: Number(r.written ?? 0) } : {};
}

// ---- emulator / app state --------------------------------------------------------------

interface EmuStats {
  /** Portal clock now, epoch ms. */
  now: number;
  requests: number;
  operatingSeconds: number;
  elapsedSeconds: number;
  timeScale: number;
}

async function emuStats(a: AxiosInstance): Promise<EmuStats> {
  const s = (await a.get('stats')).data as { clock: { now: number; elapsedSeconds: number; timeScale: number }; limits: { requests: number; methods: Record<string, { operatingSeconds: number }> } };
  let op = 0;
  for (const m of Object.values(s.limits.methods)) op += m.operatingSeconds;
  return { now: s.clock.now, requests: s.limits.requests, operatingSeconds: op, elapsedSeconds: s.clock.elapsedSeconds, timeScale: s.clock.timeScale };
}

interface AppCreds {
  clientId: string;
  clientSecret: string;
}

function demoKey(dataDir: string, err: (s: string) => void): void {
  if (process.env.TOKEN_ENCRYPTION_KEY) {
    setTokenCipher(createTokenCipher(parseTokenKey(process.env.TOKEN_ENCRYPTION_KEY)));
    return;
  }
  const file = path.join(dataDir, 'demo-token-key');
  if (!existsSync(file)) {
    writeFileSync(file, `${generateTokenKey()}\n`, { mode: 0o600 });
    err(`demo: generated a TOKEN_ENCRYPTION_KEY into ${file} (DEMO ONLY: in production pass the key in the environment, never next to the data)\n`);
  }
  chmodSync(file, 0o600);
  const key = readFileSync(file, 'utf8').trim();
  process.env.TOKEN_ENCRYPTION_KEY = key;
  setTokenCipher(createTokenCipher(parseTokenKey(key)));
}

function credsFor(dataDir: string, memberId: string): AppCreds {
  const file = path.join(dataDir, 'demo-apps.json');
  const all = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, AppCreds>) : {};
  let c = all[memberId];
  if (!c) {
    c = { clientId: `local.${randomBytes(7).toString('hex')}.${randomBytes(4).toString('hex')}`, clientSecret: randomBytes(24).toString('hex') };
    all[memberId] = c;
    writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
  }
  return c;
}

/** Installs (or reinstalls) the app into the portal like a portal admin would. */
async function installIntoPortal(a: AxiosInstance, app: RunningApp, creds: AppCreds, scopes: string[], err: (s: string) => void): Promise<string> {
  const apps = ((await a.get('apps')).data as { apps: Array<{ clientId: string; installed: boolean; uninstalled: boolean }> }).apps;
  const prev = apps.find((x) => x.clientId === creds.clientId);
  if (prev && !prev.uninstalled) {
    err('demo: the app is already installed on this portal: reinstalling (uninstall keeping data, then install)\n');
    const u = await a.post(`apps/${creds.clientId}/uninstall`, { clean: false });
    if (u.status !== 200) throw new Error(`emulator uninstall failed: HTTP ${u.status} ${JSON.stringify(u.data)}`);
  }
  const r = await a.post('apps/install', {
    clientId: creds.clientId, clientSecret: creds.clientSecret, code: 'b24_segments',
    appUrl: `${app.config.publicUrl}/app`, installUrl: `${app.config.publicUrl}/install`, scopes, mode: 'callback',
  });
  if (r.status !== 201) throw new Error(`emulator install failed: HTTP ${r.status} ${JSON.stringify(r.data)}`);
  const d = r.data.delivery as { status: number | null; error: string | null; payload: { auth: { member_id: string } } };
  if (d.status !== 200) throw new Error(`our install handler answered ${d.status ?? d.error}: see the app log above`);
  // Reference https://apidocs.bitrix24.com/settings/app-installation/mass-market-apps/index.html: a callback install counts as installed at once; the emulator still waits for installFinish.
  const f = await a.post(`apps/${creds.clientId}/install-finish`);
  if (f.status !== 200) throw new Error(`install-finish failed: HTTP ${f.status}`);
  return d.payload.auth.member_id;
}

// ---- main ------------------------------------------------------------------------------

export interface RunningDemo {
  result: DemoResult;
  portalUrl: string;
  appUrl: string;
  close(): Promise<void>;
}

export async function runDemo(o: DemoOptions): Promise<RunningDemo> {
  const err = o.err ?? ((s: string) => process.stderr.write(s));
  const t0 = performance.now();
  mkdirSync(o.dataDir, { recursive: true });
  demoKey(o.dataDir, err);
  if (!o.once && ensureUiBuilt()) err('demo: built the UI (ui/dist)\n');

  let emu: RunningEmulator | null = null;
  let emuUrl = o.emulator;
  if (!emuUrl) {
    const portal = new Portal({ clock: new PortalClock(Date.now(), o.timeScale) });
    // lost deals keep their reason as lost stages ("Lost: price"…), where the app reads it by default;
    // a few data-quality problems planted for the dashboard's data-quality panel (docs/data-quality.md)
    const g = generatePortal(portal, {
      contacts: o.contacts, seed: o.seed, profile: o.b2b ? 'b2b' : 'shop', refusals: 'stages', quality: demoQualityPlan(o.contacts),
    });
    err(`demo: generated ${g.contacts} contacts, ${g.companies} companies, ${g.deals} deals (seed ${o.seed}, ${g.profile})\n`);
    emu = await startEmulator({ port: 0, portal, log: (l) => err(`${l}\n`) });
    emuUrl = emu.url;
  }
  // No keep-alive: the emulator drops idle sockets after 5 s, and app start-up can take longer.
  const a = axios.create({ baseURL: `${emuUrl}_emulator/`, validateStatus: () => true, timeout: 60_000, httpAgent: new http.Agent({ keepAlive: false }) });
  const info = (await a.get('portal')).data as { memberId: string; domain: string; counts: { contacts: number; deals: number } };
  const timeScale = (await emuStats(a)).timeScale;

  const creds = credsFor(o.dataDir, info.memberId);
  let app: RunningApp | null = null;
  const close = async () => {
    await app?.close();
    await emu?.close();
  };
  try {
    app = await startApp({
      db: o.db,
      config: {
        port: o.port, host: '127.0.0.1', clientId: creds.clientId, clientSecret: creds.clientSecret, dataDir: path.join(o.dataDir, 'pglite'), logLevel: 'warn',
        // the emulator is the OAuth server of its portal: installs are proven there
        oauthServerEndpoints: [`${emuUrl.replace(/\/+$/, '')}/rest/`],
      },
      limiter: { timeScale },
      // --once: no job workers (the cycle runs here); serving: workers process events and schedules.
      workers: o.once ? false : { debounceSec: 5 },
      log: createLogger((process.env.LOG_LEVEL as 'info') ?? 'warn'),
    });
    const { loadManifest } = await import('../manifest/index.js');
    const memberId = await installIntoPortal(a, app, creds, loadManifest().app.scopes, err);
    const portal = await getPortalByMemberId(app.db, memberId);
    if (!portal) throw new Error('install finished but the portal is not in the store');
    err(`demo: installed on ${info.domain} (portal #${portal.id}, ${portal.status})\n`);
    if (o.b2b) {
      // the settings page's B2B checkbox: companies are scored and written from the first cycle on
      const b2b = settingsPatch(['b2b'], { b2b: true });
      if (b2b.ok) await updatePortalSettings(app.db, portal.id, b2b.stored);
      err('demo: B2B on: companies are scored and their fields written\n');
    }

    // ---- first full cycle
    const before = await emuStats(a);
    const w0 = performance.now();
    const client = app.deps.clientFor(portal.id);
    const bar = progressBar(err, !!process.stderr.isTTY && !o.err);
    // --once runs the cycle here, in this process, to report its figures; serving, the job
    // queue runs it (install queued it), so nothing runs one portal twice.
    const outcome = o.once
      ? await runCycle(app.db, portal.id, client, new Date(before.now), (p) => bar.update(p), err)
      : await followQueuedCycle(app.db, portal.id, (p) => bar.update(p));
    bar.done();
    const after = await emuStats(a);
    const result: DemoResult = {
      contacts: outcome.contacts,
      deals: outcome.deals,
      requests: after.requests - before.requests,
      operatingSeconds: Math.round((after.operatingSeconds - before.operatingSeconds) * 1000) / 1000,
      portalSeconds: Math.round((after.elapsedSeconds - before.elapsedSeconds) * 1000) / 1000,
      wallSeconds: Math.round((performance.now() - w0) / 10) / 100,
      written: outcome.written,
      ...(outcome.companies !== undefined ? { companies: outcome.companies, companiesWritten: outcome.companiesWritten ?? 0 } : {}),
    };
    err(`demo: first cycle done in ${((performance.now() - t0) / 1000).toFixed(1)} s total\n`);
    return { result, portalUrl: `${emuUrl}app/${creds.clientId}`, appUrl: `${app.config.publicUrl}/app`, close };
  } catch (e) {
    await close();
    throw e;
  }
}

async function main(): Promise<void> {
  let o: DemoOptions;
  try {
    o = parseDemoArgs(process.argv.slice(2));
  } catch (e) {
    const msg = (e as Error).message;
    process.stderr.write(`${msg ? `demo: ${msg}\n` : ''}${USAGE}\n`);
    process.exit(msg ? 2 : 0);
  }
  const d = await runDemo(o);
  if (o.once) {
    await d.close();
    process.stdout.write(`${JSON.stringify(d.result)}\n`);
    process.exit(0);
  }
  process.stderr.write(`demo: ${JSON.stringify(d.result)}\n`);
  process.stdout.write(`Portal: ${d.portalUrl}  (open it; the app is in the left menu / contact${o.b2b ? ' and company' : ''} cards)\nApp: ${d.appUrl}\n`);
  const stop = () => void d.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && /demo\.(ts|js)$/.test(process.argv[1])) {
  main().catch((e: unknown) => {
    process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
