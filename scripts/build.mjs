#!/usr/bin/env node
// `npm run build`: the server compiled to JavaScript in dist/ (tsc -p tsconfig.build.json: ESM,
// NodeNext; no TypeScript compiler at run time), the files the compiled code reads beside it
// (manifest/*.json and the market texts), and the Vue UI (ui/dist, `npm run build:ui`).
// `npm start` then runs `node dist/src/main.js` (through scripts/start.mjs).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (file, args) => execFileSync(process.execPath, [path.join(root, file), ...args], { cwd: root, stdio: 'inherit' });

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
run('node_modules/typescript/bin/tsc', ['-p', 'tsconfig.build.json']);
// the manifest's data files (manifest/index.ts reads them next to itself)
const manifestOut = path.join(root, 'dist/manifest');
mkdirSync(manifestOut, { recursive: true });
for (const f of readdirSync(path.join(root, 'manifest'))) if (f.endsWith('.json')) cpSync(path.join(root, 'manifest', f), path.join(manifestOut, f));
cpSync(path.join(root, 'manifest/market'), path.join(manifestOut, 'market'), { recursive: true });
// the privacy policy and terms the app serves at /privacy and /terms (src/server/legal.ts reads them
// from docs/ relative to itself: dist/src/server → dist/docs)
mkdirSync(path.join(root, 'dist/docs'), { recursive: true });
for (const f of ['privacy.md', 'terms.md']) cpSync(path.join(root, 'docs', f), path.join(root, 'dist/docs', f));
// the emulator's portal page assets (the demo and `npm run emulator` from dist)
cpSync(path.join(root, 'src/emulator/host/assets'), path.join(root, 'dist/src/emulator/host/assets'), { recursive: true });
if (!process.argv.includes('--no-ui')) run('node_modules/vite/bin/vite.js', ['build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn']);
process.stdout.write('build: dist/ and ui/dist/ ready; start with `npm start -- --role web|worker|all`\n');
