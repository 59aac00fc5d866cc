/**
 * CRM events (ONCRMDEAL*, ONCRMCONTACT*) are ACKed at once and handed to a sink; processing
 * them (re-fetch the record, re-score the contact, write back) is the next issue's pipeline.
 *
 * `MemoryCrmEventQueue` is the interim sink: bounded, in process, deduplicated per
 * (portal, event, id) while pending. Losing it on restart is acceptable because install also
 * binds the same events OFFLINE: the portal keeps them in its offline queue
 * (`event.offline.get`), which the pipeline drains as the guaranteed path; online events only
 * make reactions faster. The pipeline replaces this class with a durable one (pg-boss) behind
 * the same `enqueueCrmEvent` interface (CrmEventSink, src/b24/crm-events.ts).
 */
import type { CrmEventSink } from '../b24/crm-events.js';

export interface QueuedCrmEvent {
  portalId: number;
  event: string;
  id: number;
  receivedAt: number;
}

export type { CrmEventSink };

export class MemoryCrmEventQueue implements CrmEventSink {
  private readonly items = new Map<string, QueuedCrmEvent>();
  /** Events dropped because the queue was full (oldest first). */
  dropped = 0;
  received = 0;

  constructor(private readonly max = 100_000) {}

  enqueueCrmEvent(portalId: number, event: string, id: number): void {
    this.received++;
    const key = `${portalId}|${event}|${id}`;
    this.items.delete(key); // re-insert: newest last
    this.items.set(key, { portalId, event, id, receivedAt: Date.now() });
    while (this.items.size > this.max) {
      const first = this.items.keys().next().value;
      if (first === undefined) break;
      this.items.delete(first);
      this.dropped++;
    }
  }

  get size(): number {
    return this.items.size;
  }

  /** Pending events (optionally of one portal), oldest first, without removing them. */
  peek(portalId?: number): QueuedCrmEvent[] {
    return [...this.items.values()].filter((e) => portalId === undefined || e.portalId === portalId);
  }

  /** Removes and returns up to `limit` events (optionally of one portal), oldest first. */
  drain(portalId?: number, limit = Number.POSITIVE_INFINITY): QueuedCrmEvent[] {
    const out: QueuedCrmEvent[] = [];
    for (const [k, e] of this.items) {
      if (out.length >= limit) break;
      if (portalId !== undefined && e.portalId !== portalId) continue;
      out.push(e);
      this.items.delete(k);
    }
    return out;
  }

  /** Forget a portal's pending events (uninstall). */
  dropPortal(portalId: number): void {
    for (const [k, e] of this.items) if (e.portalId === portalId) this.items.delete(k);
  }
}
