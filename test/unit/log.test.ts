/**
 * The structured logger (src/server/log.ts, pino + pino-roll): the line format callers and tests
 * rely on, credentials never written, lines in LOG_DIR, daily file names, rotation and retention.
 */
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogger, rollOptions } from '../../src/server/log.js';

const SECRETS = {
  access: 'acc-7f3a9c1e-never-logged',
  refresh: 'ref-2b8d4e6f-never-logged',
  app: 'apptok-91c2-never-logged',
  client: 'clientsecret-55aa-never-logged',
  authId: 'authid-3c3c-never-logged',
  refreshId: 'refreshid-4d4d-never-logged',
  bearer: 'bearer-6e6e-never-logged',
  cookie: 'cookie-8f8f-never-logged',
  xb24: 'xb24-9090-never-logged',
};

const capture = (level: 'debug' | 'info' = 'debug') => {
  const lines: string[] = [];
  return { lines, log: createLogger(level, (l) => lines.push(l)) };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `f` is true (file output goes through pino's worker thread). */
async function until(f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(25);
  }
}

/** The local day as pino-roll's 'yyyy-MM-dd' writes it. */
const today = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

describe('log lines', () => {
  it('are one JSON object per line: level name, ISO time t, msg, the fields; below the level nothing', () => {
    const { lines, log } = capture('info');
    log.debug('not written', { a: 1 });
    log.info('app: listening', { url: 'http://127.0.0.1:3000', n: 3, ok: true, list: [1, 2] });
    log.warn('w');
    log.error('e', { status: 500 });
    expect(lines).toHaveLength(3);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toEqual({ level: 'info', t: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), msg: 'app: listening', url: 'http://127.0.0.1:3000', n: 3, ok: true, list: [1, 2] });
    expect(parsed.map((p) => p.level)).toEqual(['info', 'warn', 'error']);
    expect(parsed[2]).toMatchObject({ msg: 'e', status: 500 });
    for (const l of lines) expect(l).not.toContain('\n');
  });

  it('never show a credential: by key at any depth, in headers, in URLs and JSON texts, in the message, in errors', () => {
    const { lines, log } = capture();
    const s = SECRETS;
    log.info('install payload', {
      access_token: s.access, refresh_token: s.refresh, application_token: s.app, client_secret: s.client, AUTH_ID: s.authId, REFRESH_ID: s.refreshId,
      auth: { access_token: s.access, refresh_token: s.refresh, application_token: s.app, member_id: 'm-visible' },
    });
    log.warn('request failed', {
      req: { headers: { Authorization: `Bearer ${s.bearer}`, authorization: `Bearer ${s.bearer}`, cookie: s.cookie, 'X-B24-Auth': s.xb24, accept: 'application/json' } },
      deep: { a: { b: { c: { d: { refresh_token: s.refresh, e: { f: { g: { h: { access_token: s.access } } } } } } } } },
      list: [{ client_secret: s.client }, { nested: [{ AUTH_ID: s.authId }] }],
      url: `https://portal.example/rest/crm.contact.list.json?auth=${s.access}&start=50`,
      form: `auth%5Bmember_id%5D=m&auth[access_token]=${s.access}&REFRESH_ID=${s.refreshId}&AUTH_ID=${s.authId}`,
      body: `{"error":"expired_token","access_token":"${s.access}","refresh_token":"${s.refresh}","client_secret":"${s.client}"}`,
      error: new Error(`POST https://oauth.example/oauth/token/?client_secret=${s.client}&refresh_token=${s.refresh} failed`),
    });
    log.info('auth as a string', { auth: s.access });
    log.error(`refresh failed for https://p.example/rest/?auth=${s.access} with Bearer ${s.bearer}`);
    const raw = lines.join('\n');
    for (const v of Object.values(s)) expect(raw, v).not.toContain(v);
    const [a, b, d, c] = lines.map((l) => JSON.parse(l) as Record<string, any>) as [Record<string, any>, Record<string, any>, Record<string, any>, Record<string, any>];
    expect(a).toMatchObject({ access_token: '[redacted]', refresh_token: '[redacted]', application_token: '[redacted]', client_secret: '[redacted]', AUTH_ID: '[redacted]', REFRESH_ID: '[redacted]',
      auth: { access_token: '[redacted]', refresh_token: '[redacted]', application_token: '[redacted]', member_id: 'm-visible' } });
    expect(b.req.headers).toEqual({ Authorization: '[redacted]', authorization: '[redacted]', cookie: '[redacted]', 'X-B24-Auth': '[redacted]', accept: 'application/json' });
    expect(b.deep.a.b.c.d.refresh_token).toBe('[redacted]');
    expect(b.url).toBe('https://portal.example/rest/crm.contact.list.json?auth=[redacted]&start=50');
    expect(b.body).toBe('{"error":"expired_token","access_token":"[redacted]","refresh_token":"[redacted]","client_secret":"[redacted]"}');
    expect(b.error).toEqual({ name: 'Error', message: 'POST https://oauth.example/oauth/token/?client_secret=[redacted]&refresh_token=[redacted] failed' });
    expect(d.auth).toBe('[redacted]');
    expect(c.msg).toBe('refresh failed for https://p.example/rest/?auth=[redacted] with Bearer [redacted]');
    // what is not a credential stays readable
    expect(raw).toContain('m-visible');
    expect(raw).toContain('expired_token');
  });
});

describe('log files (LOG_DIR)', () => {
  it('every line goes to stderr (here: the sink) and to today\'s file app.YYYY-MM-DD.1.log, with current.log pointing at it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'b24seg-log-'));
    const lines: string[] = [];
    const log = createLogger({ level: 'info', sink: (l) => lines.push(l), files: { dir: path.join(dir, 'web-1'), retentionDays: 3 } });
    log.info('first', { access_token: SECRETS.access });
    log.debug('below the level');
    log.warn('second', { n: 2 });
    await log.close();
    const file = path.join(dir, 'web-1', `app.${today()}.1.log`);
    await until(() => readdirSync(path.join(dir, 'web-1')).includes(`app.${today()}.1.log`) && readFileSync(file, 'utf8').split('\n').filter(Boolean).length === 2);
    const inFile = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(inFile).toEqual(lines);
    expect(inFile.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['first', 'second']);
    expect(inFile.join('\n')).not.toContain(SECRETS.access);
    expect(readlinkSync(path.join(dir, 'web-1', 'current.log'))).toBe(`app.${today()}.1.log`);
  });

  it('a restart on the same day appends to the day\'s file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'b24seg-log-'));
    for (const msg of ['before restart', 'after restart']) {
      const log = createLogger({ level: 'info', sink: () => {}, files: { dir, retentionDays: 3 } });
      log.info(msg);
      await log.close();
    }
    const file = path.join(dir, `app.${today()}.1.log`);
    await until(() => readFileSync(file, 'utf8').includes('after restart'));
    expect(readdirSync(dir).filter((f) => f.startsWith('app.')).sort()).toEqual([`app.${today()}.1.log`]);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['before restart', 'after restart']);
  });

  it('daily rotation keeps today plus LOG_RETENTION_DAYS files: older ones (also from earlier processes) are removed at a roll', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'b24seg-log-'));
    // files of earlier days and processes: 6 days back
    const old = ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04', '2026-01-05', '2026-01-06'].map((d) => `app.${d}.1.log`);
    for (const f of old) writeFileSync(path.join(dir, f), '{"msg":"old"}\n');
    writeFileSync(path.join(dir, 'other-tool.log'), 'not ours\n');
    // the daily roll, sped up: every 400 ms (the retention rule is the same: count = days + 1)
    const log = createLogger({ level: 'info', sink: () => {}, files: { dir, retentionDays: 3, frequency: 400 } });
    for (let i = 0; i < 12; i++) {
      log.info('tick', { i });
      await sleep(100);
    }
    await log.close();
    const ours = () => readdirSync(dir).filter((f) => /^app\.\d{4}-\d\d-\d\d\.\d+\.log$/.test(f));
    await until(() => ours().length === 4 && !ours().some((f) => f.startsWith('app.2026-01-0')));
    const files = ours();
    expect(files).toHaveLength(4); // today's active file + 3 more
    expect(files.every((f) => f.startsWith(`app.${today()}.`))).toBe(true);
    expect(readdirSync(dir)).toContain('other-tool.log'); // not a file of ours: left alone
    // the newest file holds the last lines; no line is in two files
    const byNumber = files.sort((x, y) => Number(x.split('.')[2]) - Number(y.split('.')[2]));
    const ticks = byNumber.flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { i: number }).i));
    expect(ticks.at(-1)).toBe(11);
    expect(new Set(ticks).size).toBe(ticks.length);
  });

  it('the production setting: daily files, today + LOG_RETENTION_DAYS kept; LOG_RETENTION_DAYS below 3 is refused', () => {
    const cfg = loadConfig({ LOG_DIR: '/var/log/b24seg/web-1', LOG_RETENTION_DAYS: '5' });
    expect(cfg.logDir).toBe('/var/log/b24seg/web-1');
    expect(rollOptions({ dir: cfg.logDir!, retentionDays: cfg.logRetentionDays })).toMatchObject({
      file: '/var/log/b24seg/web-1/app', frequency: 'daily', dateFormat: 'yyyy-MM-dd', limit: { count: 6, removeOtherLogFiles: true },
    });
    expect(loadConfig({}).logRetentionDays).toBe(7);
    expect(loadConfig({}).logDir).toBeUndefined();
    expect(() => loadConfig({ LOG_RETENTION_DAYS: '2' })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_RETENTION_DAYS: '2' })).toThrow(/LOG_RETENTION_DAYS: must be at least 3/);
  });
});
