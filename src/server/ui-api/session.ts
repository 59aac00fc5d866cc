/**
 * Short-lived signed sessions for the UI API. A session is issued by renderAppPage() after the
 * user's AUTH_ID was verified against the portal (profile + app.info); it binds the portal
 * (member_id and our portal id), the Bitrix24 user id and whether that user is a portal admin.
 *
 * Format: base64url(JSON payload) + "." + base64url(HMAC-SHA256(secret, "ui1." + payload)).
 * Stateless: no server-side store; expiry is inside the signed payload.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface UiSession {
  /** portal row id */
  p: number;
  /** member_id */
  m: string;
  /** Bitrix24 user id */
  u: number;
  /** portal admin (profile → ADMIN) at issue time */
  a: boolean;
  /** UI language code: en | ru | pl | de | ua */
  l: string;
  /** expiry, unix seconds */
  exp: number;
}

export const SESSION_TTL_SECONDS = 60 * 60;

let devSecret: string | undefined;

/** SESSION_SECRET, or (development only) a random per-process secret. */
export function resolveSessionSecret(configured: string | undefined, production: boolean): string {
  if (configured && configured.length >= 32) return configured;
  if (production) throw new Error('SESSION_SECRET (≥ 32 characters) is required in production');
  devSecret ??= randomBytes(32).toString('hex');
  return devSecret;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`ui1.${payload}`).digest();
}

export function signSession(secret: string, s: Omit<UiSession, 'exp'>, ttlSeconds = SESSION_TTL_SECONDS, now = Date.now()): string {
  const payload = b64(JSON.stringify({ ...s, exp: Math.floor(now / 1000) + ttlSeconds }));
  return `${payload}.${b64(mac(secret, payload))}`;
}

export type SessionError = 'missing' | 'malformed' | 'bad_signature' | 'expired';

export function verifySession(secret: string, token: string | undefined, now = Date.now()): UiSession | SessionError {
  if (!token) return 'missing';
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.') || token.length > 2048) return 'malformed';
  const payload = token.slice(0, dot);
  let sig: Buffer;
  try {
    sig = Buffer.from(token.slice(dot + 1), 'base64url');
  } catch {
    return 'malformed';
  }
  const want = mac(secret, payload);
  if (sig.length !== want.length || !timingSafeEqual(sig, want)) return 'bad_signature';
  let s: UiSession;
  try {
    s = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as UiSession;
  } catch {
    return 'malformed';
  }
  if (typeof s.exp !== 'number' || typeof s.p !== 'number' || typeof s.u !== 'number' || typeof s.m !== 'string') return 'malformed';
  if (s.exp * 1000 <= now) return 'expired';
  return s;
}
