import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Response } from 'express';
import type { Db } from '../../store/index.js';
import { HttpError, type AReq } from './http.js';
import { UI_PORTAL_STATEMENTS } from './limits.js';

/**
 * Per-portal admission for the UI API's heavy requests (filters, dashboard, settings preview,
 * effectiveness, campaigns): at most `running` of one portal's requests do database work at once,
 * `waiting` more queue in order, and any beyond are refused (429). A request keeps its slot until
 * its response is done AND its statements have ended: a client that goes away mid-request does not
 * free its slot while its query still runs (else closing requests early would start unbounded
 * work). Other portals keep the rest of the pool (Db.withStatementTimeout) and the main pool is not
 * touched at all (/healthz, workers).
 *
 * Statements: one request may run several at once (a count reads its run totals beside it, the
 * dashboard's figures run side by side), so the statements of one portal's heavy requests also go
 * through `UI_PORTAL_STATEMENTS` lanes per portal (lanedDb): one portal holds at most that many of
 * the bounded pool's connections, whatever its requests do.
 */
export class PortalGate {
  private readonly running = new Map<number, number>();
  private readonly queues = new Map<number, Array<() => void>>();

  constructor(readonly maxRunning: number, readonly maxWaiting: number) {}

  /**
   * Resolves with a release function once the request may run; null when the portal already has
   * maxRunning running and maxWaiting waiting (the caller answers 429). Call release exactly once.
   */
  enter(portalId: number): Promise<() => void> | null {
    const n = this.running.get(portalId) ?? 0;
    if (n < this.maxRunning) {
      this.running.set(portalId, n + 1);
      return Promise.resolve(this.releaser(portalId));
    }
    const q = this.queues.get(portalId) ?? [];
    if (q.length >= this.maxWaiting) return null;
    this.queues.set(portalId, q);
    return new Promise((resolve) => q.push(() => resolve(this.releaser(portalId))));
  }

  /** Running and waiting requests of a portal (tests, diagnostics). */
  load(portalId: number): { running: number; waiting: number } {
    return { running: this.running.get(portalId) ?? 0, waiting: this.queues.get(portalId)?.length ?? 0 };
  }

  private releaser(portalId: number): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const q = this.queues.get(portalId);
      const next = q?.shift();
      if (q && q.length === 0) this.queues.delete(portalId);
      if (next) return next(); // the slot passes straight to the next in line
      const n = (this.running.get(portalId) ?? 1) - 1;
      if (n > 0) this.running.set(portalId, n);
      else this.running.delete(portalId);
    };
  }
}

/**
 * The heavy POSTs that only read (the filter builder's requests and the settings preview): like
 * every GET, once their client has gone away they start no further statement. The others (creating
 * or running a campaign, saving settings) finish what they started.
 */
const READ_ONLY_POSTS: ReadonlySet<string> = new Set(['/segments/count', '/segments/list', '/segments/quality', '/segments/export', '/settings/preview']);
const readsOnly = (req: AReq) => req.method === 'GET' || (req.method === 'POST' && READ_ONLY_POSTS.has(req.originalUrl.split('?')[0]!.replace(/^\/api\/ui/, '')));

/** The database work of one admitted request: its statements in flight and its portal's lanes. */
class RequestWork {
  private inFlight = 0;
  private onIdle: (() => void) | null = null;
  /** the client went away before the response was done */
  gone = false;

  constructor(private readonly lanes: PortalGate, private readonly portalId: number, private readonly readOnly: boolean) {}

  /** Runs one statement (or transaction) in one of the portal's lanes. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      this.checkWanted();
      const free = await this.lanes.enter(this.portalId)!; // lanes never refuse (no waiting limit)
      try {
        this.checkWanted();
        return await fn();
      } finally {
        free();
      }
    } finally {
      if (--this.inFlight === 0 && this.onIdle) this.onIdle();
    }
  }

  /** A read whose client has gone away runs nothing more (its slot is then free for the next request). */
  private checkWanted(): void {
    if (this.gone && this.readOnly) throw new HttpError(499, 'CLIENT_CLOSED_REQUEST', 'the client closed the request before it was answered; nothing more was run for it');
  }

  /** Calls fn now when no statement runs, else when the last one ends. */
  whenIdle(fn: () => void): void {
    if (this.inFlight === 0) return fn();
    this.onIdle = fn;
  }
}

const current = new AsyncLocalStorage<RequestWork>();

/**
 * `db` whose statements, inside an admitted heavy request, each wait for one of the request's
 * portal's lanes (outside one, e.g. the session check, they run as they are). A transaction holds
 * one lane throughout; use only its `tx` inside it (Db.transaction).
 */
export function lanedDb(db: Db): Db {
  const run = <T>(fn: () => Promise<T>): Promise<T> => current.getStore()?.run(fn) ?? fn();
  return {
    ...db,
    query: (sql, params) => run(() => db.query(sql, params)),
    exec: (sql) => run(() => db.exec(sql)),
    transaction: (fn) => run(() => db.transaction(fn)),
    withStatementTimeout: (ms) => lanedDb(db.withStatementTimeout(ms)),
  };
}

/**
 * The middleware of the heavy routes: the request waits for one of its portal's slots (429
 * TOO_MANY_REQUESTS with Retry-After when the queue is full too); the slot is given back when the
 * response is done (or the client went away) and no statement of the request runs any more; a read
 * whose client went away starts no further statement (499 CLIENT_CLOSED_REQUEST, to no one). The
 * rest of the request runs with its RequestWork as the async context, so lanedDb finds it.
 */
export function admitHeavy(gate: PortalGate, lanes = new PortalGate(UI_PORTAL_STATEMENTS, Infinity)) {
  return (req: AReq, res: Response, next: NextFunction): void => {
    const a = req.ui;
    if (!a) return next();
    const entered = gate.enter(a.portal.id);
    if (!entered) {
      res.set('Retry-After', '1');
      return next(new HttpError(429, 'TOO_MANY_REQUESTS',
        `this portal already has ${gate.maxRunning} requests running and ${gate.maxWaiting} waiting (limit ${gate.maxRunning} running, ${gate.maxWaiting} waiting); try again shortly`));
    }
    void entered.then((release) => {
      if (res.writableFinished || res.destroyed) return release();
      const work = new RequestWork(lanes, a.portal.id, readsOnly(req));
      const done = () => work.whenIdle(release);
      res.once('close', () => {
        if (!res.writableFinished) work.gone = true;
        done();
      });
      res.once('finish', done);
      current.run(work, next);
    });
  };
}
