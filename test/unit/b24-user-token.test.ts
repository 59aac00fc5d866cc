/** A user's token on the portal's client: same Limiter, the stored endpoint, no server-side refresh (a 401 is the answer). */
import { describe, expect, it } from 'vitest';
import { B24Client, B24Error, UserTokenNotRefreshableError, UserTokenSource, WebhookTokenSource, type Transport } from '../../src/b24/index.js';

describe('UserTokenSource over the portal client', () => {
  it('shares the portal client\'s Limiter, calls the stored endpoint with the user\'s token, never refreshes it', async () => {
    const seen: Array<{ url: string; auth: unknown }> = [];
    const transport: Transport = async ({ url, body }) => {
      const auth = (body as { auth?: unknown }).auth;
      seen.push({ url, auth });
      if (auth === 'user-token') return { status: 200, data: { result: { ID: '7' }, time: { start: 1_700_000_000 } } };
      return { status: 401, data: { error: 'invalid_token', error_description: 'The access token provided is invalid.' } };
    };
    const portal = new B24Client({ tokens: new WebhookTokenSource('https://p.example/rest/1/secret/'), transport });
    const asUser = portal.withTokens(new UserTokenSource({ clientEndpoint: 'https://p.example/rest', domain: 'evil.example' }, 'user-token'));
    expect(asUser.limiter).toBe(portal.limiter);
    expect(await asUser.call('profile')).toEqual({ ID: '7' });
    expect(seen[0]).toEqual({ url: 'https://p.example/rest/profile', auth: 'user-token' });
    expect(portal.limiter.anchored).toBe(true); // the user's answer taught the shared limiter the portal's clock

    const stale = portal.withTokens(new UserTokenSource({ clientEndpoint: null, domain: 'p.example' }, 'old-token'));
    const err = await stale.call('profile').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(B24Error);
    expect(err).toMatchObject({ code: 'invalid_token', status: 401 });
    expect(seen.at(-1)!.url).toBe('https://p.example/rest/profile');
    expect(stale.counters.tokenRefreshes).toBe(0);
    await expect(new UserTokenSource({ clientEndpoint: null, domain: 'p.example' }, 't').refresh()).rejects.toBeInstanceOf(UserTokenNotRefreshableError);
  });
});
