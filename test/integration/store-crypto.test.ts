import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createTokenCipher, generateTokenKey, loadTokenKey, parseTokenKey, TokenKeyError } from '../../src/store/crypto.js';

const key = randomBytes(32);
const c = createTokenCipher(key);

describe('token encryption (AES-256-GCM)', () => {
  it('round-trips and uses a fresh IV per value', () => {
    const token = 'a1b2c3.access-token-ÿ-ünïcødé';
    const e1 = c.encrypt(token);
    const e2 = c.encrypt(token);
    expect(e1).not.toBe(e2);
    expect(e1).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*$/);
    expect(e1).not.toContain(token);
    const [, iv, tag] = e1.split(':');
    expect(Buffer.from(iv!, 'base64')).toHaveLength(12);
    expect(Buffer.from(tag!, 'base64')).toHaveLength(16);
    expect(c.decrypt(e1)).toBe(token);
    expect(c.decrypt(e2)).toBe(token);
    expect(c.decrypt(c.encrypt(''))).toBe('');
  });

  it('throws on any tampering, a wrong key or a bad format', () => {
    const e = c.encrypt('secret-token');
    const parts = e.split(':');
    const flip = (b64: string) => {
      const b = Buffer.from(b64, 'base64');
      b[0] = b[0]! ^ 1;
      return b.toString('base64');
    };
    for (const i of [1, 2, 3]) {
      const p = [...parts];
      p[i] = flip(p[i]!);
      expect(() => c.decrypt(p.join(':'))).toThrow();
    }
    expect(() => createTokenCipher(randomBytes(32)).decrypt(e)).toThrow(/authentication failed/);
    expect(() => c.decrypt('v2:a:b:c')).toThrow(/format/);
    expect(() => c.decrypt('plaintext')).toThrow(/format/);
  });

  it('error messages never contain the token', () => {
    const e = c.encrypt('super-secret-value');
    try {
      createTokenCipher(randomBytes(32)).decrypt(e);
    } catch (err) {
      expect(String(err)).not.toContain('super-secret-value');
    }
  });
});

describe('application_token keyed hash', () => {
  it('verifies the right token only, in constant time over fixed-length digests', () => {
    const h = c.hash('app-token-123');
    expect(h).toMatch(/^h1:/);
    expect(h).not.toContain('app-token-123');
    expect(c.verifyHash('app-token-123', h)).toBe(true);
    expect(c.verifyHash('app-token-124', h)).toBe(false);
    expect(c.verifyHash('', h)).toBe(false);
    expect(c.verifyHash('app-token-123', null)).toBe(false);
    expect(c.verifyHash('app-token-123', 'h1:short')).toBe(false);
    // keyed: another key gives another hash
    expect(createTokenCipher(randomBytes(32)).verifyHash('app-token-123', h)).toBe(false);
  });
});

describe('key loading', () => {
  afterEach(() => vi.restoreAllMocks());

  it('accepts 64 hex chars or base64 of 32 bytes', () => {
    const raw = randomBytes(32);
    expect(parseTokenKey(raw.toString('hex')).equals(raw)).toBe(true);
    expect(parseTokenKey(raw.toString('base64')).equals(raw)).toBe(true);
    expect(parseTokenKey(raw.toString('base64url')).equals(raw)).toBe(true);
    expect(parseTokenKey(generateTokenKey())).toHaveLength(32);
  });

  it('rejects bad keys with a clear message (even in development)', () => {
    expect(() => parseTokenKey('abc')).toThrow(TokenKeyError);
    expect(() => parseTokenKey(randomBytes(16).toString('hex'))).toThrow(/32 bytes/);
    expect(() => parseTokenKey(randomBytes(31).toString('base64'))).toThrow(/32 bytes/);
    expect(() => loadTokenKey({ TOKEN_ENCRYPTION_KEY: 'nope', NODE_ENV: 'development' })).toThrow(/TOKEN_ENCRYPTION_KEY/);
  });

  it('production without a key refuses to start', () => {
    expect(() => loadTokenKey({ NODE_ENV: 'production' })).toThrow(/TOKEN_ENCRYPTION_KEY is not set/);
  });

  it('development without a key uses the fixed dev key, with a warning', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const k1 = loadTokenKey({ NODE_ENV: 'test' });
    const k2 = loadTokenKey({});
    expect(k1.equals(k2)).toBe(true);
    expect(k1).toHaveLength(32);
    expect(warn.mock.calls.length).toBeLessThanOrEqual(1); // warns once per process
    const env = { TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'), NODE_ENV: 'production' };
    expect(loadTokenKey(env).equals(k1)).toBe(false);
  });
});
