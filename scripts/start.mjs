#!/usr/bin/env node
// `npm start -- --role web|worker|all`: runs the compiled server (dist/src/main.js). Without a
// build it says so and exits 1 (no TypeScript at run time: build first with `npm run build`).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'dist/src/main.js');
if (!existsSync(entry)) {
  process.stderr.write(`b24-segments: ${path.relative(process.cwd(), entry) || entry} is missing: run \`npm run build\` first (npm start runs the compiled JavaScript)\n`);
  process.exit(1);
}
if (!existsSync(path.join(root, 'ui/dist/index.html'))) {
  process.stderr.write('b24-segments: ui/dist is missing (the app pages fall back to a status page): `npm run build` builds it\n');
}
const { main } = await import(pathToFileURL(entry).href);
await main(process.argv.slice(2));
