/**
 * Builds the Vue UI (`ui/dist`) when it is missing or older than its sources, with the
 * project's own vite. Used by `npm run demo` and once before the test suite (vitest globalSetup),
 * so a fresh clone needs no separate build step.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function newestMtime(dir: string): number {
  let m = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    m = Math.max(m, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return m;
}

/** true when ui/dist was rebuilt. */
export function ensureUiBuilt(): boolean {
  const index = path.join(ROOT, 'ui/dist/index.html');
  const src = Math.max(
    newestMtime(path.join(ROOT, 'ui/src')),
    statSync(path.join(ROOT, 'ui/vite.config.ts')).mtimeMs,
    statSync(path.join(ROOT, 'ui/index.html')).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= src) return false;
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return true;
}
