/**
 * `npm run emulator -- --port 7777 --contacts 5000 --seed 42 [--deals N] [--time-scale N]
 *   [--plan standard|enterprise] [--faults SPEC] [--state FILE] [--host ADDR] [--token-ttl S]
 *   [--latency] [--manager-access LEVEL] [--head-access LEVEL] [--self-hosted] [--operating-limit S]
 *   [--costs SPEC] [--no-rate-limit] [--b2b] [--live [--uplift R]]`
 * --live: a living portal (docs/emulator.md "Living portal"): the generated customers go on buying
 *   on the portal clock (new deals, stage moves, their events); --uplift R multiplies the purchase
 *   rate of customers a workflow was started on by 1 + R for the following weeks (default 0).
 * --b2b: generate with the B2B profile (companies with several contacts, deals tied to companies,
 *   industries, sizes, revenue; src/emulator/generator/options.ts).
 *
 * Prints two parseable lines on stdout:
 *   Emulator: http://127.0.0.1:7777/
 *   Webhook: http://127.0.0.1:7777/rest/1/<secret>/
 * Diagnostics go to stderr. Bad flags: a message and exit code 2.
 * --manager-access / --head-access: CRM role level (X, O, F, D, A, none) of the generated sales
 * managers (default A, own records) and of the head of sales, user 2 (default F); see perms.ts.
 * With --state FILE: loads the portal from FILE when it exists (no generation), saves it on
 * SIGINT/SIGTERM and on POST /_emulator/state/save.
 * Limits (docs/emulator.md "Limits"): --self-hosted sets the operating limit to 420 s (cloud: 480 s),
 * --operating-limit overrides it, --costs changes the cost model (costs.ts `parseCostSpec`, e.g.
 * `update=0.5,perRow=0.001,crm.deal.list=0.2`), --no-rate-limit turns the request bucket off.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PortalClock } from './clock.js';
import { CostSpecError, parseCostSpec } from './costs.js';
import { FaultSpecError, parseFaultSpec, type FaultConfig } from './faults.js';
import type { LimitsOptions } from './limits.js';
import { generatePortal } from './generator.js';
import { startLive } from './live/index.js';
import { Portal } from './portal.js';
import { startEmulator, type RunningEmulator } from './server.js';
import { loadPortal, savePortal } from './state.js';
import { parseLevel } from './perms.js';
import type { CrmPermLevel } from './model.js';

const USAGE = `usage: npm run emulator -- [--port 7777] [--host 127.0.0.1] [--contacts N] [--deals N] [--seed N]
       [--time-scale N] [--plan standard|enterprise] [--faults SPEC] [--state FILE] [--token-ttl SECONDS] [--latency] [--b2b]
       [--manager-access X|O|F|D|A|none] [--head-access X|O|F|D|A|none] [--refusals field|enum|stages] [--language en|ru|ua|de|pl]
       [--self-hosted] [--operating-limit SECONDS] [--costs SPEC] [--no-rate-limit] [--live [--uplift R]]
fault SPEC example: 503=0.05,500=0.01,reset=0.01,slow=0.1:2000,expired=0.02,method=crm.deal.list,seed=7
costs SPEC example: update=0.5,list=0.03,perRow=0.0007,minimalFixTime=0.1,crm.deal.list=0.2`;

function fail(msg: string): never {
  process.stderr.write(`emulator: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function int(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) fail(`--${name} must be an integer, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) fail(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

interface CliOptions {
  port: number;
  host: string | undefined;
  contacts: number | undefined;
  deals: number | undefined;
  seed: number;
  ttl: number | undefined;
  timeScale: number;
  plan: 'standard' | 'enterprise';
  faults: FaultConfig | undefined;
  statePath: string | null;
  latency: boolean;
  b2b: boolean;
  managerAccess: CrmPermLevel | undefined;
  headAccess: CrmPermLevel | undefined;
  limits: LimitsOptions;
  /** where lost deals keep their reason (generator option refusals) */
  refusals: 'field' | 'enum' | 'stages' | undefined;
  language: string | undefined;
  /** the living portal, and its uplift R */
  live: boolean;
  uplift: number;
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string', default: '7777' },
        host: { type: 'string', default: '127.0.0.1' },
        contacts: { type: 'string' },
        deals: { type: 'string' },
        seed: { type: 'string', default: '42' },
        'time-scale': { type: 'string' },
        plan: { type: 'string', default: 'standard' },
        faults: { type: 'string' },
        state: { type: 'string' },
        'token-ttl': { type: 'string' },
        latency: { type: 'boolean', default: false },
        b2b: { type: 'boolean', default: false },
        'manager-access': { type: 'string' },
        'head-access': { type: 'string' },
        'self-hosted': { type: 'boolean', default: false },
        'operating-limit': { type: 'string' },
        costs: { type: 'string' },
        'no-rate-limit': { type: 'boolean', default: false },
        refusals: { type: 'string' },
        language: { type: 'string' },
        live: { type: 'boolean', default: false },
        uplift: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
}

function level(name: string, v: string | undefined): CrmPermLevel | undefined {
  if (v === undefined) return undefined;
  const l = parseLevel(v);
  if (l === null) fail(`--${name} must be one of X, O, F, D, A, none; got "${v}"`);
  return l;
}

/** The checked options, or null for --help; exits with code 2 on the first bad flag. */
function parseCli(argv: string[]): CliOptions | null {
  const values = parseFlags(argv);
  if (values.help) return null;
  const port = int('port', values.port, 0, 65535) ?? 7777;
  const contacts = int('contacts', values.contacts, 0, 10_000_000);
  const deals = int('deals', values.deals, 0, 50_000_000);
  const seed = int('seed', values.seed, 0, 2 ** 31 - 1) ?? 42;
  const ttl = int('token-ttl', values['token-ttl'], 1, 10 * 365 * 86400);
  let timeScale = 1;
  if (values['time-scale'] !== undefined) {
    timeScale = Number(values['time-scale']);
    if (!/^\d+(\.\d+)?$/.test(values['time-scale']) || !(timeScale > 0)) fail(`--time-scale must be a positive number, got "${values['time-scale']}"`);
  }
  const plan = values.plan;
  if (plan !== 'standard' && plan !== 'enterprise') fail(`--plan must be standard or enterprise, got "${plan}"`);
  let faults;
  if (values.faults !== undefined) {
    try {
      faults = parseFaultSpec(values.faults);
    } catch (e) {
      fail(e instanceof FaultSpecError ? e.message : String(e));
    }
  }
  const statePath = values.state ?? null;
  const managerAccess = level('manager-access', values['manager-access']);
  const headAccess = level('head-access', values['head-access']);
  const refusals = values.refusals;
  if (refusals !== undefined && refusals !== 'field' && refusals !== 'enum' && refusals !== 'stages') fail(`--refusals must be field, enum or stages, got "${refusals}"`);
  const language = values.language;
  if (language !== undefined && !['en', 'ru', 'ua', 'de', 'pl'].includes(language)) fail(`--language must be en, ru, ua, de or pl, got "${language}"`);
  return {
    port, host: values.host, contacts, deals, seed, ttl, timeScale, plan, faults, statePath, latency: values.latency,
    managerAccess, headAccess, limits: limitFlags(values), b2b: values.b2b, refusals, language, ...liveFlags(values),
  };
}

/** --live and --uplift R (a number >= 0; only with --live). */
function liveFlags(v: { live?: boolean; uplift?: string }): { live: boolean; uplift: number } {
  const live = v.live === true;
  if (v.uplift === undefined) return { live, uplift: 0 };
  if (!live) fail('--uplift needs --live');
  const n = Number(v.uplift);
  if (!/^\d+(\.\d+)?$/.test(v.uplift) || !(n <= 100)) fail(`--uplift must be a number between 0 and 100, got "${v.uplift}"`);
  return { live, uplift: n };
}

/** --self-hosted, --operating-limit, --costs, --no-rate-limit → the emulator's limits. */
function limitFlags(v: { 'self-hosted'?: boolean; 'operating-limit'?: string; costs?: string; 'no-rate-limit'?: boolean }): LimitsOptions {
  const o: LimitsOptions = { selfHosted: v['self-hosted'] === true, noRateLimit: v['no-rate-limit'] === true };
  const lim = v['operating-limit'];
  if (lim !== undefined) {
    const n = Number(lim);
    if (!/^\d+(\.\d+)?$/.test(lim) || !(n > 0) || n > 1e7) fail(`--operating-limit must be a positive number of seconds, got "${lim}"`);
    o.operatingLimit = n;
  }
  if (v.costs !== undefined) {
    try {
      o.costs = parseCostSpec(v.costs);
    } catch (e) {
      fail(e instanceof CostSpecError ? e.message : String(e));
    }
  }
  return o;
}

/** The portal from the state file when it exists, else a fresh one, generated when asked. */
async function preparePortal(o: CliOptions): Promise<Portal> {
  let portal: Portal;
  if (o.statePath && existsSync(o.statePath)) {
    const t0 = performance.now();
    portal = await loadPortal(o.statePath, { timeScale: o.timeScale });
    process.stderr.write(`emulator: loaded ${o.statePath} (${portal.contacts.size} contacts, ${portal.deals.size} deals) in ${Math.round(performance.now() - t0)} ms\n`);
  } else {
    portal = new Portal({ plan: o.plan, accessTokenTtl: o.ttl, clock: new PortalClock(Date.now(), o.timeScale), language: o.language });
    if (o.contacts !== undefined || o.deals !== undefined) {
      const t0 = performance.now();
      const s = generatePortal(portal, {
        contacts: o.contacts ?? 0, seed: o.seed, deals: o.deals, managerAccess: o.managerAccess, headAccess: o.headAccess, refusals: o.refusals,
        profile: o.b2b ? 'b2b' : 'shop', live: o.live,
      });
      process.stderr.write(`emulator: generated ${s.contacts} contacts, ${s.companies} companies, ${s.deals} deals (seed ${o.seed}, ${s.profile}) in ${Math.round(performance.now() - t0)} ms\n`);
    }
  }
  if (o.ttl !== undefined) portal.accessTokenTtl = o.ttl;
  if (o.live) startLive(portal, { uplift: o.uplift });
  return portal;
}

/** On SIGINT/SIGTERM: save the state (with --state), close the server, exit. */
function stopOnSignals(portal: Portal, emu: RunningEmulator, statePath: string | null): void {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`emulator: ${signal}, stopping\n`);
    try {
      if (statePath) {
        const r = await savePortal(portal, statePath);
        process.stderr.write(`emulator: saved ${r.rows} rows (${r.bytes} bytes) to ${r.file}\n`);
      }
      await emu.close();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function main(): Promise<void> {
  const o = parseCli(process.argv.slice(2));
  if (!o) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const portal = await preparePortal(o);
  const emu = await startEmulator({
    port: o.port, host: o.host, portal, plan: o.plan, faults: o.faults, statePath: o.statePath, simulateLatency: o.latency,
    limits: o.limits, live: o.live,
  });
  process.stdout.write(`Emulator: ${emu.url}\nWebhook: ${emu.webhookUrl}\n`);
  stopOnSignals(portal, emu, o.statePath);
}

main().catch((e: unknown) => {
  process.stderr.write(`emulator: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
