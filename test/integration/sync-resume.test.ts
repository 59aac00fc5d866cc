/**
 * Crash-resume: a child process syncs a portal into PostgreSQL and is SIGKILLed mid-run;
 * after the app's startup recovery (interruptStaleSyncRuns) a second child resumes the same
 * run from its checkpoint. The stored CRM tables must equal an uninterrupted run's, and the
 * resumed part must not start over. PostgreSQL only (a SIGKILLed PGlite directory may not
 * survive); it fails, never skips, when no server is reachable (TEST_DB_KINDS=pglite leaves it out by name).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { WebhookTokenSource } from '../../src/b24/auth.js';
import { interruptStaleSyncRuns, latestSyncRun, listSyncRuns } from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';
import { createTestDb, kindsWanted, type TestDb } from '../helpers/db.js';
import { createPortalRow, dumpCrm, expectedFromPortal } from './helpers/sync-env.js';

const TS = 40; // slow enough to kill the child mid-run
const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'helpers', 'sync-child.ts');

function runChild(args: string[], killWhen?: () => Promise<boolean>): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: path.join(here, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    let timer: NodeJS.Timeout | undefined;
    if (killWhen) {
      const poll = async () => {
        if (child.exitCode !== null) return;
        if (await killWhen().catch(() => false)) child.kill('SIGKILL');
        else timer = setTimeout(poll, 25);
      };
      timer = setTimeout(poll, 25);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => { if (timer) clearTimeout(timer); resolve({ code, signal, out, err }); });
  });
}

// PostgreSQL only (child processes share the database); never skipped for lack of a server: it fails
const suite = describe.runIf(kindsWanted().includes('postgres'));

suite('sync: kill -9 mid-run, resume from the checkpoint [postgres]', () => {
  let tp: TestPortal;
  let t: TestDb;
  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 2000, deals: 8000, seed: 21, timeScale: TS });
    t = await createTestDb('postgres');
  }, 120_000);
  afterAll(async () => {
    await tp?.emu.close();
    await t?.cleanup();
  });

  it('the resumed run stores exactly what an uninterrupted run stores', async () => {
    const db = t.db;
    // uninterrupted reference run (in process)
    const refPid = await createPortalRow(db);
    const client = new B24Client({ tokens: new WebhookTokenSource(tp.emu.webhookUrl), limiter: { plan: 'standard', timeScale: TS }, retryBaseMs: 20 });
    const ref = await runSync({ db, portalId: refPid, client }, { kind: 'full' });
    const exp = expectedFromPortal(tp.emu.portal);
    expect(ref.totals).toMatchObject({ contacts: exp.contacts, deals: exp.deals, productRows: exp.productRows });

    // crash run
    const pid = await createPortalRow(db);
    const args = [t.url!, String(pid), tp.emu.webhookUrl, String(TS)];
    let killedAt = 0;
    const first = await runChild(args, async () => {
      const run = await latestSyncRun(db, pid);
      const c = (run?.counts ?? {}) as Record<string, number>;
      // mid-run: some deals AND some product rows committed, deals not finished
      if (run && (c.deals ?? 0) > 1500 && (c.productRows ?? 0) > 0 && (c.deals ?? 0) < exp.deals) { killedAt = run.rowsDone; return true; }
      return false;
    });
    expect(first.signal, `child 1 was not killed mid-run: ${first.err.slice(-500)}`).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThan(0);
    const stale = await latestSyncRun(db, pid);
    expect(stale?.status).toBe('running');

    // the app's startup recovery, then a fresh process continues the run
    expect(await interruptStaleSyncRuns(db, new Date(Date.now() + 1000))).toBeGreaterThanOrEqual(1);
    const second = await runChild(args);
    expect(second.code, second.err.slice(-2000)).toBe(0);
    const s = JSON.parse(second.out.trim().split('\n').at(-1)!) as { runId: number; resumed: boolean; requests: number; calls: number };
    expect(s.resumed).toBe(true);
    expect(s.runId).toBe(stale!.id);
    expect(s.calls).toBeLessThan(ref.calls); // it did not start over
    const runs = await listSyncRuns(db, pid);
    expect(runs.map((r) => r.status)).toEqual(['done']);

    expect(await dumpCrm(db, pid)).toEqual(await dumpCrm(db, refPid));
    console.log(`[sync-resume] killed at ${killedAt} rows; resumed part ${s.calls} calls vs ${ref.calls} uninterrupted`);
  }, 180_000);
});
