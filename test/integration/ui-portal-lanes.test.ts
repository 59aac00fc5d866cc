/**
 * The heavy routes' admission (src/server/ui-api/portal-gate.ts) over a real database and real
 * HTTP: a tiny express app with the same middleware (admitHeavy) and handle (lanedDb) as the UI
 * API, whose route runs N `pg_sleep` statements side by side, as the dashboard runs its figures.
 * What is measured is what PostgreSQL shows running (pg_stat_activity), and the gate's own count.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { admitHeavy, lanedDb, PortalGate } from '../../src/server/ui-api/portal-gate.js';
import type { AReq } from '../../src/server/ui-api/http.js';
import { UI_PORTAL_STATEMENTS } from '../../src/server/ui-api/limits.js';

const SLEEP_S = 0.4;

eachDb('ui api: per-portal lanes of the heavy routes', (getDb, { kind }) => {
  let server: http.Server;
  let base: string;
  const gate = new PortalGate(2, 8);
  const started = new Map<number, number>();

  beforeAll(async () => {
    // as the UI API: the bounded pool (PostgreSQL: its own 5 connections here; the watcher reads
    // pg_stat_activity over the main one); `started` counts the statements that got past the lanes
    const inner = getDb().withStatementTimeout(60_000);
    const db = lanedDb({
      ...inner,
      query: (sql, params) => {
        const portal = Number(/lanes-p(\d+)/.exec(sql)?.[1]);
        started.set(portal, (started.get(portal) ?? 0) + 1);
        return inner.query(sql, params);
      },
    });
    const app = express();
    app.use((req, _res, next) => {
      (req as AReq).ui = { portal: { id: Number(req.get('x-portal')) } } as AReq['ui'];
      next();
    });
    app.use('/heavy', admitHeavy(gate));
    // n statements at once, each tagged with its portal so pg_stat_activity tells them apart
    // GET reads; POST stands for a heavy request that writes (not one of the read-only POSTs)
    const handler = async (req: express.Request, res: express.Response) => {
      const tag = `lanes-p${Number(req.get('x-portal'))}`;
      const got = await Promise.all(Array.from({ length: Number(req.params.n) }, (_, i) =>
        db.query<{ i: number }>(`SELECT /*${tag}*/ $1::int AS i, pg_sleep(${SLEEP_S})`, [i])));
      res.json({ got: got.map((r) => r.rows[0]!.i) });
    };
    app.get('/heavy/:n', handler);
    app.post('/heavy/:n', handler);
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(499).end());
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  const call = (portal: number, n: number, signal?: AbortSignal, method = 'GET') =>
    fetch(`${base}/heavy/${n}`, { method, headers: { 'x-portal': String(portal) }, signal }).then(async (r) => ({ status: r.status, json: await r.json() as { got: number[] } }));
  /** statements of `portal`'s requests running now (PostgreSQL) */
  const running = async (portal: number) => {
    const { rows } = await getDb().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE $1`, [`%/*lanes-p${portal}*/%`]);
    return rows[0]!.n;
  };
  /** Waits (up to 10 s) until `cond` holds. */
  const until = async (cond: () => Promise<boolean>) => {
    for (let i = 0; i < 500 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 20));
  };
  /** the most statements of each portal seen running while `work` runs */
  const watch = async (portals: number[], work: Promise<unknown>) => {
    const most = new Map(portals.map((p) => [p, 0]));
    let over = false;
    void work.finally(() => (over = true));
    while (!over) {
      for (const p of portals) most.set(p, Math.max(most.get(p)!, await running(p)));
      await new Promise((r) => setTimeout(r, 15));
    }
    await work;
    return most;
  };

  it('every statement of a request runs and answers in order (lanes change when, not what)', async () => {
    const r = await call(1, 9);
    expect(r.status).toBe(200);
    expect(r.json.got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(gate.load(1)).toEqual({ running: 0, waiting: 0 });
  });

  if (kind === 'pglite') return; // one connection: nothing runs side by side to bound

  it(`one portal's requests run at most ${UI_PORTAL_STATEMENTS} statements at once, however many each starts; another portal's runs beside them`, async () => {
    // portal 1: two requests of 6 statements each (12 wanted at once: 3 rounds of its 4 lanes);
    // portal 2: one request of 1 (the test's pool has 5 connections: 4 + 1)
    const order: number[] = [];
    const tagged = (portal: number, n: number) => call(portal, n).then((r) => (order.push(portal), r));
    const work = Promise.all([tagged(1, 6), tagged(1, 6), tagged(2, 1)]);
    const most = await watch([1, 2], work);
    for (const r of await work) expect(r.status).toBe(200);
    expect(most.get(1)).toBe(UI_PORTAL_STATEMENTS);
    expect(most.get(2)).toBe(1);
    // portal 2 did not wait behind portal 1's queued statements
    expect(order).toEqual([2, 1, 1]);
  });

  it('a client that goes away keeps its slot until its statements have ended, so closing requests early starts no more work', async () => {
    const gone: Promise<unknown>[] = [];
    const aborted = (async () => {
      for (let i = 0; i < 6; i++) {
        const ac = new AbortController();
        gone.push(call(3, 1, ac.signal).catch((e: Error) => e.name));
        // the first one's statement has started; the others have started or wait for a slot
        if (i === 0) await until(async () => (await running(3)) > 0);
        else await new Promise((r) => setTimeout(r, 60));
        ac.abort();
      }
    })();
    const most = await watch([3], aborted.then(() => new Promise((r) => setTimeout(r, SLEEP_S * 1000 + 200))));
    expect(await Promise.all(gone)).toEqual(Array(6).fill('AbortError'));
    // two slots: never more than two of the closed requests' statements ran at once
    expect(most.get(3)).toBeLessThanOrEqual(2);
    expect(most.get(3)).toBeGreaterThan(0);
    // the slots come back once the statements end
    await until(async () => gate.load(3).running === 0);
    expect(gate.load(3)).toEqual({ running: 0, waiting: 0 });
    expect(await running(3)).toBe(0);
  });

  it('a read whose client went away starts none of its statements still waiting for a lane; a write finishes them', async () => {
    for (const [portal, method, want] of [[4, 'GET', UI_PORTAL_STATEMENTS], [5, 'POST', 6]] as const) {
      const ac = new AbortController();
      const gone = call(portal, 6, ac.signal, method).catch((e: Error) => e.name);
      await until(async () => (await running(portal)) === UI_PORTAL_STATEMENTS); // 4 run, 2 wait for a lane
      ac.abort();
      expect(await gone).toBe('AbortError');
      await until(async () => gate.load(portal).running === 0 && (await running(portal)) === 0);
      expect({ method, started: started.get(portal) }).toEqual({ method, started: want });
      expect(gate.load(portal)).toEqual({ running: 0, waiting: 0 });
    }
  });
});
