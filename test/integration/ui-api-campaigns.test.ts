/**
 * The campaign endpoints of the UI API over real HTTP, as an attacker would try them: a
 * non-admin creating (403), a forged or foreign campaign id (404, nothing of the other portal
 * shown), out-of-range and oversize input (400 with a JSON reason), unknown keys, too many steps, a
 * repeated create (the same campaign), and what a non-admin sees: only campaigns with their own
 * customers, counted over those alone. The figures' arithmetic is campaigns-core.test.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { updatePortalSettings } from '../../src/store/index.js';
import { seedPortal, startUiServer, type UiTestServer } from './helpers/ui-server.js';

const N = 60;
/** contacts 1..60: odd ones belong to user 2, even ones to user 3 */
const contacts = Array.from({ length: N }, (_, i) => ({ id: i + 1, name: `C${i + 1}`, lastName: 'L', assignedById: (i + 1) % 2 ? 2 : 3 }));
const labels = contacts.map((c) => ({ contactId: c.id, segment: c.id <= 40 ? 'lost' : 'champions', monetary: 100, frequency: 1 }));

eachDb('ui api campaigns', (getDb, { kind }) => {
  let srv: UiTestServer;
  let A: { portalId: number; memberId: string };
  let B: { portalId: number; memberId: string };
  let admin = '';
  let adminB = '';
  const body = (o: Record<string, unknown> = {}) => ({ name: 'Win back', savedSegmentId: 'lost', action: { type: 'comment', text: 'Hello {name}' }, ...o });

  beforeAll(async () => {
    A = await seedPortal(getDb(), `camp-api-a-${kind}`, contacts, labels);
    B = await seedPortal(getDb(), `camp-api-b-${kind}`, contacts, labels);
    for (const p of [A, B]) {
      await updatePortalSettings(getDb(), p.portalId, { savedSegments: [{ id: 'lost', name: 'Lost', filter: { all: [{ field: 'segment', values: ['lost'] }] }, priority: 0 }] });
    }
    srv = await startUiServer(getDb());
    admin = srv.session(A.portalId, A.memberId, { admin: true });
    adminB = srv.session(B.portalId, B.memberId, { admin: true });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('creates (admins only), once per request key, and refuses bad input with a JSON reason', async () => {
    const user = srv.session(A.portalId, A.memberId, { user: 2 });
    expect((await srv.call('POST', '/api/ui/campaigns', { session: user, body: body() })).status).toBe(403);
    expect((await srv.call('POST', '/api/ui/campaigns', { body: body() })).status).toBe(401);
    const made = await srv.call('POST', '/api/ui/campaigns', { session: admin, body: body({ requestKey: 'form-1' }) });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ created: true, members: 40 });
    expect((made.json.treatment as number) + (made.json.holdout as number)).toBe(40);
    const again = await srv.call('POST', '/api/ui/campaigns', { session: admin, body: body({ requestKey: 'form-1' }) });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: made.json.id, created: false });

    const bad = async (b: unknown, code = 'BAD_REQUEST', status = 400) => {
      const r = await srv.call('POST', '/api/ui/campaigns', { session: admin, body: b });
      expect([r.status, r.json.error]).toEqual([status, code]);
      expect(typeof r.json.message).toBe('string');
    };
    await bad(body({ holdoutShare: 0 }));
    await bad(body({ holdoutShare: 0.51 }));
    await bad(body({ holdoutShare: '0.1' }));
    await bad(body({ windowDays: 31 }));
    await bad(body({ name: 'x'.repeat(121) }));
    await bad(body({ name: '   ' }));
    await bad(body({ portalId: B.portalId }));
    await bad(body({ steps: Array.from({ length: 6 }, () => ({ kind: 'reminder', at: new Date().toISOString() })) }));
    await bad(body({ steps: [{ kind: 'start', at: 'tomorrow' }] }));
    await bad(body({ steps: [{ kind: 'start', at: new Date(Date.now() + 200 * 86_400_000).toISOString() }] }), 'STEP_OUT_OF_RANGE');
    await bad(body({ action: { type: 'workflow', templateId: -1 } }));
    await bad(body({ action: { type: 'comment', text: { nested: { deeper: ['x'] } } } }));
    await bad(body({ costPerMessage: -1 }));
    await bad(body({ savedSegmentId: '../../etc' }));
    await bad(body({ savedSegmentId: 'missing' }), 'SEGMENT_NOT_FOUND', 404);
    await bad([body()]);
    const big = await srv.call('POST', '/api/ui/campaigns', { session: admin, rawBody: JSON.stringify(body({ name: 'x'.repeat(3_000_000) })) });
    expect(big.status).toBe(413);
  });

  it('keeps portals apart: a foreign or forged id is 404 and shows nothing', async () => {
    const list = await srv.call('GET', '/api/ui/campaigns', { session: admin });
    const id = (list.json.campaigns as Array<{ id: number }>)[0]!.id;
    expect((await srv.call('GET', `/api/ui/campaigns/${id}`, { session: admin })).status).toBe(200);
    for (const p of [`/api/ui/campaigns/${id}`, `/api/ui/campaigns/${id}/export`]) {
      const r = await srv.call('GET', p, { session: adminB });
      expect([r.status, r.json.error]).toEqual([404, 'CAMPAIGN_NOT_FOUND']);
      expect(r.text).not.toContain('Win back');
    }
    expect((await srv.call('POST', `/api/ui/campaigns/${id}/run`, { session: adminB })).status).toBe(404);
    expect((await srv.call('GET', '/api/ui/campaigns', { session: adminB })).json.campaigns).toEqual([]);
    for (const forged of ['abc', '-1', '0', '1.5', '99999999999', `${id}%20OR%201=1`]) {
      const r = await srv.call('GET', `/api/ui/campaigns/${forged}`, { session: admin });
      expect([forged, r.status]).toEqual([forged, forged === '99999999999' ? 404 : 400]);
    }
    expect((await srv.call('GET', `/api/ui/campaigns/${id}?x=1&x=2`, { session: admin })).status).toBe(400);
    expect((await srv.call('GET', `/api/ui/campaigns?portalId=${B.portalId}`, { session: admin })).status).toBe(400);
  });

  it('a non-admin sees only campaigns with their own customers, counted over those', async () => {
    const list = await srv.call('GET', '/api/ui/campaigns', { session: admin });
    const c = (list.json.campaigns as Array<{ id: number; treatment: number; holdout: number }>)[0]!;
    expect(c.treatment + c.holdout).toBe(40);
    // user 2 owns the odd contacts: 20 of the 40 lost ones
    const u2 = srv.session(A.portalId, A.memberId, { user: 2 });
    const l2 = await srv.call('GET', '/api/ui/campaigns', { session: u2 });
    const mine = (l2.json.campaigns as Array<{ id: number; treatment: number; holdout: number }>)[0]!;
    expect(mine.treatment + mine.holdout).toBe(20);
    const m2 = await srv.call('GET', `/api/ui/campaigns/${c.id}`, { session: u2 });
    expect(m2.status).toBe(200);
    expect((m2.json.treated as number) + (m2.json.holdout as number)).toBe(20);
    expect(m2.json.campaign).not.toHaveProperty('seed');
    // the costs, ROI and the margin setting are the admins': a manager's figures cover part of the members
    const mA = await srv.call('GET', `/api/ui/campaigns/${c.id}`, { session: admin });
    expect([typeof mA.json.cost, typeof mA.json.marginPercent, typeof (mA.json.campaign as Record<string, unknown>).costFixed]).toEqual(['number', 'number', 'number']);
    expect([m2.json.cost, m2.json.marginPercent, m2.json.roi]).toEqual([null, null, null]);
    expect((m2.json.campaign as Record<string, unknown>).costFixed).toBeNull();
    expect((m2.json.campaign as Record<string, unknown>).costPerMessage).toBeNull();
    // user 9 owns nobody
    const u9 = srv.session(A.portalId, A.memberId, { user: 9 });
    expect((await srv.call('GET', '/api/ui/campaigns', { session: u9 })).json.campaigns).toEqual([]);
    expect((await srv.call('GET', `/api/ui/campaigns/${c.id}`, { session: u9 })).status).toBe(404);
    expect((await srv.call('POST', `/api/ui/campaigns/${c.id}/run`, { session: u2 })).status).toBe(403);
  });

  it('"run now" waits for a job that holds the portal\'s lease (409 PORTAL_BUSY), the other portal is not affected', async () => {
    const list = await srv.call('GET', '/api/ui/campaigns', { session: admin });
    const id = (list.json.campaigns as Array<{ id: number }>)[0]!.id;
    await getDb().query(`INSERT INTO portal_locks (portal_id, holder, kind, acquired_at, expires_at) VALUES ($1, 'test-job', 'score', now(), now() + interval '2 minutes')`, [A.portalId]);
    try {
      const busy = await srv.call('POST', `/api/ui/campaigns/${id}/run`, { session: admin });
      expect([busy.status, busy.json.error]).toEqual([409, 'PORTAL_BUSY']);
      // portal B's lease is free: its own campaign id of portal A is still not found there
      expect((await srv.call('POST', `/api/ui/campaigns/${id}/run`, { session: adminB })).status).toBe(404);
    } finally {
      await getDb().query(`DELETE FROM portal_locks WHERE portal_id = $1`, [A.portalId]);
    }
    // an expired lease does not block
    await getDb().query(`INSERT INTO portal_locks (portal_id, holder, kind, acquired_at, expires_at) VALUES ($1, 'dead-job', 'score', now() - interval '1 hour', now() - interval '1 minute')`, [A.portalId]);
    try {
      expect((await srv.call('POST', `/api/ui/campaigns/${id}/run`, { session: admin })).status).not.toBe(409);
    } finally {
      await getDb().query(`DELETE FROM portal_locks WHERE portal_id = $1`, [A.portalId]);
    }
  });

  it('exports the measurement as CSV in the user\'s language', async () => {
    const list = await srv.call('GET', '/api/ui/campaigns', { session: admin });
    const id = (list.json.campaigns as Array<{ id: number }>)[0]!.id;
    const en = await srv.call('GET', `/api/ui/campaigns/${id}/export`, { session: admin });
    expect(en.status).toBe(200);
    expect(en.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const lines = en.text.replace(/^\uFEFF/, '').trim().split('\r\n');
    // header, the campaign's two groups, the one (default) step's two groups
    expect(lines).toHaveLength(5);
    expect(lines[0]).toContain('Lift, %');
    expect(lines[1]).toMatch(/^Campaign C\d+,treatment,/);
    const ru = await srv.call('GET', `/api/ui/campaigns/${id}/export`, { session: srv.session(A.portalId, A.memberId, { admin: true, lang: 'ru' }) });
    expect(ru.text).toContain('Прирост, %');
    expect(ru.text.split('\r\n')[2]).toMatch(/^Кампания C\d+;контрольная;/);
  });
});
