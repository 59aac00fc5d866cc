/**
 * The app's real worker processes for a bench: `node --import tsx src/main.ts --role worker`, as
 * production runs them (pg-boss queues, leases, the per-portal lock, the offline poll). Their peak
 * RSS (VmHWM) and CPU seconds are read from /proc while they run, so the figures are theirs alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WorkerProc {
  id: string;
  proc: ChildProcess;
  /** The last lines the process wrote to stderr (its log). */
  tail: string[];
  /** Peak resident set (VmHWM), bytes, as last read. */
  peakRss: number;
  /** User + system CPU seconds, as last read. */
  cpuSec: number;
  exited: Promise<number | null>;
}

/** Reads VmHWM and CPU time of a live process into `w` (a process already gone keeps its last figures). */
function sample(w: WorkerProc): void {
  const pid = w.proc.pid;
  if (!pid || w.proc.exitCode !== null) return;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) w.peakRss = Math.max(w.peakRss, Number(m[1]) * 1024);
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    w.cpuSec = (Number(f[11]) + Number(f[12])) / 100;
  } catch { /* gone between the check and the read */ }
}

export interface WorkerPool {
  procs: WorkerProc[];
  /** Reads every process's figures now. */
  sample(): void;
  /** SIGTERM, then waits for each to exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

/** Spawns `n` workers with `env` and waits until each logged "main: started". */
export async function startWorkerPool(n: number, env: NodeJS.ProcessEnv, startTimeoutMs = 120_000): Promise<WorkerPool> {
  const procs: WorkerProc[] = [];
  for (let i = 0; i < n; i++) {
    const id = `bench-w${i + 1}`;
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'worker'], { cwd: ROOT, env: { ...env, WORKER_ID: id }, stdio: ['ignore', 'ignore', 'pipe'] });
    const w: WorkerProc = { id, proc, tail: [], peakRss: 0, cpuSec: 0, exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      w.tail.push(d);
      if (w.tail.length > 200) w.tail.splice(0, w.tail.length - 200);
    });
    procs.push(w);
  }
  const until = Date.now() + startTimeoutMs;
  for (const w of procs) {
    while (!w.tail.join('').includes('"main: started"')) {
      if (Date.now() > until || w.proc.exitCode !== null) throw new Error(`worker ${w.id} did not start: ${w.tail.join('').slice(-2000)}`);
      await sleep(100);
    }
  }
  const timer = setInterval(() => procs.forEach(sample), 1000);
  timer.unref();
  return {
    procs,
    sample: () => procs.forEach(sample),
    async stop(timeoutMs = 30_000) {
      procs.forEach(sample);
      clearInterval(timer);
      for (const w of procs) if (w.proc.exitCode === null) w.proc.kill('SIGTERM');
      await Promise.all(procs.map(async (w) => {
        const t = setTimeout(() => w.proc.kill('SIGKILL'), timeoutMs);
        await w.exited;
        clearTimeout(t);
      }));
    },
  };
}
