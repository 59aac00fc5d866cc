/**
 * Errors the UI API answers as a client's fault (4xx) or a known condition, without a stack in
 * the log: unreadable request bodies (express.json / body-parser errors) and cancelled queries
 * here; error-handler.ts adds the rest (HttpError, filter errors, zod, the portal's refusals).
 */
import { UI_BODY_LIMIT, UI_BODY_LIMIT_BYTES } from './limits.js';

export interface Answer {
  status: number;
  code: string;
  message: string;
  /** more fields of the JSON answer (e.g. the issues of invalid settings, the view a name belongs to) */
  extra?: Record<string, unknown>;
}

/**
 * A body-parser failure as the answer to send: 413 PAYLOAD_TOO_LARGE over the limit, 400 BAD_JSON
 * for malformed JSON, the parser's own 4xx status otherwise. null for anything else.
 */
export function bodyFault(err: unknown, limit: { text: string; bytes: number } = { text: UI_BODY_LIMIT, bytes: UI_BODY_LIMIT_BYTES }): Answer | null {
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown } | null;
  if (!e || typeof e !== 'object' || typeof e.type !== 'string') return null;
  const status = Number(e.status ?? e.statusCode);
  if (!(status >= 400 && status < 500)) return null;
  if (e.type === 'entity.too.large') {
    return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: `request body larger than ${limit.text} (limit ${limit.bytes} bytes)` };
  }
  if (e.type === 'entity.parse.failed') return { status: 400, code: 'BAD_JSON', message: 'the request body is not valid JSON' };
  return { status, code: 'BAD_REQUEST', message: `unreadable request body (${e.type})` };
}

/** PostgreSQL cancelled the statement (SQLSTATE 57014: statement_timeout, or a cancel request). */
export function isQueryTimeout(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { code?: unknown }).code === '57014';
}
