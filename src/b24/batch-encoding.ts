/**
 * Batch command encoding (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html): each command is a string `method?query`, where the
 * query is PHP-style bracket encoding (`filter[>ID]=10&select[0]=ID`) that the portal reads
 * with parse_url + parse_str. qs with `arrayFormat: 'indices'` produces exactly that.
 */
import qs from 'qs';

export type Params = Record<string, unknown>;
/** One command: `[method, params]` or `{method, params}`. */
export type BatchCommand = readonly [string, Params?] | { method: string; params?: Params };
export type BatchCommands = Record<string, BatchCommand> | readonly BatchCommand[];

export const MAX_BATCH = 50;

export function commandMethod(c: BatchCommand): string {
  return Array.isArray(c) ? (c as readonly [string, Params?])[0] : (c as { method: string }).method;
}

export function commandParams(c: BatchCommand): Params {
  return (Array.isArray(c) ? (c as readonly [string, Params?])[1] : (c as { params?: Params }).params) ?? {};
}

/** `params` → PHP query string (booleans as Y/N are the caller's business; true → "1"? no: qs gives "true"). */
export function encodeQuery(params: Params): string {
  return qs.stringify(params, { arrayFormat: 'indices', encodeValuesOnly: false, allowDots: false });
}

/** One command as the portal expects it in `cmd`: `crm.contact.list?filter%5B%3EID%5D=10&...`. */
export function encodeCommand(method: string, params: Params = {}): string {
  const q = encodeQuery(params);
  return q ? `${method}?${q}` : method;
}

/** The inverse (what the portal does): for tests and for reading commands back. */
export function decodeCommand(cmd: string): { method: string; params: Params } {
  const i = cmd.indexOf('?');
  if (i < 0) return { method: cmd, params: {} };
  return { method: cmd.slice(0, i), params: qs.parse(cmd.slice(i + 1), { depth: 20, arrayLimit: 1000, parameterLimit: 100_000 }) as Params };
}

/** Normalises object/array command sets to ordered `[key, command]` pairs (array keys are "0", "1", ...). */
export function commandEntries(commands: BatchCommands): Array<[string, BatchCommand]> {
  if (Array.isArray(commands)) return (commands as readonly BatchCommand[]).map((c, i) => [String(i), c]);
  return Object.entries(commands as Record<string, BatchCommand>);
}

/** Splits into chunks of at most `size` (default 50) keeping order. */
export function chunk<T>(items: readonly T[], size = MAX_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A `$result[...]` reference to an earlier command's result path. */
export function resultRef(key: string, ...path: Array<string | number>): string {
  return `$result[${key}]${path.map((p) => `[${p}]`).join('')}`;
}
