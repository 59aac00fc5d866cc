#!/usr/bin/env node
// What the test suite needs outside npm, checked before `npm test` runs anything (npm's pretest):
//  - Debian's Chromium for the browser tests (playwright-core drives /usr/bin/chromium; CHROMIUM_PATH overrides);
//  - a PostgreSQL server for the PostgreSQL run of the store tests (DATABASE_URL, else
//    postgres://postgres@127.0.0.1:5432/test with trust auth, as on the CI machine).
// Missing ones are installed when this runs as root on Debian (apt-get); otherwise it prints the
// exact commands to run and exits 1. No test is ever skipped for lack of them.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DB_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
const wantsPostgres = !/^pglite$/i.test((process.env.TEST_DB_KINDS ?? '').trim());

const say = (m) => process.stderr.write(`test-prereqs: ${m}\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });

/**
 * Can the tests log in (the server answers SELECT 1 at DATABASE_URL)? Before `npm ci` (.ci/system-deps)
 * the pg package is not there yet: then `pg_isready` answers, and npm test's pretest checks again.
 */
async function reachable() {
  const pg = (await import('pg').catch(() => null))?.default;
  if (!pg) {
    const u = new URL(DB_URL);
    return spawnSync('pg_isready', ['-q', '-h', u.hostname || '127.0.0.1', '-p', u.port || '5432'], { stdio: 'ignore' }).status === 0;
  }
  const c = new pg.Client({ connectionString: DB_URL, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

let aptUpdated = false;
function aptInstall(pkgs) {
  if (!aptUpdated) run('apt-get', ['update', '-qq']);
  aptUpdated = true;
  run('apt-get', ['install', '-y', '-qq', ...pkgs], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

const clusterVersion = () => (existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql').sort().at(-1) : undefined);

/** A cluster this script installed: trust on loopback (a test machine), and the `test` database. */
function configureFreshCluster(ver) {
  const hba = `/etc/postgresql/${ver}/main/pg_hba.conf`;
  const lines = readFileSync(hba, 'utf8').split('\n').filter((l) => !/^host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)/.test(l));
  writeFileSync(hba, [...lines, 'host all all 127.0.0.1/32 trust', 'host all all ::1/128 trust', ''].join('\n'));
  run('pg_ctlcluster', ['--skip-systemctl-redirect', ver, 'main', 'restart']);
  spawnSync('su', ['postgres', '-c', 'createdb test'], { stdio: 'ignore' });
}

async function ensurePostgres(problems) {
  if (!wantsPostgres) return;
  const u = new URL(DB_URL);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 5432);
  if (await reachable()) return;
  const local = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  if (local && isRoot && hasApt) {
    let ver = clusterVersion();
    const fresh = !ver;
    if (fresh) {
      say('installing PostgreSQL (apt-get install postgresql)');
      aptInstall(['postgresql']);
      ver = clusterVersion();
    }
    if (ver) {
      say(`starting PostgreSQL ${ver}`);
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', ver, 'main', 'start'], { stdio: 'inherit' });
      if (fresh) configureFreshCluster(ver);
    }
    if (await reachable()) return;
  }
  problems.push(
    `no PostgreSQL at ${host}:${port} (DATABASE_URL=${DB_URL.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}). Either:\n` +
      '    sudo apt-get install -y postgresql && sudo pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n' +
      '    and let postgres@127.0.0.1 in (trust on loopback) with a database "test", or set DATABASE_URL to a server you have;\n' +
      '    or run only the embedded kind: TEST_DB_KINDS=pglite npm test',
  );
}

function ensureChromium(problems) {
  if (existsSync(CHROMIUM)) return;
  if (isRoot && hasApt && !process.env.CHROMIUM_PATH) {
    say('installing Chromium for the browser tests (apt-get install chromium)');
    aptInstall(['chromium']);
    if (existsSync(CHROMIUM)) return;
  }
  problems.push(`no Chromium at ${CHROMIUM} for the browser tests. Run:\n    sudo apt-get install -y chromium\n    (or set CHROMIUM_PATH to a Chromium binary)`);
}

const problems = [];
ensureChromium(problems);
await ensurePostgres(problems);
if (problems.length) {
  say(`cannot run the tests yet:\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
