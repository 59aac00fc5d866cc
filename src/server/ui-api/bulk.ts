/**
 * Bulk actions on selected contacts, each done as the user: the CRM calls go with the user's own
 * token through the portal's B24Client (its shared limiter; up to 50 commands per batch request),
 * so the portal applies the user's CRM rights and its limits. A contact the user may not see is
 * refused before any call; the portal's own refusals ("Access denied.", insufficient scope) count
 * as refused by CRM rights, any other error as failed. The write methods are not idempotent, so
 * the client never repeats a batch that may have reached the portal.
 */
import type { B24Client } from '../../b24/client.js';
import { B24Error } from '../../b24/errors.js';
import type { BatchCommand } from '../../b24/batch-encoding.js';

export type ItemStatus = 'done' | 'refused' | 'failed';

export interface BulkResult {
  done: number;
  refused: number;
  failed: number;
  items: Array<{ id: number; status: ItemStatus; reason?: string }>;
}

export function emptyResult(): BulkResult {
  return { done: 0, refused: 0, failed: 0, items: [] };
}

export function record(r: BulkResult, id: number, status: ItemStatus, reason?: string): void {
  r[status]++;
  r.items.push(reason ? { id, status, reason } : { id, status });
}

/** A portal error that means "your CRM rights do not allow this". */
export function isRefusal(e: { code?: string; description?: string; status?: number }): boolean {
  return e.code === 'ACCESS_DENIED' || e.code === 'insufficient_scope' || e.status === 403 || /access denied|permission/i.test(e.description ?? '');
}

/**
 * Sends one command per contact (`commandFor`) with the user's client; every contact ends up done,
 * refused or failed in `out`. A request that fails as a whole (e.g. the token expired) fails every
 * contact it carried.
 */
export async function sendAll(client: B24Client, ids: readonly number[], commandFor: (id: number) => BatchCommand, out: BulkResult): Promise<void> {
  if (!ids.length) return;
  const cmds: Record<string, BatchCommand> = {};
  for (const id of ids) cmds[`c${id}`] = commandFor(id);
  let r;
  try {
    r = await client.batch(cmds, { halt: false });
  } catch (e) {
    const reason = e instanceof B24Error ? e.description || e.code : (e as Error).message;
    for (const id of ids) record(out, id, e instanceof B24Error && isRefusal(e) ? 'refused' : 'failed', reason);
    return;
  }
  for (const id of ids) {
    const e = r.errors[`c${id}`];
    if (!e) record(out, id, 'done');
    else record(out, id, isRefusal(e) ? 'refused' : 'failed', e.description || e.code || 'error');
  }
}

/** A to-do's deadline: `days` from now, 18:00 UTC of that day (ISO 8601 with offset, as the portal takes it). */
export function deadlineIn(days: number, now = Date.now()): string {
  const d = new Date(now + days * 86_400_000);
  d.setUTCHours(18, 0, 0, 0);
  return d.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}
