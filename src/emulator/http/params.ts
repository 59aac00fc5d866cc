/**
 * Request decoding the way the portal's REST server does it (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/general-principles.html,
 * [SRC] rest_util.php getRequestData): query-string params merged with the body (the body
 * wins); the body is JSON only for `Content-Type: application/json`, anything else goes
 * through PHP-style bracket parsing (`fields[PHONE][0][VALUE]=...`), done here with `qs`.
 */
import type { Request } from 'express';
import qs from 'qs';

/** PHP parse_str-like options: deep brackets, large numeric indexes stay arrays-as-objects. */
const QS_OPTS: qs.IParseOptions = { depth: 32, arrayLimit: 10_000, parameterLimit: 1_000_000, allowDots: false };

export function parsePhpQuery(s: string): Record<string, unknown> {
  if (!s) return {};
  return qs.parse(s, QS_OPTS) as Record<string, unknown>;
}

export class BadRequestBody extends Error {}

/** The raw query string of the request (without '?'). */
export function rawQuery(req: Request): string {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? '' : req.originalUrl.slice(i + 1);
}

/** Reads the request body as a Buffer (the app mounts express.raw for the routes that need it). */
export function bodyParams(req: Request): Record<string, unknown> {
  const raw: unknown = req.body;
  const buf = Buffer.isBuffer(raw) ? raw : null;
  if (!buf || buf.length === 0) return {};
  const ct = String(req.headers['content-type'] ?? '').toLowerCase();
  const text = buf.toString('utf8');
  if (ct.startsWith('application/json')) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new BadRequestBody('Request body is not valid JSON');
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    return {};
  }
  if (ct.startsWith('multipart/')) {
    throw new BadRequestBody('multipart/form-data is not supported by the emulator; send JSON or x-www-form-urlencoded');
  }
  return parsePhpQuery(text);
}

/** GET query + POST body, body wins on key collisions (PHP $_REQUEST order "GP"). */
export function requestParams(req: Request): Record<string, unknown> {
  return { ...parsePhpQuery(rawQuery(req)), ...bodyParams(req) };
}
