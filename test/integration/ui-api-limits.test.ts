/**
 * The UI API's bounds on filters, over real HTTP against the real app (createServer) on PGlite and
 * PostgreSQL: the saved-segment expansion bomb and cycles are refused (400, nothing stored, nothing
 * run), the number of saved segments per portal is capped, `exclude` nested past the depth limit
 * is a 400 naming the depth (also 20,000 deep: no stack blow-up), and every filter within the
 * limits compiles to valid SQL whose count equals an independent SQL count (the join decision
 * follows the compiler to the same depth).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { updatePortalSettings, type Db } from '../../src/store/index.js';
import { UI_BODY_LIMIT_BYTES } from '../../src/server/ui-api/limits.js';
import { MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH, MAX_FILTER_VALUES, MAX_SAVED_SEGMENTS } from '../../src/segments/index.js';
import { seedPortal, startUiServer, storedSettings, type UiTestServer } from './helpers/ui-server.js';

const SEGS = ['champions', 'loyal', 'at_risk', 'lost', 'new'] as const;
const N = 120;
const CITIES = ['Berlin', 'berlin', 'Kyiv', null];

const contacts = () => Array.from({ length: N }, (_, i) => ({
  id: i + 1, name: `N${i + 1}`, lastName: `L${i + 1}`, city: CITIES[i % 4], sourceId: i % 2 ? 'WEB' : 'CALL',
  assignedById: (i % 4) + 1, hasEmail: i % 2 === 0, hasPhone: i % 5 === 0,
}));
const labels = () => Array.from({ length: N }, (_, i) => ({
  contactId: i + 1, segment: SEGS[i % 5], r: (i % 5) + 1, f: ((i >> 1) % 5) + 1, m: ((i >> 2) % 5) + 1,
  rfm: `${(i % 5) + 1}${((i >> 1) % 5) + 1}${((i >> 2) % 5) + 1}`, monetary: 10 * i, clv: 5 * i, recencyDays: i,
  frequency: (i % 6) + 1, lifecycle: i % 2 ? 'regular' : 'one_time', sleeping: i % 4 === 0, interests: i % 3 === 0 ? ['bikes'] : [],
}));

/** 40 conditions (the most one `all` list takes). */
const forty = () => Array.from({ length: 40 }, (_, i) => ({ field: 'range', key: 'recency_days', min: 0, max: 1000 + i }));
/** `exclude` nested `depth` levels below a root of `root`, with `deepest` at the bottom. */
function nested(depth: number, root: unknown[], deepest: unknown[]): Record<string, unknown> {
  let f: Record<string, unknown> = { all: deepest };
  for (let i = depth - 1; i >= 1; i--) f = { all: [], exclude: f };
  return depth === 0 ? { all: [...root, ...deepest] } : { all: root, exclude: f };
}

eachDb('ui api filter limits', (getDb) => {
  let srv: UiTestServer;
  let p: { portalId: number; runId: number; memberId: string };
  /** the same data, but its run is not tracked by the count tables: counts go through the join */
  let pj: { portalId: number; runId: number; memberId: string };
  let admin = '';
  let adminJ = '';
  let mgr = '';

  const A = (m: string, path: string, body?: unknown) => srv.call(m, `/api/ui${path}`, { session: admin, body });
  const sql = async (portal: { portalId: number; runId: number }, where: string) => {
    const { rows } = await getDb().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        WHERE l.portal_id = $1 AND l.run_id = $2 AND ${where}`,
      [portal.portalId, portal.runId],
    );
    return rows[0]!.n;
  };
  const settingsNow = () => storedSettings(getDb(), p.portalId);

  beforeAll(async () => {
    const db: Db = getDb();
    p = await seedPortal(db, 'member-limits-0001', contacts(), labels());
    pj = await seedPortal(db, 'member-limits-join', contacts(), labels());
    await db.query('DELETE FROM label_facts_run WHERE portal_id = $1', [pj.portalId]);
    srv = await startUiServer(db);
    admin = srv.session(p.portalId, p.memberId, { admin: true });
    adminJ = srv.session(pj.portalId, pj.memberId, { admin: true });
    mgr = srv.session(p.portalId, p.memberId, { admin: false, user: 2 });
  });
  afterAll(async () => {
    await srv?.close();
  });

  const tooMany = (what: string) => ({
    error: 'FILTER_TOO_LARGE',
    message: `${what} too large: more than ${MAX_FILTER_CONDITIONS} conditions once saved segments are inlined (limit ${MAX_FILTER_CONDITIONS} conditions)`,
  });
  const tooDeep = (what: string) => ({
    error: 'FILTER_TOO_LARGE',
    message: `${what} too large: nested more than ${MAX_FILTER_DEPTH} levels deep, counting exclusions and saved segments inlined (limit ${MAX_FILTER_DEPTH} levels)`,
  });

  it('the saved-segment expansion bomb cannot be saved: PUT /saved is 400 FILTER_TOO_LARGE and nothing is stored', async () => {
    expect((await A('PUT', '/saved', { id: 's3', name: 'forty conditions', filter: { all: forty() } })).status).toBe(200);
    const before = await settingsNow();
    const s2 = { id: 's2', name: 'forty times s3', filter: { all: Array.from({ length: 40 }, () => ({ field: 'saved', id: 's3' })) } };
    const r = await A('PUT', '/saved', s2);
    expect(r.status).toBe(400);
    expect(r.json).toEqual(tooMany('saved segment "s2"'));
    expect(await settingsNow()).toEqual(before);
    // a segment that refers to a growing one: growing it may not push the referrer over the limit
    expect((await A('PUT', '/saved', { id: 's2', name: 'nine times s3', filter: { all: Array.from({ length: 9 }, () => ({ field: 'saved', id: 's3' })) } })).status).toBe(200);
    const mid = await settingsNow();
    const grow = await A('PUT', '/saved', { id: 's3', name: 'forty conditions', filter: { all: forty(), any: forty() } });
    expect(grow.status).toBe(400);
    expect(grow.json).toEqual(tooMany('saved segment "s2" (which refers to "s3")'));
    expect(await settingsNow()).toEqual(mid);
    await A('DELETE', '/saved/s2');
    await A('DELETE', '/saved/s3');
  });

  it('a bomb already stored (written before the limits) is refused by count, list, quality and export with 400 FILTER_TOO_LARGE', async () => {
    const ref = (id: string) => Array.from({ length: 40 }, () => ({ field: 'saved', id }));
    await updatePortalSettings(getDb(), p.portalId, {
      savedSegments: [
        { id: 'b1', name: 'b1', priority: 0, filter: { all: ref('b2') } },
        { id: 'b2', name: 'b2', priority: 0, filter: { all: ref('b3') } },
        { id: 'b3', name: 'b3', priority: 0, filter: { all: forty() } },
      ],
    });
    const filter = { all: [{ field: 'saved', id: 'b1' }] };
    for (const [path, body] of [
      ['/segments/count', { filter }], ['/segments/list', { filter }], ['/segments/quality', { filter }], ['/segments/export', { filter }],
    ] as const) {
      const r = await A('POST', path, body);
      expect(r.status, path).toBe(400);
      expect(r.json, path).toEqual(tooMany('filter'));
    }
    // checked before anything else: a non-admin without a user token gets the same 400 (no portal call)
    const m = await srv.call('POST', '/api/ui/segments/count', { session: mgr, body: { filter } });
    expect(m.status).toBe(400);
    expect(m.json).toEqual(tooMany('filter'));
    // an inline filter over the limit, no saved segments: 9 levels of 80 conditions = 720
    const lvl = () => ({ all: forty(), any: forty() });
    let inline: Record<string, unknown> = lvl();
    for (let i = 0; i < MAX_FILTER_DEPTH; i++) inline = { ...lvl(), exclude: inline };
    const r = await A('POST', '/segments/count', { filter: inline });
    expect(r.status).toBe(400);
    expect(r.json).toEqual(tooMany('filter'));
    // at the limit it runs: 400 conditions in 5 levels of 80
    let at: Record<string, unknown> = lvl();
    for (let i = 0; i < 4; i++) at = { ...lvl(), exclude: at };
    const ok = await A('POST', '/segments/count', { filter: at });
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    // every condition holds; an even number of exclusions below the root keeps everyone
    expect(ok.json.count).toBe(await sql(p, 'l.recency_days BETWEEN 0 AND 1000'));
    expect(ok.json.count).toBe(N);
    await updatePortalSettings(getDb(), p.portalId, { savedSegments: [] });
  });

  it(`more than ${MAX_FILTER_VALUES} values (e.g. text patterns) after inlining is 400 FILTER_TOO_LARGE, inline or through a saved segment`, async () => {
    const patterns = (k: number) => ({ field: 'city', op: 'contains', values: Array.from({ length: 100 }, (_, i) => `no-city-${k}-${i}`) });
    const tooBig = { all: Array.from({ length: MAX_FILTER_VALUES / 100 + 1 }, (_, k) => patterns(k)) };
    const want = {
      error: 'FILTER_TOO_LARGE',
      message: `filter too large: more than ${MAX_FILTER_VALUES} values in its conditions once saved segments are inlined (limit ${MAX_FILTER_VALUES} values)`,
    };
    for (const path of ['/segments/count', '/segments/list', '/segments/quality', '/segments/export']) {
      const r = await A('POST', path, { filter: tooBig });
      expect(r.status, path).toBe(400);
      expect(r.json, path).toEqual(want);
    }
    // exactly at the limit it runs (and matches no one)
    const at = { all: Array.from({ length: MAX_FILTER_VALUES / 100 }, (_, k) => patterns(k)) };
    const ok = await A('POST', '/segments/count', { filter: at });
    expect(ok.status).toBe(200);
    expect(ok.json.count).toBe(0);
    // saved: 600 values, then a filter using it twice
    expect((await A('PUT', '/saved', { id: 'patterns', name: 'p', filter: { all: [0, 1, 2, 3, 4, 5].map(patterns) } })).status).toBe(200);
    const before = await settingsNow();
    const twice = await A('PUT', '/saved', { id: 'twice', name: 't', filter: { all: [{ field: 'saved', id: 'patterns' }, { field: 'saved', id: 'patterns' }] } });
    expect(twice.status).toBe(400);
    expect(twice.json).toEqual({ ...want, message: want.message.replace(/^filter/, 'saved segment "twice"') });
    expect(await settingsNow()).toEqual(before);
    await A('DELETE', '/saved/patterns');
  });

  it('a saved segment cannot reach itself: 400 FILTER_CYCLE (directly or through others), nothing stored; a stored cycle is a 400 too', async () => {
    const before = await settingsNow();
    const self = await A('PUT', '/saved', { id: 'loop', name: 'loop', filter: { all: [{ field: 'saved', id: 'loop' }] } });
    expect(self.status).toBe(400);
    expect(self.json).toEqual({ error: 'FILTER_CYCLE', message: 'saved segment cycle: loop → loop' });
    const selfExcl = await A('PUT', '/saved', { id: 'loop', name: 'loop', filter: { all: [], exclude: { all: [{ field: 'saved', id: 'loop' }] } } });
    expect(selfExcl.json).toEqual({ error: 'FILTER_CYCLE', message: 'saved segment cycle: loop → loop' });
    expect(await settingsNow()).toEqual(before);
    expect((await A('PUT', '/saved', { id: 'b', name: 'b', filter: { all: [{ field: 'segment', values: ['lost'] }] } })).status).toBe(200);
    expect((await A('PUT', '/saved', { id: 'c', name: 'c', filter: { all: [{ field: 'saved', id: 'b' }] } })).status).toBe(200);
    const mid = await settingsNow();
    const loop = await A('PUT', '/saved', { id: 'b', name: 'b', filter: { all: [{ field: 'saved', id: 'c' }] } });
    expect(loop.status).toBe(400);
    expect(loop.json).toEqual({ error: 'FILTER_CYCLE', message: 'saved segment cycle: b → c → b' });
    expect(await settingsNow()).toEqual(mid);
    // stored before the check existed: counting through it is a 400, not a stack overflow
    await updatePortalSettings(getDb(), p.portalId, {
      savedSegments: [
        { id: 'x', name: 'x', priority: 0, filter: { all: [{ field: 'saved', id: 'y' }] } },
        { id: 'y', name: 'y', priority: 0, filter: { all: [], exclude: { all: [{ field: 'saved', id: 'x' }] } } },
      ],
    });
    const r = await A('POST', '/segments/count', { filter: { all: [{ field: 'saved', id: 'x' }] } });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'FILTER_CYCLE', message: 'saved segment cycle: x → y → x' });
    await updatePortalSettings(getDb(), p.portalId, { savedSegments: [] });
  });

  it(`a portal keeps at most ${MAX_SAVED_SEGMENTS} saved segments: the next one is 400 TOO_MANY_SAVED_SEGMENTS, nothing stored`, async () => {
    const full = Array.from({ length: MAX_SAVED_SEGMENTS }, (_, i) => ({ id: `s-${i}`, name: `S${i}`, priority: 0, filter: { all: [{ field: 'segment', values: ['lost'] }] } }));
    await updatePortalSettings(getDb(), p.portalId, { savedSegments: full });
    const before = await settingsNow();
    const r = await A('PUT', '/saved', { id: 'one-more', name: 'one more', filter: { all: [] } });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      error: 'TOO_MANY_SAVED_SEGMENTS',
      message: `a portal keeps at most ${MAX_SAVED_SEGMENTS} saved segments (limit ${MAX_SAVED_SEGMENTS}); delete one first`,
    });
    expect(await settingsNow()).toEqual(before);
    // replacing one of them is fine
    const re = await A('PUT', '/saved', { id: 's-7', name: 'renamed', filter: { all: [] } });
    expect(re.status).toBe(200);
    expect((re.json.saved as unknown[]).length).toBe(MAX_SAVED_SEGMENTS);
    await updatePortalSettings(getDb(), p.portalId, { savedSegments: [] });
  });

  it(`exclude nested 1,000 (and 20,000) deep is 400 FILTER_TOO_LARGE naming the depth, on every filter endpoint and PUT /saved`, async () => {
    for (const depth of [1000, 20_000]) {
      // {"exclude":{"exclude":...}} (all defaults to []): 20,000 levels fit in the 256 KB body limit.
      // Written by hand: JSON.stringify itself recurses.
      const deep = `${'{"exclude":'.repeat(depth)}{"all":[{"field":"city","op":"in","values":["Berlin"]}]}${'}'.repeat(depth)}`;
      const want = { error: 'FILTER_TOO_LARGE', message: `filter too large: exclude is nested ${depth} levels deep (limit ${MAX_FILTER_DEPTH} levels)` };
      for (const path of ['/segments/count', '/segments/list', '/segments/quality', '/segments/export']) {
        const r = await srv.call('POST', `/api/ui${path}`, { session: admin, rawBody: `{"filter":${deep}}` });
        expect(r.status, `${path} ${depth}`).toBe(400);
        expect(r.json, path).toEqual(want);
      }
      const before = await settingsNow();
      const s = await srv.call('PUT', '/api/ui/saved', { session: admin, rawBody: `{"id":"deep","name":"deep","filter":${deep}}` });
      expect(s.status).toBe(400);
      expect(s.json).toEqual(want);
      expect(await settingsNow()).toEqual(before);
    }
    // stored before the check: that segment is left out, the others stay
    let deepStored: Record<string, unknown> = { all: [] };
    for (let i = 0; i < 1000; i++) deepStored = { all: [], exclude: deepStored };
    await updatePortalSettings(getDb(), p.portalId, {
      savedSegments: [
        { id: 'ok', name: 'ok', priority: 0, filter: { all: [{ field: 'segment', values: ['lost'] }] } },
        { id: 'deep', name: 'deep', priority: 0, filter: deepStored },
      ],
    });
    expect((await A('GET', '/saved')).json).toEqual({ saved: [{ id: 'ok', name: 'ok', priority: 0, filter: { all: [{ field: 'segment', values: ['lost'] }] } }] });
    const viaDeep = await A('POST', '/segments/count', { filter: { all: [{ field: 'saved', id: 'deep' }] } });
    expect(viaDeep.json).toEqual({ error: 'BAD_FILTER', message: 'saved segment deep not found' });
    await updatePortalSettings(getDb(), p.portalId, { savedSegments: [] });
    // one past the limit, the smallest refusal
    const r = await A('POST', '/segments/count', { filter: nested(MAX_FILTER_DEPTH + 1, [], [{ field: 'city', op: 'in', values: ['Berlin'] }]) });
    expect(r.json).toEqual({ error: 'FILTER_TOO_LARGE', message: `filter too large: exclude is nested ${MAX_FILTER_DEPTH + 1} levels deep (limit ${MAX_FILTER_DEPTH} levels)` });
  });

  it(`exclude nested to the limit (${MAX_FILTER_DEPTH}) with a city condition at the bottom: count, list, export and quality are 200 and equal SQL (count tables and join)`, async () => {
    const root = [{ field: 'segment', values: ['champions', 'loyal', 'at_risk'] }];
    const city = [{ field: 'city', op: 'in', values: ['BERLIN'] }];
    const seg = `l.segment IN ('champions','loyal','at_risk')`;
    const berlin = `COALESCE(lower(c.city) = 'berlin', false)`;
    for (const depth of [MAX_FILTER_DEPTH - 1, MAX_FILTER_DEPTH]) {
      const filter = nested(depth, root, city);
      // depth NOTs over the city condition: even keeps it, odd negates it
      const want = await sql(p, depth % 2 ? `${seg} AND NOT ${berlin}` : `${seg} AND ${berlin}`);
      expect(want).toBeGreaterThan(0);
      for (const [label, session, portal] of [['count tables', admin, p], ['join', adminJ, pj]] as const) {
        const c = await srv.call('POST', '/api/ui/segments/count', { session, body: { filter } });
        expect(c.status, `${label} ${depth}: ${JSON.stringify(c.json)}`).toBe(200);
        expect(c.json.count, `${label} ${depth}`).toBe(want);
        expect(await sql(portal, depth % 2 ? `${seg} AND NOT ${berlin}` : `${seg} AND ${berlin}`)).toBe(want);
      }
      const l = await A('POST', '/segments/list', { filter, sort: 'id', dir: 'asc', page: 1, pageSize: 200 });
      expect(l.status, JSON.stringify(l.json)).toBe(200);
      expect((l.json.rows as unknown[]).length).toBe(want);
      const e = await A('POST', '/segments/export', { filter });
      expect(e.status).toBe(200);
      expect(e.text.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean).length - 1).toBe(want);
      const q = await A('POST', '/segments/quality', { filter });
      expect(q.status).toBe(200);
      expect(q.json.size).toBe(want);
    }
  });

  it(`saved references and exclusions share one depth limit: a chain of ${MAX_FILTER_DEPTH} saved segments counts, excluding it is one level too deep`, async () => {
    // s1 → s2 → ... → s8, s8 holds the city condition
    for (let i = MAX_FILTER_DEPTH; i >= 1; i--) {
      const filter = i === MAX_FILTER_DEPTH ? { all: [{ field: 'city', op: 'in', values: ['Kyiv'] }] } : { all: [{ field: 'saved', id: `chain-${i + 1}` }] };
      const r = await A('PUT', '/saved', { id: `chain-${i}`, name: `chain ${i}`, filter });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
    }
    const c = await A('POST', '/segments/count', { filter: { all: [{ field: 'saved', id: 'chain-1' }] } });
    expect(c.status, JSON.stringify(c.json)).toBe(200);
    expect(c.json.count).toBe(await sql(p, `lower(c.city) = 'kyiv'`));
    const minus = await A('POST', '/segments/count', { filter: { all: [], exclude: { all: [{ field: 'saved', id: 'chain-1' }] } } });
    expect(minus.status).toBe(400);
    expect(minus.json).toEqual(tooDeep('filter'));
    await updatePortalSettings(getDb(), p.portalId, { savedSegments: [] });
  });

  /** The log lines about one request path since `from`. */
  const linesFor = (from: number, path: string) => srv.logs.slice(from).filter((l) => l.path === path);
  const USER_TOKEN = 'user-access-token-must-never-be-logged';

  it('an oversize body is 413 PAYLOAD_TOO_LARGE, malformed JSON 400 BAD_JSON (also on /api/ui/session); each is ONE log line without a stack or token', async () => {
    const big = JSON.stringify({ filter: { all: [] }, pad: 'x'.repeat(UI_BODY_LIMIT_BYTES + 1000) });
    const before = await settingsNow();
    const cases: Array<[string, string, string, number, Record<string, unknown>]> = [
      ['POST', '/api/ui/segments/count', big, 413, { error: 'PAYLOAD_TOO_LARGE', message: `request body larger than 256kb (limit ${UI_BODY_LIMIT_BYTES} bytes)` }],
      ['PUT', '/api/ui/saved', JSON.stringify({ id: 'big', name: 'big', filter: { all: [] }, pad: 'x'.repeat(UI_BODY_LIMIT_BYTES) }), 413,
        { error: 'PAYLOAD_TOO_LARGE', message: `request body larger than 256kb (limit ${UI_BODY_LIMIT_BYTES} bytes)` }],
      ['POST', '/api/ui/segments/count', '{"filter": {"all": [', 400, { error: 'BAD_JSON', message: 'the request body is not valid JSON' }],
      ['PUT', '/api/ui/saved', '{"id": "x", ', 400, { error: 'BAD_JSON', message: 'the request body is not valid JSON' }],
      ['POST', '/api/ui/session', JSON.stringify({ member_id: 'm', auth_id: 'x'.repeat(5000) }), 413,
        { error: 'PAYLOAD_TOO_LARGE', message: 'request body larger than 4kb (limit 4096 bytes)' }],
      ['POST', '/api/ui/session', '{"member_id": ', 400, { error: 'BAD_JSON', message: 'the request body is not valid JSON' }],
    ];
    for (const [method, path, rawBody, status, body] of cases) {
      const from = srv.logs.length;
      const r = await srv.call(method, path, { session: admin, rawBody, headers: { 'X-B24-Auth': USER_TOKEN } });
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(r.json, `${method} ${path}`).toEqual(body);
      await new Promise((res) => setTimeout(res, 20)); // the access log writes on 'finish'
      const lines = linesFor(from, path);
      expect(lines, `${method} ${path}`).toEqual([{ t: expect.any(String), level: 'info', msg: 'ui api: refused', method, path, status, error: body.error }]);
    }
    expect(await settingsNow()).toEqual(before);
    const raw = srv.raw.join('\n');
    expect(raw).not.toMatch(/\bat .*\(.*:\d+:\d+\)|\\n\s+at /);
    expect(raw).not.toContain(USER_TOKEN);
    expect(raw).not.toContain(admin);
  });

  it('client errors from the API (bad filter, no session, forbidden) log at most one line, without a stack', async () => {
    for (const [path, session, status] of [
      ['/api/ui/segments/count', admin, 400], ['/api/ui/segments/count', '', 401], ['/api/ui/settings', mgr, 403], ['/api/ui/nope', admin, 404],
    ] as const) {
      const from = srv.logs.length;
      const method = path === '/api/ui/settings' ? 'GET' : 'POST';
      const body = method === 'POST' ? { filter: { all: [{ field: 'nope' }] } } : undefined;
      const r = await srv.call(method, path, { session, body, headers: { 'X-B24-Auth': USER_TOKEN } });
      expect(r.status, path).toBe(status);
      await new Promise((res) => setTimeout(res, 20));
      const lines = srv.logs.slice(from).filter((l) => l.path === path);
      expect(lines.length, path).toBeLessThanOrEqual(1);
      for (const l of lines) expect(l.stack, path).toBeUndefined();
    }
    expect(srv.raw.join('\n')).not.toContain(USER_TOKEN);
  });

  it('a real failure is a 500 INTERNAL logged once at error with its stack (and still no token)', async () => {
    const db = getDb();
    await db.exec('ALTER TABLE score_runs RENAME TO score_runs_gone');
    try {
      const from = srv.logs.length;
      const r = await srv.call('GET', '/api/ui/meta', { session: admin, headers: { 'X-B24-Auth': USER_TOKEN } });
      expect(r.status).toBe(500);
      expect(r.json).toEqual({ error: 'INTERNAL', message: 'internal error' });
      await new Promise((res) => setTimeout(res, 20));
      const lines = linesFor(from, '/api/ui/meta');
      expect(lines.length).toBe(1);
      expect(lines[0]).toMatchObject({ level: 'error', msg: 'ui api error', method: 'GET', status: 500, portalId: p.portalId });
      expect(String(lines[0]!.error)).toMatch(/score_runs/);
      expect(String(lines[0]!.stack)).toMatch(/\n\s+at /);
      expect(srv.raw.join('\n')).not.toContain(USER_TOKEN);
      expect(srv.raw.join('\n')).not.toContain(admin);
    } finally {
      await db.exec('ALTER TABLE score_runs_gone RENAME TO score_runs');
    }
  });
});
