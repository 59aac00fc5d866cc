/**
 * Saves a portal to a JSON file and loads it back (CLI `--state FILE`).
 *
 * The file is one valid JSON object written line by line so that neither saving nor
 * loading ever holds the whole document as one string (100k contacts / 400k deals are a few
 * hundred MB):
 *
 *   {"header":{"format":"b24-emulator-state","version":1,"clockNow":...,"sequences":{...},"scalars":{...}},
 *   "m:contacts":[
 *   [1,{...}],
 *   ...
 *   ],
 *   "a:statuses":[
 *   {...}
 *   ]}
 *
 * `m:<name>` sections are the portal's Maps as [key, value] rows, `a:<name>` its arrays. The
 * sections are discovered by reflection over the Portal instance, so tables added later are
 * saved without touching this file. The portal clock resumes at the saved portal time.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { PortalClock } from './clock.js';
import { Portal, type Plan } from './portal.js';

const FORMAT = 'b24-emulator-state';
const SKIP = new Set(['clock', 'eventSink', 'seq']);

interface Header {
  format: string;
  version: number;
  clockNow: number;
  sequences: Record<string, number>;
  scalars: Record<string, string | number | boolean | null>;
}

function fields(portal: Portal): Array<[string, unknown]> {
  return Object.entries(portal as unknown as Record<string, unknown>).filter(([k]) => !SKIP.has(k));
}

export async function savePortal(portal: Portal, file: string): Promise<{ file: string; bytes: number; rows: number }> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const out = createWriteStream(tmp, { encoding: 'utf8' });
  let buf = '';
  let bytes = 0;
  let rows = 0;
  const flush = async (): Promise<void> => {
    if (!buf) return;
    const chunk = buf;
    buf = '';
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  const push = async (s: string): Promise<void> => {
    buf += s;
    if (buf.length > 1 << 20) await flush();
  };
  const scalars: Header['scalars'] = {};
  const sections: Array<[string, unknown]> = [];
  for (const [k, v] of fields(portal)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) scalars[k] = v as string | number | boolean | null;
    else if (v instanceof Map || Array.isArray(v)) sections.push([k, v]);
  }
  const header: Header = { format: FORMAT, version: 1, clockNow: portal.clock.now(), sequences: portal.sequences(), scalars };
  await push(`{"header":${JSON.stringify(header)}`);
  for (const [name, v] of sections) {
    const isMap = v instanceof Map;
    await push(`,\n${JSON.stringify(`${isMap ? 'm' : 'a'}:${name}`)}:[`);
    let first = true;
    const iter: Iterable<unknown> = isMap ? (v as Map<unknown, unknown>).entries() : (v as unknown[]);
    for (const row of iter) {
      await push(`${first ? '\n' : ',\n'}${JSON.stringify(isMap ? [...(row as [unknown, unknown])] : row)}`);
      first = false;
      rows++;
    }
    await push('\n]');
  }
  await push('}\n');
  await flush();
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  await rename(tmp, file);
  return { file, bytes, rows };
}

export interface LoadOptions {
  timeScale?: number;
  /** Wall clock source for the restored PortalClock (tests). */
  wallNow?: () => number;
}

export async function loadPortal(file: string, opts: LoadOptions = {}): Promise<Portal> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let portal: Portal | null = null;
  let target: { kind: 'm'; map: Map<unknown, unknown> } | { kind: 'a'; arr: unknown[] } | { kind: 'skip' } | null = null;
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    if (lineNo === 1) {
      if (!line.startsWith('{"header":')) throw new Error(`${file}: not an emulator state file`);
      let h = line.slice('{"header":'.length);
      if (h.endsWith(',')) h = h.slice(0, -1);
      else if (h.endsWith('}}')) h = h.slice(0, -1);
      const header = JSON.parse(h) as Header | null;
      if (!header || header.format !== FORMAT) throw new Error(`${file}: not an emulator state file`);
      if (header.version !== 1) throw new Error(`${file}: unsupported state version ${header.version}`);
      const s = header.scalars;
      portal = new Portal({
        memberId: typeof s.memberId === 'string' ? s.memberId : undefined,
        domain: typeof s.domain === 'string' ? s.domain : undefined,
        plan: (typeof s.plan === 'string' ? s.plan : undefined) as Plan | undefined,
        baseCurrency: typeof s.baseCurrency === 'string' ? s.baseCurrency : undefined,
        accessTokenTtl: typeof s.accessTokenTtl === 'number' ? s.accessTokenTtl : undefined,
        language: typeof s.language === 'string' ? s.language : undefined,
        timeZone: typeof s.timeZone === 'string' ? s.timeZone : undefined,
        clock: new PortalClock(header.clockNow, opts.timeScale ?? 1, opts.wallNow),
      });
      const rec = portal as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(s)) {
        if (k === 'memberId') continue;
        const d = Object.getOwnPropertyDescriptor(portal, k);
        if (d?.writable && (d.value === null || typeof d.value === typeof v)) rec[k] = v;
      }
      portal.restoreSequences(header.sequences);
      continue;
    }
    if (!portal) throw new Error(`${file}: missing header`);
    const sec = /^"([ma]):([^"]+)":\[$/.exec(line);
    if (sec) {
      const cur = (portal as unknown as Record<string, unknown>)[sec[2] ?? ''];
      if (sec[1] === 'm' && cur instanceof Map) {
        cur.clear();
        target = { kind: 'm', map: cur };
      } else if (sec[1] === 'a' && Array.isArray(cur)) {
        cur.length = 0;
        target = { kind: 'a', arr: cur };
      } else target = { kind: 'skip' };
      continue;
    }
    if (line === ']' || line === '],' || line === ']}' || line === '}' || line === '') {
      target = null;
      continue;
    }
    if (!target) throw new Error(`${file}:${lineNo}: unexpected line`);
    if (target.kind === 'skip') continue;
    const row = JSON.parse(line.endsWith(',') ? line.slice(0, -1) : line) as unknown;
    if (target.kind === 'm') {
      const [k, v] = row as [unknown, unknown];
      target.map.set(k, v);
    } else target.arr.push(row);
  }
  if (!portal) throw new Error(`${file}: empty state file`);
  // The two token maps share records: rebuild the sharing after JSON.
  const byAccess = new Map<string, import('./model.js').TokenRec>();
  for (const t of portal.tokens.values()) byAccess.set(t.accessToken, t);
  for (const [k, t] of portal.refreshTokens) {
    const shared = byAccess.get(t.accessToken);
    if (shared && shared.refreshToken === t.refreshToken) {
      Object.assign(shared, { refreshValid: t.refreshValid });
      portal.refreshTokens.set(k, shared);
    }
  }
  return portal;
}
