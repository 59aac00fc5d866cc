/** Command-line flags of the probe: `--webhook URL [--write] [--json]`. */

export interface ProbeArgs {
  /** The incoming webhook's REST base, ending in `/`: `https://portal/rest/<user>/<secret>/`. */
  webhook: string;
  write: boolean;
  /** Print only the JSON line (no human table). */
  json: boolean;
}

export type Parsed = { ok: true; args: ProbeArgs } | { ok: false; help: boolean; error?: string };

export const USAGE = `usage: npm run probe -- --webhook <incoming webhook URL> [--write] [--json]

Runs read-only calls against a Bitrix24 portal through an incoming webhook
(https://<portal>/rest/<user id>/<code>/) and compares the answers with the
emulator's rules: response shapes, empty-value conventions, error codes and
statuses, paging, and the time blocks against the emulator's cost model.
  --write   also create one contact ("b24-segments probe <timestamp>"), update it, delete it
  --json    print only the final JSON line
Exit code: 0 when the probe ran (differences are findings), 2 on bad flags,
1 when the portal cannot be reached.`;

/** Normalises a webhook URL to its REST base (drops a trailing method name like `profile.json`). */
export function webhookBase(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  const segs = u.pathname.split('/').filter((s) => s !== '');
  const i = segs.findIndex((s) => s.toLowerCase() === 'rest');
  if (i < 0 || segs.length < i + 3 || !/^\d+$/.test(segs[i + 1] ?? '')) return null;
  const base = segs.slice(0, i + 3).join('/');
  return `${u.protocol}//${u.host}/${base}/`;
}

export function parseArgs(argv: readonly string[]): Parsed {
  let webhook: string | null = null;
  let write = false;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return { ok: false, help: true };
    if (a === '--write') write = true;
    else if (a === '--json') json = true;
    else if (a === '--webhook' || a.startsWith('--webhook=')) {
      const v = a === '--webhook' ? argv[++i] : a.slice('--webhook='.length);
      if (v === undefined || v === '') return { ok: false, help: false, error: '--webhook needs a URL' };
      webhook = webhookBase(v);
      if (!webhook) return { ok: false, help: false, error: `not an incoming webhook URL (https://<portal>/rest/<user id>/<code>/): ${v}` };
    } else return { ok: false, help: false, error: `unknown flag: ${a}` };
  }
  if (!webhook) return { ok: false, help: false, error: '--webhook is required' };
  return { ok: true, args: { webhook, write, json } };
}
