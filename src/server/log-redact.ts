/**
 * What the logger never writes: credentials. Callers should not pass tokens at all; this is the
 * safety net, applied by the logger (./log.ts, pino's `formatters.log` hook) to every line:
 *  - a field whose KEY names a credential (at any depth) is replaced by "[redacted]":
 *    access_token, refresh_token, application_token, any *token*, client_secret and any *secret*,
 *    password, AUTH_ID, REFRESH_ID, auth (the Bitrix24 payload's auth object), X-B24-Auth,
 *    Authorization, Cookie, code (an OAuth code); an `auth` OBJECT is walked instead (its tokens
 *    go by their keys, member_id and domain stay);
 *  - in every STRING value (and the message), credentials written inline are cut out: `auth=…`,
 *    `access_token=…` in a URL or form body, `"refresh_token":"…"` in a JSON text, `Bearer …`;
 *  - an Error becomes {name, message} (no stack unless the caller logs one on purpose);
 *  - nesting deeper than MAX_DEPTH is replaced by "[deep]" (never printed unchecked).
 * pino's own `redact` option only knows fixed paths; the same keys at any depth and in text need
 * this walk, so it is the one place the rule lives.
 */

export const REDACTED = '[redacted]';
const MAX_DEPTH = 8;

const SECRET_KEY = /token|secret|password|passwd|auth_id|refresh_id|authorization|cookie|^auth$|(^|[-_])auth$|^code$/i;

const SECRET_NAMES = 'access_token|refresh_token|application_token|client_secret|auth_id|refresh_id|auth|code|password';
/** key=value in URLs and form bodies (also auth[access_token]=…) */
const INLINE_PAIR = new RegExp(`\\b((?:${SECRET_NAMES})(?:\\[[A-Za-z_]+\\])?|auth\\[[A-Za-z_]+\\])=([^&\\s"'<>]+)`, 'gi');
/** "key": "value" in JSON texts (an answer body inside an error message) */
const JSON_PAIR = new RegExp(`"((?:${SECRET_NAMES})|[A-Za-z_]*(?:token|secret)[A-Za-z_]*)"\\s*:\\s*"(?:[^"\\\\]|\\\\.)*"`, 'gi');
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;

/** A text with inline credentials cut out. */
export function scrubText(s: string): string {
  if (s.length < 6) return s;
  return s.replace(INLINE_PAIR, (_m, k: string) => `${k}=${REDACTED}`).replace(JSON_PAIR, (_m, k: string) => `"${k}":"${REDACTED}"`).replace(BEARER, `$1 ${REDACTED}`);
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Bitrix24's `auth` object (member_id, domain, tokens…): walked, so its tokens go and the rest stays readable. */
const isAuthObject = (k: string, x: unknown) => /^auth$/i.test(k) && x !== null && typeof x === 'object' && !Array.isArray(x);

/** A copy of `v` that is safe to write (see the file comment). */
export function redact(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return scrubText(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_DEPTH) return '[deep]';
  if (v instanceof Error) return { name: v.name, message: scrubText(v.message) };
  if (v instanceof Date) return v;
  if (Array.isArray(v)) return v.map((x) => redact(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = isSecretKey(k) && !isAuthObject(k, x) ? REDACTED : redact(x, depth + 1);
  return out;
}
