import type { NextFunction, Response } from 'express';
import { HttpError, type AReq } from './http.js';

/**
 * Per-portal admission for the UI API's heavy requests (filters, dashboard, settings preview): at
 * most `running` of one portal's requests do database work at once, `waiting` more queue in
 * order, and any beyond are refused (429). So one portal (one user with many tabs, or a script)
 * holds at most `running` of the bounded pool's connections and cannot queue unbounded work;
 * other portals keep the rest of the pool (Db.withStatementTimeout) and the main pool is not
 * touched at all (/healthz, workers).
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
 * The middleware of the heavy routes: the request waits for one of its portal's slots (429
 * TOO_MANY_REQUESTS with Retry-After when the queue is full too); the slot is given back when the
 * response is done or the client goes away.
 */
export function admitHeavy(gate: PortalGate) {
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
      res.once('close', release);
      res.once('finish', release);
      next();
    });
  };
}
