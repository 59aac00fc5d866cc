/**
 * `npm run bench -- portals` end to end at a small size, PostgreSQL only: 3 emulated portals of
 * 30 contacts, 2 real worker processes. The last stdout line is one JSON object; its fields are
 * present and agree with each other and with the size asked for.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kindsWanted, postgresUnavailable } from '../helpers/db.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'portals', ...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    p.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Phase {
  portals: number; workers: number; wallSec: number; portalHours: number; requests: number; portalsDone: number; portalsDoneTwice: number;
  jobsFailed: number; jobsRetried: number; peakRssMb: number[]; pgBytes: number;
}

for (const _kind of kindsWanted().filter((k) => k === 'postgres')) {
  describe('bench portals [postgres]', () => {
    it('--portals 3 --contacts 30 --workers 2 --json: every portal done once per phase, consistent figures', async () => {
      if (postgresUnavailable) throw new Error(`PostgreSQL not reachable: ${postgresUnavailable}`);
      const r = await runBench(['--portals', '3', '--contacts', '30', '--workers', '2', '--window-h', '4', '--json']);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        portals: number; workers: number; windowH: number; install: Phase; night: Phase; holds: boolean; portalsPerWorker: number; ok: boolean;
        fieldsChecked: { portals: number; contacts: number; mismatches: number };
      };
      expect(out.ok).toBe(true);
      expect([out.portals, out.workers]).toEqual([3, 2]);
      for (const p of [out.install, out.night]) {
        expect([p.portals, p.workers, p.portalsDone, p.portalsDoneTwice, p.jobsFailed]).toEqual([3, 2, 3, 0, 0]);
        expect(p.requests).toBeGreaterThan(0);
        expect(p.wallSec).toBeGreaterThan(0);
        expect(p.portalHours).toBeGreaterThan(0);
        // jobs run side by side, but no portal's cycle can use more than the phase's wall time
        expect(p.portalHours * 3600).toBeLessThanOrEqual(p.wallSec * p.portals + 1);
        expect(p.peakRssMb).toHaveLength(2);
        for (const m of p.peakRssMb) expect(m).toBeGreaterThan(20);
        expect(p.pgBytes).toBeGreaterThan(1e6);
      }
      expect(out.night.requests).toBeLessThan(out.install.requests * 2);
      expect(typeof out.holds).toBe('boolean');
      expect(out.holds).toBe(out.night.wallSec <= out.windowH * 3600);
      // K = window / (wall × workers / portals), computed here from the reported figures
      expect(out.portalsPerWorker).toBe(Math.round((out.windowH * 3600) / (out.night.wallSec * out.workers / out.portals)));
      expect(out.fieldsChecked.portals).toBe(3);
      expect(out.fieldsChecked.contacts).toBeGreaterThan(0);
      expect(out.fieldsChecked.mismatches).toBe(0);
    }, 120_000);
  });
}
