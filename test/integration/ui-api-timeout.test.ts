/**
 * Bounded UI queries, over real HTTP against the real app. PostgreSQL: every statement of the UI
 * API runs under statement_timeout on its own pool, so the most expensive filter the limits allow
 * (bench/lib/ui-load.ts) is cancelled by the server and answered 503 QUERY_TIMEOUT, and while it
 * runs /healthz and another portal's count still answer (timing figures: `npm run bench --
 * isolation`). PGlite cannot cancel a statement (src/store/db.ts): there the test pins that
 * nothing pretends otherwise.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { seedSyntheticPortal, worstCaseFilter, type SeededPortal } from '../../bench/lib/ui-load.js';
import { startUiServer, type UiTestServer } from './helpers/ui-server.js';
import { UI_PORTAL_RUNNING, UI_PORTAL_WAITING } from '../../src/server/ui-api/limits.js';
import { BOUNDED_SESSION } from '../../src/store/index.js';

const TIMEOUT_MS = 250;

eachDb('ui api statement timeout', (getDb, { kind }) => {
  if (kind === 'pglite') {
    it('PGlite: a statement cannot be cancelled, so the bounded handle is the same handle (documented, nothing pretends)', () => {
      const db = getDb();
      expect(db.withStatementTimeout(TIMEOUT_MS)).toBe(db);
      expect(() => db.withStatementTimeout(0)).toThrow(/positive integer/);
    });
    return;
  }

  let srv: UiTestServer;
  let slow: UiTestServer;
  let a: SeededPortal;
  let b: SeededPortal;
  const worst = worstCaseFilter();

  beforeAll(async () => {
    // A: 30,000 contacts in 5,000 cities (most without a code in the count tables); B: a small portal
    a = await seedSyntheticPortal(getDb(), 'member-timeout-a', 30_000, { cities: 5000 });
    b = await seedSyntheticPortal(getDb(), 'member-timeout-b', 500, { cities: 20 });
    srv = await startUiServer(getDb(), { uiStatementTimeoutMs: TIMEOUT_MS });
    slow = await startUiServer(getDb(), { uiStatementTimeoutMs: 3_000 });
  }, 120_000);
  afterAll(async () => {
    await srv?.close();
    await slow?.close();
  });

  /** UI statements running now (`forMs`: only those running at least that long) */
  const active = async (forMs = 0, like = '%') => {
    const { rows } = await getDb().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'b24seg-bounded' AND backend_type = 'client backend' AND state = 'active'
          AND now() - query_start >= $1 * interval '1 ms' AND query LIKE $2`,
      [forMs, like],
    );
    return rows[0]!.n;
  };
  /**
   * A count's own statement over the count table (the request also reads the portal's dictionaries
   * and the run totals first or beside it: on a loaded machine those can run 100 ms too, and a wait
   * that saw one of them ended before the count had started).
   */
  const COUNT_STATEMENT = '%FROM label_facts l WHERE%';
  /** Waits (up to 5 s) until a count statement has run `forMs`; how many were seen then. */
  const countRunning = async (forMs: number) => {
    for (let i = 0; i < 250; i++) {
      const n = await active(forMs, COUNT_STATEMENT);
      if (n > 0) return n;
      await new Promise((res) => setTimeout(res, 20));
    }
    return 0;
  };

  it('the UI pool\'s sessions run with its own settings (no parallel worker; JIT of large scans without inlining), the workers\' pool with the server\'s', async () => {
    const settings = async (db: ReturnType<typeof getDb>) => {
      const { rows } = await db.query<{ name: string; setting: string }>(
        `SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name`, [Object.keys(BOUNDED_SESSION)]);
      return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
    };
    expect(await settings(getDb().withStatementTimeout(TIMEOUT_MS))).toEqual({
      jit_above_cost: '20000', jit_inline_above_cost: '-1', jit_optimize_above_cost: '-1', max_parallel_workers_per_gather: '0',
    });
    const { rows } = await getDb().withStatementTimeout(TIMEOUT_MS).query<{ t: string }>(`SELECT current_setting('statement_timeout') AS t`);
    expect(rows[0]!.t).toBe(`${TIMEOUT_MS}ms`);
    // the main pool (sync, scoring, write-back) keeps the server's own values
    const main = await settings(getDb());
    expect(main.jit_above_cost).toBe('100000');
    expect(main.jit_inline_above_cost).toBe('500000');
    expect(main.max_parallel_workers_per_gather).toBe('2');
  });

  it(`a UI query past the statement timeout is cancelled by PostgreSQL and answered 503 QUERY_TIMEOUT (count, list, quality, export), one log line, no stack`, async () => {
    const session = srv.session(a.portalId, a.memberId, { admin: true });
    const want = {
      error: 'QUERY_TIMEOUT',
      message: `the database query ran longer than ${TIMEOUT_MS} ms and was cancelled (limit ${TIMEOUT_MS} ms); narrow the filter or try again later`,
    };
    for (const [path, body] of [
      ['/api/ui/segments/count', { filter: worst }],
      ['/api/ui/segments/list', { filter: worst, sort: 'name', dir: 'asc', page: 1, pageSize: 25 }], // no index on the name: every row is tested
      ['/api/ui/segments/quality', { filter: worst }],
      ['/api/ui/segments/export', { filter: worst }],
    ] as const) {
      const from = srv.logs.length;
      const r = await srv.call('POST', path, { session, body });
      expect(r.status, path).toBe(503);
      expect(r.json, path).toEqual(want);
      await new Promise((res) => setTimeout(res, 20));
      const lines = srv.logs.slice(from).filter((l) => l.path === path);
      expect(lines, path).toEqual([{ t: expect.any(String), level: 'warn', msg: 'ui api: refused', method: 'POST', path, portalId: a.portalId, status: 503, error: 'QUERY_TIMEOUT' }]);
    }
    // cancelled, not left running
    expect(await active()).toBe(0);
    // the same server still answers ordinary filters
    const ok = await srv.call('POST', '/api/ui/segments/count', { session, body: { filter: { all: [{ field: 'segment', values: ['loyal'] }] } } });
    expect(ok.status).toBe(200);
  });

  it('while portal A\'s worst-case allowed count runs, /healthz and portal B\'s count answer (and A\'s count finishes or is cancelled with 503)', async () => {
    const sa = slow.session(a.portalId, a.memberId, { admin: true });
    const sb = slow.session(b.portalId, b.memberId, { admin: true });
    const order: string[] = [];
    const running = slow.call('POST', '/api/ui/segments/count', { session: sa, body: { filter: worst } }).then((r) => {
      order.push('A');
      return r;
    });
    running.catch(() => {});
    try {
      // A's count statement has been running for 100 ms
      expect(await countRunning(100)).toBe(1);
      const { rows } = await getDb().query<{ n: number }>(
        `SELECT count(*)::int AS n FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND segment IN ('loyal', 'champions')`,
        [b.portalId, b.runId],
      );
      for (let i = 0; i < 5; i++) {
        const h = await slow.call('GET', '/healthz');
        expect(h.status).toBe(200);
        expect(h.json).toEqual({ ok: true });
        order.push('healthz');
        const c = await slow.call('POST', '/api/ui/segments/count', { session: sb, body: { filter: { all: [{ field: 'segment', values: ['loyal', 'champions'] }] } } });
        expect(c.status).toBe(200);
        expect(c.json.count).toBe(rows[0]!.n);
        order.push('B');
      }
      const r = await running;
      if (r.status === 200) expect(r.json.count).toBe(30_000);
      else {
        expect(r.status).toBe(503);
        expect(r.json.error).toBe('QUERY_TIMEOUT');
      }
      // every probe was answered while A's count was still running
      expect(order.indexOf('A')).toBe(order.length - 1);
    } finally {
      await running.catch(() => {}); // never left running into the next test (it would hold one of A's slots)
    }
  });

  it(`one portal runs at most ${UI_PORTAL_RUNNING} heavy requests at once with ${UI_PORTAL_WAITING} waiting; more are 429, and other portals and /healthz still answer`, async () => {
    const sa = slow.session(a.portalId, a.memberId, { admin: true });
    const sb = slow.session(b.portalId, b.memberId, { admin: true });
    const burst = UI_PORTAL_RUNNING + UI_PORTAL_WAITING + 2;
    const all = Array.from({ length: burst }, () => slow.call('POST', '/api/ui/segments/count', { session: sa, body: { filter: worst } }));
    for (const x of all) x.catch(() => {});
    expect(await countRunning(100)).toBeGreaterThan(0);
    let most = 0;
    for (let i = 0; i < 5; i++) {
      // count statements only: each request also reads its run totals beside the count (and its
      // dictionaries before it), and on a loaded machine those can run 100 ms too
      most = Math.max(most, await active(100, COUNT_STATEMENT));
      expect((await slow.call('GET', '/healthz')).status).toBe(200);
      const c = await slow.call('POST', '/api/ui/segments/count', { session: sb, body: { filter: { all: [{ field: 'segment', values: ['loyal'] }] } } });
      expect(c.status).toBe(200);
    }
    // A's worst-case count statements: never more at once than its slots
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(UI_PORTAL_RUNNING);
    const got = await Promise.all(all);
    const refused = got.filter((r) => r.status === 429);
    expect(refused.length).toBe(2);
    for (const r of refused) {
      expect(r.json).toEqual({
        error: 'TOO_MANY_REQUESTS',
        message: `this portal already has ${UI_PORTAL_RUNNING} requests running and ${UI_PORTAL_WAITING} waiting (limit ${UI_PORTAL_RUNNING} running, ${UI_PORTAL_WAITING} waiting); try again shortly`,
      });
      expect(r.headers.get('retry-after')).toBe('1');
    }
    for (const r of got.filter((x) => x.status !== 429)) {
      expect([200, 503]).toContain(r.status);
      if (r.status === 200) expect(r.json.count).toBe(30_000);
      else expect(r.json.error).toBe('QUERY_TIMEOUT');
    }
    // the slots came back: the portal counts again
    const after = await slow.call('POST', '/api/ui/segments/count', { session: sa, body: { filter: { all: [] } } });
    expect(after.status).toBe(200);
    expect(after.json.count).toBe(30_000);
  });
});
