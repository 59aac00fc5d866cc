/**
 * The production path as `npm run build && npm start -- --role all` runs it: the compiled
 * JavaScript in dist/ (no TypeScript at run time) starts, finds what it reads beside itself
 * (manifest, migrations, the privacy policy and terms it serves), writes its log lines to LOG_DIR
 * as well as stderr, answers health and the legal pages, and exits 0 on SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import axios from 'axios';
import { expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('the built server starts with --role all under a capped heap, serves /readyz, /privacy and /terms, logs to LOG_DIR, and stops on SIGTERM', async () => {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--no-ui'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  expect(build.status, build.stderr + build.stdout).toBe(0);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'b24seg-built-'));
  const proc = spawn(process.execPath, [path.join(ROOT, 'scripts/start.mjs'), '--role', 'all'], {
    cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DATABASE_URL: '', DATA_DIR: path.join(tmp, 'data'), LOG_DIR: path.join(tmp, 'logs'), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info',
      NODE_OPTIONS: '--max-old-space-size=640' },
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    const until = Date.now() + 120_000;
    const startLine = (): { url: string; heapLimitMb: number } | undefined => err.split('\n').flatMap((l) => {
      try { const j = JSON.parse(l) as { msg?: string; url?: string; heapLimitMb: number }; return j.msg === 'main: started' && j.url ? [{ url: j.url, heapLimitMb: j.heapLimitMb }] : []; } catch { return []; }
    })[0];
    const started = () => startLine()?.url;
    while (!started()) {
      if (Date.now() > until || proc.exitCode !== null) throw new Error(`the built server did not start: ${err.slice(-1500)}`);
      await sleep(100);
    }
    const url = started()!;
    // the V8 heap cap of docs/deploy.md reaches the process (the limit is old space + the young generation)
    expect(startLine()!.heapLimitMb).toBeGreaterThanOrEqual(640);
    expect(startLine()!.heapLimitMb).toBeLessThan(720);
    expect((await axios.get(`${url}/readyz`)).status).toBe(200);
    const privacy = await axios.get(`${url}/privacy`);
    expect(privacy.status).toBe(200);
    expect(privacy.data).toContain(readFileSync(path.join(ROOT, 'docs/privacy.md'), 'utf8').split('\n')[0]!.replace(/^#\s*/, ''));
    expect((await axios.get(`${url}/terms`)).status).toBe(200);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const files = readdirSync(path.join(tmp, 'logs')).filter((f) => f.startsWith('app.'));
    expect(files.length).toBeGreaterThan(0);
    expect(files.map((f) => readFileSync(path.join(tmp, 'logs', f), 'utf8')).join('')).toContain('main: started');
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await exited;
    rmSync(tmp, { recursive: true, force: true });
  }
}, 420_000);
