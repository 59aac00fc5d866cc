/**
 * `npm run probe -- --webhook <incoming webhook URL> [--write] [--json]`: compares a real portal's
 * answers with the emulator's rules (docs/emulator-parity.md, "Probe"). Prints a table and, last,
 * one JSON line. Exit 0 when it ran (differences are findings), 2 on bad flags, 1 when the portal
 * cannot be reached.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs, USAGE } from './args.js';
import { Unreachable, webhookCaller, type Caller } from './http.js';
import { jsonLine, table } from './report.js';
import { runProbe } from './run.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Checks that the webhook answers as a REST endpoint at all. */
async function reachable(call: Caller): Promise<string | null> {
  const a = await call('profile');
  if (!a.body) return `the webhook URL did not answer with JSON (HTTP ${a.status})`;
  if (a.status === 401) return `the portal refused the webhook: ${JSON.stringify(a.body['error'])} ${String(a.body['error_description'] ?? '')}`;
  return null;
}

export async function main(argv: readonly string[], io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    if (parsed.help) {
      io.out(USAGE);
      return 0;
    }
    io.err(`probe: ${parsed.error ?? 'bad flags'}\n${USAGE}`);
    return 2;
  }
  const { webhook, write, json } = parsed.args;
  const target = webhookCaller(webhook);
  try {
    const why = await reachable(target);
    if (why) {
      io.err(`probe: ${why}`);
      return 1;
    }
    const report = await runProbe({ target, portal: new URL(webhook).host, write });
    if (!json) io.out(table(report));
    io.out(jsonLine(report));
    return 0;
  } catch (e) {
    if (e instanceof Unreachable) {
      io.err(`probe: the portal cannot be reached: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  });
}
