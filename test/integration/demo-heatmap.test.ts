/**
 * Issue 14 item 6 through the whole app: the demo portal's data (`npm run demo` defaults: 500
 * contacts, generator seed 42) synced into the store, scored with the default settings, and the
 * dashboard's R×F heat map read over HTTP: no empty row or column, and its cells add up to the
 * buyers counted from the emulator's raw won deals.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { upsertPortalOnInstall } from '../../src/store/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { startUiServer, type UiTestServer } from './helpers/ui-server.js';

const NOW = Date.UTC(2026, 4, 15, 12, 0, 0);

eachDb('the demo portal on the dashboard: a heat map without empty rows or columns', (getDb) => {
  let srv: UiTestServer;
  let portal: Portal;
  let session = '';

  beforeAll(async () => {
    portal = new Portal({ memberId: 'demo-heat', clock: new PortalClock(NOW, 1, () => 0) });
    generatePortal(portal, { contacts: 500, seed: 42 });
    const p = await upsertPortalOnInstall(getDb(), { memberId: 'demo-heat', domain: 'demo-heat.test', clientEndpoint: 'https://demo-heat.test/rest/', status: 'active' });
    await mirrorEmulatorPortal(portal, getDb(), p.id);
    await runScoring(getDb(), p.id, new Date(NOW).toISOString().slice(0, 10));
    srv = await startUiServer(getDb());
    session = srv.session(p.id, 'demo-heat', { admin: true });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('every R row and every F column of the heat map has contacts; the cells add up to the buyers', async () => {
    const r = await srv.call('GET', '/api/ui/dashboard', { session });
    expect(r.status).toBe(200);
    const heat = r.json.heatmap as Array<{ r: number; f: number; count: number }>;
    for (let l = 1; l <= 5; l++) {
      expect([`R=${l}`, heat.filter((h) => h.r === l).reduce((s, h) => s + h.count, 0) > 0]).toEqual([`R=${l}`, true]);
      expect([`F=${l}`, heat.filter((h) => h.f === l).reduce((s, h) => s + h.count, 0) > 0]).toEqual([`F=${l}`, true]);
    }
    // buyers: contacts with a won day whose deals add up to more than 0 (or a free order), from the raw deals
    const days = new Map<number, Map<string, { sum: number; zero: boolean }>>();
    for (const d of portal.deals.values()) {
      if (stageSemantic(portal, d.stageId) !== 'S') continue;
      for (const c of d.contactIds) {
        const m = days.get(c) ?? new Map<string, { sum: number; zero: boolean }>();
        const x = m.get(d.closeDate) ?? { sum: 0, zero: true };
        x.sum += d.opportunity;
        x.zero &&= d.opportunity === 0;
        m.set(d.closeDate, x);
        days.set(c, m);
      }
    }
    const buyers = [...days.values()].filter((m) => [...m.values()].some((x) => x.sum > 0 || x.zero)).length;
    expect(heat.reduce((s, h) => s + h.count, 0)).toBe(buyers);
    // F: one, two, three, four purchase days each have their own level (the tie rule)
    const th = r.json.thresholds as { frequency: { bounds: number[] } };
    expect(th.frequency.bounds).toEqual([1, 2, 3, 4]);
  });
});
