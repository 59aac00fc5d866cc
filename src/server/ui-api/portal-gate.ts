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
