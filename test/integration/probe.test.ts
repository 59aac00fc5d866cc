// The probe (src/probe, `npm run probe`) against emulators: the emulator itself must show parity;
// an emulator with a deliberately different cost model and shape must show exactly those differences.
import { afterEach, describe, expect, it } from 'vitest';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import type { Dispatcher } from '../../src/emulator/http/runtime.js';
import { callMethod, methods } from '../../src/emulator/methods/index.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator, type StartOptions } from '../../src/emulator/server.js';
import { RestError } from '../../src/emulator/types.js';
import { parseArgs, webhookBase } from '../../src/probe/args.js';
import { main } from '../../src/probe/cli.js';

const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function emulator(opts: Partial<StartOptions> = {}): Promise<RunningEmulator> {
  const portal = new Portal({ clock: new PortalClock(Date.now(), 1) });
  generatePortal(portal, { contacts: 90, seed: 7 });
  const emu = await startEmulator({ portal, hostPage: false, limits: { noRateLimit: true }, log: () => undefined, ...opts });
  running.push(emu);
  return emu;
}

interface Run { code: number; out: string[]; err: string[]; json: { portal: string; checks: number; differences: unknown[]; costs: { method: string; predicted: number; observed: number }[] } }

async function probe(argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  const last = out.at(-1) ?? '{}';
  return { code, out, err, json: JSON.parse(last.startsWith('{') ? last : '{}') as Run['json'] };
}

describe('probe', () => {
  it('against the emulator itself: parity (zero differences), with the write cycle', async () => {
    const emu = await emulator();
    const r = await probe(['--webhook', `${emu.webhookUrl}profile.json`, '--write']);
    expect(r.code).toBe(0);
    expect(r.json.differences).toEqual([]);
    expect(r.json.checks).toBeGreaterThan(40);
    expect(r.json.portal).toBe(new URL(emu.url).host);
    expect(r.json.costs.length).toBeGreaterThan(20);
    for (const c of r.json.costs) expect(c.observed).toBeCloseTo(c.predicted, 6);
    expect(r.out[0]).toMatch(/checks · 0 differences/);
    expect(r.out.join('\n')).toMatch(/write: crm\.contact\.delete\s+ok/);
    // the marked contact is gone again
    expect([...emu.portal.contacts.values()].some((c) => c.name.startsWith('b24-segments probe'))).toBe(false);
  });

  it('against an emulator with another cost model and a changed shape: exactly those differences', async () => {
    // crm.contact.get loses BIRTHDATE, unknown methods answer another code, crm.deal.list costs 0.5 s
    const dispatcher: Dispatcher = {
      methods,
      callMethod(ctx, name, params) {
        try {
          const res = callMethod(ctx, name, params);
          if (name !== 'crm.contact.get') return res;
          const { BIRTHDATE: _dropped, ...rest } = res.result as Record<string, unknown>;
          return { ...res, result: rest };
        } catch (e) {
          if (e instanceof RestError && e.code === 'ERROR_METHOD_NOT_FOUND') throw new RestError('METHOD_NOT_FOUND', e.description, e.status);
          throw e;
        }
      },
    };
    const emu = await emulator({ dispatcher, limits: { noRateLimit: true, costs: { methods: { 'crm.deal.list': 0.5 } } } });
    const r = await probe(['--webhook', emu.webhookUrl, '--json']);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    // the default model's crm.deal.list page (start 0): 0.03 s + 0.0007 s × rows + 2.1e-5 s × every deal (the count)
    const deals = emu.portal.deals.size;
    const predicted = Math.round((0.03 + 0.0007 * Math.min(50, deals) + 2.1e-5 * deals) * 1e6) / 1e6;
    expect(r.json.differences).toEqual([
      { check: 'crm.contact.get', path: 'BIRTHDATE', expected: 'present (string)', seen: 'missing' },
      { check: 'error: unknown method', path: 'status/error', expected: '404 "ERROR_METHOD_NOT_FOUND"', seen: '404 "METHOD_NOT_FOUND"' },
      { check: 'cost crm.deal.list', path: 'time.processing', expected: `${predicted} s`, seen: '0.5 s' },
    ]);
    expect(r.json.costs.filter((c) => c.method === 'crm.deal.list')).toEqual([{ method: 'crm.deal.list', predicted, observed: 0.5 }]);
  });

  it('exit codes: 2 on bad flags, 1 when the portal cannot be reached, 0 for --help', async () => {
    expect((await probe([])).code).toBe(2);
    expect((await probe(['--webhook', 'https://portal.example/no-webhook/'])).code).toBe(2);
    expect((await probe(['--webhook', 'https://p.example/rest/1/abc/', '--nope'])).code).toBe(2);
    expect((await probe(['--help'])).code).toBe(0);
    const emu = await emulator();
    const url = emu.webhookUrl;
    await emu.close();
    const down = await probe(['--webhook', url]);
    expect(down.code).toBe(1);
    expect(down.err.join('\n')).toMatch(/cannot be reached/);
    const live = await emulator();
    const wrong = await probe(['--webhook', live.webhookUrl.replace(/\/rest\/1\/[^/]+\//, '/rest/1/wrongsecret/')]);
    expect(wrong.code).toBe(1);
    expect(wrong.err.join('\n')).toMatch(/NO_AUTH_FOUND/);
  });

  it('webhook URLs are normalised to their REST base', () => {
    expect(webhookBase('https://x.bitrix24.com/rest/1/abc123/')).toBe('https://x.bitrix24.com/rest/1/abc123/');
    expect(webhookBase('https://x.bitrix24.com/rest/1/abc123/profile.json')).toBe('https://x.bitrix24.com/rest/1/abc123/');
    expect(webhookBase('https://x.bitrix24.com/rest/1/abc123')).toBe('https://x.bitrix24.com/rest/1/abc123/');
    expect(webhookBase('ftp://x/rest/1/a/')).toBeNull();
    expect(parseArgs(['--webhook=https://x/rest/7/s/', '--write'])).toEqual({ ok: true, args: { webhook: 'https://x/rest/7/s/', write: true, json: false } });
  });
});
