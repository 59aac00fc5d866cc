/**
 * The server's CRM event sink (POST /events): groups what arrives within `flushMs` into one
 * inbox insert and one event-job send per portal, so a storm of online events costs a few
 * statements, not two per event. An event's promise resolves once it is durable (POST /events
 * answers 200 only after the inbox has it); 1000 pending events flush at once.
 */
import type { Db } from '../store/db.js';
import { addToInbox, parseCrmEvent, type InboxItem } from '../events/inbox.js';

interface Pending { items: InboxItem[]; waiters: Array<{ resolve(): void; reject(e: unknown): void }> }

export class InboxSink {
  private readonly pending = new Map<number, Pending>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    /** queues the portal's (debounced) event job */
    private readonly enqueueEvents: (portalId: number) => Promise<unknown>,
    private readonly flushMs: number,
  ) {}

  enqueueCrmEvent(portalId: number, event: string, id: number): void | Promise<void> {
    const p = parseCrmEvent(event);
    if (!p) return;
    return new Promise<void>((resolve, reject) => {
      let b = this.pending.get(portalId);
      if (!b) this.pending.set(portalId, (b = { items: [], waiters: [] }));
      b.items.push({ ...p, id });
      b.waiters.push({ resolve, reject });
      if (b.items.length >= 1000) {
        if (this.timer) clearTimeout(this.timer);
        void this.flush();
      } else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
    });
  }

  /** Writes what is pending now. */
  async flush(): Promise<void> {
    this.timer = null;
    const batch = [...this.pending.entries()];
    this.pending.clear();
    await Promise.all(batch.map(async ([portalId, b]) => {
      try {
        await addToInbox(this.db, portalId, b.items, 'online');
        await this.enqueueEvents(portalId);
        for (const w of b.waiters) w.resolve();
      } catch (e) {
        for (const w of b.waiters) w.reject(e);
      }
    }));
  }

  /** Stops the timer and writes what is pending (shutdown). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.pending.size) await this.flush();
  }
}
