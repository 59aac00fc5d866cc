/**
 * Offline events: the reliable path (https://apidocs.bitrix24.com/api-reference/events/index.html). Online handlers get no retry; the portal's offline
 * queue keeps the latest record per object until we clear it.
 *
 * One poll: `event.offline.get {clear: 0, process_id: <stable per portal>, limit}` reserves a
 * batch under our process id → the records go into the inbox (durable, coalesced) →
 * `event.offline.clear {process_id}`. The process id is stable (`b24seg-<portalId>`), so when a
 * process dies between get and clear, the next get with the same id returns the reserved
 * records again (plus new ones) instead of leaving them reserved for 30 days; inbox inserts
 * are idempotent, so seeing a record twice is harmless. Repeats while full batches come back.
 */
import type { B24Client } from '../b24/client.js';
import type { Db } from '../store/db.js';
import { addToInbox, parseCrmEvent, type InboxItem } from './inbox.js';

export interface OfflineRecord {
  ID: string;
  EVENT_NAME: string;
  EVENT_DATA: unknown;
  MESSAGE_ID?: string;
}

export interface PollResult {
  batches: number;
  records: number;
  queued: number;
  ignored: number;
}

export function offlineProcessId(portalId: number): string {
  return `b24seg-${portalId}`;
}

function idOf(data: unknown): number | null {
  const f = (data as { FIELDS?: { ID?: unknown } } | null)?.FIELDS;
  const n = Number(f?.ID);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export async function pollOfflineEvents(db: Db, portalId: number, client: B24Client, o: { limit?: number; maxBatches?: number } = {}): Promise<PollResult> {
  const limit = o.limit ?? 1000;
  const processId = offlineProcessId(portalId);
  const res: PollResult = { batches: 0, records: 0, queued: 0, ignored: 0 };
  for (let b = 0; b < (o.maxBatches ?? 20); b++) {
    const r = await client.call<{ process_id?: string; events?: OfflineRecord[] }>('event.offline.get', { clear: 0, process_id: processId, limit });
    const events = Array.isArray(r?.events) ? r.events : [];
    res.batches++;
    if (!events.length) break;
    res.records += events.length;
    const items: InboxItem[] = [];
    for (const e of events) {
      const p = parseCrmEvent(String(e.EVENT_NAME ?? ''));
      const id = idOf(e.EVENT_DATA);
      if (!p || id === null) { res.ignored++; continue; }
      items.push({ ...p, id });
    }
    await addToInbox(db, portalId, items, 'offline');
    res.queued += items.length;
    await client.call('event.offline.clear', { process_id: r.process_id ?? processId });
    if (events.length < limit) break;
  }
  return res;
}
