/** A wake-up for the product-row stream (notified after every committed deals page). */

/** Wake-up with a version: wait(v) resolves at once if notify() happened since version v was read. */
export class Signal {
  version = 0;
  private waiters: Array<() => void> = [];
  notify(): void {
    this.version++;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  wait(seen: number): Promise<void> {
    if (this.version !== seen) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }
}
