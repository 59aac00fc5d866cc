#!/usr/bin/env node
/**
 * The static half of `npm test`: the TypeScript check of the app and of the UI and the lint, run at
 * the same time (they are independent; one after the other they took ~45 s of a 2-core CI machine,
 * together ~25 s). Each one's output is printed when it ends, under its name; the exit code is 1 when
 * any of them failed, so `npm test` stops before vitest.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const checks = [
  ['tsc', [bin('tsc'), '--noEmit', '-p', 'tsconfig.json']],
  ['vue-tsc', [bin('vue-tsc'), '--noEmit', '-p', 'ui/tsconfig.json']],
  ['eslint', [bin('eslint'), '.']],
];

const run = ([name, [cmd, ...args]]) => new Promise((resolve) => {
  const t0 = Date.now();
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.on('error', (err) => resolve({ name, code: 1, out: `${err.message}\n`, s: 0 }));
  child.on('close', (code) => resolve({ name, code: code ?? 1, out, s: (Date.now() - t0) / 1000 }));
});

const results = await Promise.all(checks.map(run));
for (const r of results) {
  console.log(`${r.code === 0 ? 'ok' : 'FAILED'}: ${r.name} (${r.s.toFixed(1)} s)`);
  if (r.out.trim()) console.log(r.out.trimEnd());
}
process.exitCode = results.every((r) => r.code === 0) ? 0 : 1;
