/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts. Names: scoring, sync, cycle, query, isolation, sizing, campaign, portals, memory.
 * Each benchmark prints its own table of figures.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const name = process.argv[2];
const known = ['scoring', 'sync', 'cycle', 'query', 'isolation', 'sizing', 'campaign', 'portals', 'memory'];
if (!name || !known.includes(name)) {
  console.error(`usage: npm run bench -- <${known.join('|')}> [options]`);
  process.exit(2);
}
const file = join(here, `${name}.ts`);
if (!existsSync(file)) {
  console.error(`bench "${name}" is not implemented yet (${file} missing)`);
  process.exit(2);
}
process.argv.splice(2, 1);
await import(pathToFileURL(file).href);
