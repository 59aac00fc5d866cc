/**
 * Usable as soon as scoring ends: while the write-back is still writing (stopped inside its first
 * batch callback), the segment counts, the list and the dashboard already answer from the new score
 * run, and GET /sync shows the write-back stage, its progress (done / total, top-priority customers)
 * and an ETA; another portal's session sees none of it. Real HTTP, the real app, an emulated portal.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { upsertPortalOnInstall, queryContactLabels } from '../../src/store/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { eachDb } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';
import { seedPortal, startUiServer, type UiTestServer } from './helpers/ui-server.js';

const KEY = new Set(['champions', 'loyal', 'at_risk', 'cant_lose']);

eachDb('lists usable while the write-back runs', (getDb) => {
  let tp: TestPortal;
  let srv: UiTestServer;

  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 250, deals: 1000, seed: 33, timeScale: 100 });
    srv = await startUiServer(getDb());
  });
  afterAll(async () => {
    await srv?.close();
    await tp?.emu.close();
  });

  it('counts, list and dashboard answer from the new run during the write-back; /sync shows its stage, progress and ETA', async () => {
    const db = getDb();
    const other = await seedPortal(db, 'member-early-other', [{ id: 1, name: 'X' }], [{ contactId: 1, segment: 'lost' }]);
    const memberId = 'member-early-0001';
    const portalId = (await upsertPortalOnInstall(db, { memberId, domain: `${memberId}.test`, clientEndpoint: `https://${memberId}.test/rest/`, status: 'active' })).id;
    await mirrorEmulatorPortal(tp.emu.portal, db, portalId);
    const s = await runScoring(db, portalId);
    const labels = await queryContactLabels(db, portalId, s.runId, { limit: 100_000 });
    const champions = labels.filter((l) => l.segment === 'champions').length;
    const top = labels.filter((l) => l.segment !== null && KEY.has(l.segment)).length;
    expect(champions).toBeGreaterThan(0);
    const admin = srv.session(portalId, memberId, { admin: true });
    const foreign = srv.session(other.portalId, other.memberId, { admin: true });
    let seen = 0;
    let failure: unknown = null;
    const w = await runWriteBack(db, portalId, new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: 100 } }), {
      onBatch: async (p) => {
        if (seen++) return;
        try {
        // the CRM holds the fields of the first batch only
        const inCrm = [...tp.emu.portal.contacts.values()].filter((c) => c.uf.UF_CRM_SEG_SEGMENT !== undefined).length;
        expect(inCrm).toBe(p.done);
        expect(p.done).toBeLessThan(p.planned);
        const count = await srv.call('POST', '/api/ui/segments/count', { session: admin, body: { filter: { all: [{ field: 'segment', values: ['champions'] }] } } });
        expect([count.status, count.json.count]).toEqual([200, champions]);
        const list = await srv.call('POST', '/api/ui/segments/list', { session: admin, body: { filter: { all: [{ field: 'segment', values: ['champions'] }] } } });
        expect(list.status).toBe(200);
        const dash = await srv.call('GET', '/api/ui/dashboard', { session: admin });
        expect(dash.status).toBe(200);
        const sync = await srv.call('GET', '/api/ui/sync', { session: admin });
        expect(sync.status).toBe(200);
        const wb = sync.json.writeBack as { status: string; progress: Record<string, number>; etaSeconds: number | null };
        expect(sync.json.stage).toBe('writeback');
        expect(wb.status).toBe('running');
        expect(wb.progress).toEqual({ kind: 'contact', planned: p.planned, done: p.done, topPlanned: top, topDone: Math.min(p.done, top) });
        expect(typeof wb.etaSeconds).toBe('number');
        const theirs = await srv.call('GET', '/api/ui/sync', { session: foreign });
        expect([theirs.status, theirs.json.stage, theirs.json.writeBack]).toEqual([200, null, null]);
        } catch (e) {
          failure = e; // the write-back catches what its callback throws: rethrown below
        }
      },
    });
    if (failure) throw failure;
    expect(seen).toBeGreaterThan(1);
    const after = await srv.call('GET', '/api/ui/sync', { session: admin });
    expect([after.json.stage, (after.json.writeBack as { status: string; written: number }).status, (after.json.writeBack as { written: number }).written]).toEqual([null, 'done', w.written]);
  });
});
