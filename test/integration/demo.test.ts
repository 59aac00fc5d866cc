/**
 * The demo end to end: in-process against a known emulator (twice, same DATA_DIR: the second
 * run reinstalls without duplicating bindings), and spawned like a user runs it
 * (`npm run demo -- --once --contacts 300`), checking the JSON line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, eachDb, postgresUnavailable } from '../helpers/db.js';
import { runDemo, type DemoResult } from '../../src/demo.js';
import { Portal } from '../../src/emulator/portal.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { startPortal } from './server-harness.js';

const FIELDS = ['contacts', 'deals', 'requests', 'operatingSeconds', 'portalSeconds', 'wallSeconds'] as const;

function checkShape(r: DemoResult): void {
  expect(Object.keys(r)).toEqual(expect.arrayContaining([...FIELDS]));
  for (const k of FIELDS) {
    expect(typeof r[k], k).toBe('number');
    expect(Number.isFinite(r[k]), k).toBe(true);
    expect(r[k], k).toBeGreaterThanOrEqual(0);
  }
  expect(r.requests).toBeGreaterThan(0);
}

eachDb('demo in-process', (getDb) => {
  let emu: RunningEmulator;
  let dir: string;
  beforeAll(async () => {
    emu = await startPortal({ contacts: 300, seed: 11, timeScale: 20 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'b24seg-demo-'));
  });
  afterAll(async () => {
    await emu?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs through the portal, runs the first cycle, and a second run on the same DATA_DIR reinstalls cleanly', async () => {
    const run = async () => {
      const d = await runDemo({ contacts: 0, seed: 0, timeScale: 20, once: true, port: 0, dataDir: dir, emulator: emu.url, db: getDb(), err: () => {} });
      await d.close();
      return d.result;
    };
    const r1 = await run();
    checkShape(r1);
    expect(r1.contacts).toBe(emu.portal.contacts.size);
    expect(r1.deals).toBe(emu.portal.deals.size);
    const bindings = () => [emu.portal.placements.length, emu.portal.eventBindings.length];
    const b1 = bindings();
    expect(b1).toEqual([3, 13]); // the manifest's placements (contact tab, company tab, list toolbar) and events
    const r2 = await run();
    checkShape(r2);
    expect(r2.contacts).toBe(r1.contacts);
    expect(r2.deals).toBe(r1.deals);
    expect(bindings()).toEqual(b1);
    const apps = [...emu.portal.apps.values()];
    expect(apps).toHaveLength(1);
    expect(apps[0]!.installed).toBe(true);
    const { rows } = await getDb().query<{ n: number; status: string }>(`SELECT count(*)::int AS n, min(status) AS status FROM portals WHERE member_id = $1`, [emu.portal.memberId]);
    expect(rows[0]).toEqual({ n: 1, status: 'active' });
  });
});

eachDb('demo --b2b in-process (the contract: a B2B portal, B2B on, the cycle scores and writes companies)', (getDb) => {
  it('generates a B2B portal, turns B2B on and reports the companies labelled and written', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'b24seg-demo-b2b-'));
    try {
      const d = await runDemo({ contacts: 300, seed: 5, timeScale: 20, once: true, port: 0, dataDir: dir, db: getDb(), err: () => {}, b2b: true });
      await d.close();
      // the same portal, generated again here (same seed and profile)
      const g = generatePortal(new Portal({ clock: new PortalClock(Date.now(), 1) }), { contacts: 300, seed: 5, profile: 'b2b' });
      expect(g.profile).toBe('b2b');
      expect(d.result.companies).toBe(g.companies);
      const db = getDb();
      const { rows: [p] } = await db.query<{ id: number; b2b: boolean }>(`SELECT id, (settings->>'b2b')::boolean AS b2b FROM portals ORDER BY id DESC LIMIT 1`);
      expect(p!.b2b).toBe(true);
      const { rows: [w] } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM written_values WHERE portal_id = $1 AND entity = 'company'`, [p!.id]);
      expect(d.result.companiesWritten).toBe(w!.n);
      expect(w!.n).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run demo -- --once --contacts 300 (spawned)', () => {
  it('prints one JSON line last on stdout, consistent with the generated portal', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'b24seg-demo-spawn-'));
    // PostgreSQL when available (a fresh database): PGlite's first on-disk initdb takes ~20 s.
    const pg = postgresUnavailable ? null : await createTestDb('postgres');
    try {
      const env = { ...process.env, DATA_DIR: dir, ...(pg?.url ? { DATABASE_URL: pg.url } : { DATABASE_URL: '' }), TOKEN_ENCRYPTION_KEY: '', LOG_LEVEL: 'warn' };
      const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const p = spawn('npm', ['run', '-s', 'demo', '--', '--once', '--contacts', '300'], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        const timer = setTimeout(() => p.kill('SIGKILL'), 110_000);
        p.on('error', reject);
        p.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      });
      expect(out.code, out.stderr.slice(-2000)).toBe(0);
      const lines = out.stdout.trim().split('\n');
      const r = JSON.parse(lines[lines.length - 1]!) as DemoResult;
      checkShape(r);
      const expected = generatePortal(new Portal({ clock: new PortalClock(Date.now(), 1) }), { contacts: 300, seed: 42 });
      expect(r.contacts).toBe(300);
      expect(r.contacts).toBe(expected.contacts);
      expect(r.deals).toBe(expected.deals);
      expect(out.stderr).toMatch(/demo: installed on/);
    } finally {
      await pg?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
