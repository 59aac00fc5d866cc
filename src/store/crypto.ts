/**
 * Token protection at rest.
 *  - OAuth access/refresh tokens: AES-256-GCM, random 12-byte IV per value, 16-byte tag.
 *    Stored as `v1:<iv b64>:<tag b64>:<ciphertext b64>`. Any tampering -> decrypt throws.
 *  - application_token: we only ever compare it with the token in each incoming event,
 *    never send it anywhere, so we keep an HMAC-SHA256 of it (keyed by a subkey derived
 *    from the same master key) and compare digests with timingSafeEqual. A database leak
 *    then reveals neither the token nor a way to forge events.
 *
 * Key: env TOKEN_ENCRYPTION_KEY, 32 bytes as 64 hex chars or base64 (44 chars).
 * Generate: `node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`
 * When it is missing and NODE_ENV !== 'production', a fixed, publicly known development key
 * is used with a loud warning (so local runs and CI work without setup). In production a
 * missing key is a startup error. A present but malformed key is always an error.
 * Never log tokens: nothing here logs values.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

const KEY_ENV = 'TOKEN_ENCRYPTION_KEY';
const DEV_KEY_SEED = 'b24-segments development key - NOT SECRET - never use in production';

const keySchema = z
  .string()
  .trim()
  .transform((s, ctx) => {
    let buf: Buffer | undefined;
    if (/^[0-9a-fA-F]{64}$/.test(s)) buf = Buffer.from(s, 'hex');
    else if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(s)) buf = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (!buf || buf.length !== 32) {
      ctx.addIssue({
        code: 'custom',
        message: `${KEY_ENV} must be 32 bytes given as 64 hex characters or base64 (got ${s.length} characters${buf ? `, ${buf.length} bytes` : ''})`,
      });
      return z.NEVER;
    }
    return buf;
  });

export class TokenKeyError extends Error {
  override name = 'TokenKeyError';
}

/** Parses a key string (hex or base64 of 32 bytes). Throws TokenKeyError with a clear message. */
export function parseTokenKey(value: string): Buffer {
  const r = keySchema.safeParse(value);
  if (!r.success) throw new TokenKeyError(r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

let warnedDevKey = false;

/** Reads the master key from env (see the module comment for the dev-default rule). */
export function loadTokenKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  const raw = env[KEY_ENV];
  if (raw && raw.trim() !== '') return parseTokenKey(raw);
  if (env.NODE_ENV === 'production') {
    throw new TokenKeyError(
      `${KEY_ENV} is not set. Generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`,
    );
  }
  if (!warnedDevKey) {
    warnedDevKey = true;
    console.warn(
      `\n[store] WARNING: ${KEY_ENV} is not set; using the built-in DEVELOPMENT key. ` +
        'Tokens stored now are NOT protected and will not decrypt under a real key. ' +
        'Set TOKEN_ENCRYPTION_KEY (NODE_ENV=production refuses to start without it).\n',
    );
  }
  return createHash('sha256').update(DEV_KEY_SEED).digest();
}

export interface TokenCipher {
  encrypt(plaintext: string): string;
  /** Throws on a malformed value, a wrong key or any tampering. */
  decrypt(stored: string): string;
  /** Keyed hash for values we only compare (application_token). */
  hash(value: string): string;
  /** Constant-time check of `value` against a hash() result. */
  verifyHash(value: string, stored: string | null | undefined): boolean;
}

export function createTokenCipher(key: Buffer): TokenCipher {
  if (key.length !== 32) throw new TokenKeyError('token key must be 32 bytes');
  const encKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'b24seg token encryption v1', 32));
  const macKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'b24seg application_token hmac v1', 32));
  const mac = (v: string) => createHmac('sha256', macKey).update(v, 'utf8').digest();
  return {
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', encKey, iv);
      const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
      const tag = c.getAuthTag();
      return `v1:${iv.toString('base64')}:${tag.toString('base64')}:${ct.toString('base64')}`;
    },
    decrypt(stored) {
      const parts = stored.split(':');
      if (parts.length !== 4 || parts[0] !== 'v1') throw new Error('encrypted token: unknown format');
      const iv = Buffer.from(parts[1]!, 'base64');
      const tag = Buffer.from(parts[2]!, 'base64');
      const ct = Buffer.from(parts[3]!, 'base64');
      if (iv.length !== 12 || tag.length !== 16) throw new Error('encrypted token: bad iv or tag');
      const d = createDecipheriv('aes-256-gcm', encKey, iv, { authTagLength: 16 });
      d.setAuthTag(tag);
      try {
        return Buffer.concat([d.update(ct), d.final()]).toString('utf8');
      } catch {
        throw new Error('encrypted token: authentication failed (tampered value or wrong key)');
      }
    },
    hash(value) {
      return `h1:${mac(value).toString('base64')}`;
    },
    verifyHash(value, stored) {
      if (!stored || !stored.startsWith('h1:')) return false;
      const expected = Buffer.from(stored.slice(3), 'base64');
      const actual = mac(value);
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
  };
}

let defaultCipher: TokenCipher | undefined;

/** The process-wide cipher from TOKEN_ENCRYPTION_KEY (created on first use). */
export function getTokenCipher(): TokenCipher {
  defaultCipher ??= createTokenCipher(loadTokenKey());
  return defaultCipher;
}

/** Tests / startup: replace the process-wide cipher (e.g. with a random key). */
export function setTokenCipher(cipher: TokenCipher | undefined): void {
  defaultCipher = cipher;
}

/** A fresh random key as base64, for docs and tests. */
export function generateTokenKey(): string {
  return randomBytes(32).toString('base64');
}
