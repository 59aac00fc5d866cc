/**
 * Phones and e-mails of contacts, and contacts by phone or e-mail, asked with the user's own
 * token (crm.contact.list through the portal's B24Client). The store keeps only whether a
 * contact has a phone or an e-mail, never the values: a user sees the values of exactly the
 * contacts the portal lets them read, when they look.
 *
 * crm.contact.list returns multifields only when named in `select`
 * (https://apidocs.bitrix24.com/api-reference/crm/contacts/crm-contact-list.html); a filter on
 * PHONE / EMAIL matches a contact with that value among its multifields.
 */
import type { B24Client } from '../../b24/client.js';
import type { BatchCommand } from '../../b24/batch-encoding.js';

export interface Channels {
  phones: string[];
  emails: string[];
}

/** ids per list command; the client sends up to 50 commands per batch request */
const PER_COMMAND = 50;

type Multi = Array<{ VALUE?: unknown }> | undefined;
const values = (m: Multi): string[] => (Array.isArray(m) ? m.map((x) => (typeof x?.VALUE === 'string' ? x.VALUE.trim() : '')).filter(Boolean) : []);

/** Phones and e-mails of the given contacts the user may read (the others are absent from the map). */
export async function contactChannels(client: B24Client, ids: readonly number[]): Promise<Map<number, Channels>> {
  const out = new Map<number, Channels>();
  const unique = [...new Set(ids)];
  if (!unique.length) return out;
  const cmds: Record<string, BatchCommand> = {};
  for (let i = 0; i < unique.length; i += PER_COMMAND) {
    cmds[`c${i / PER_COMMAND}`] = ['crm.contact.list', { filter: { '@ID': unique.slice(i, i + PER_COMMAND) }, select: ['ID', 'PHONE', 'EMAIL'], start: -1 }];
  }
  const r = await client.batch(cmds);
  for (const k of Object.keys(cmds)) {
    const rows = r.results[k];
    if (!Array.isArray(rows)) continue;
    for (const row of rows as Array<{ ID?: unknown; PHONE?: Multi; EMAIL?: Multi }>) {
      const id = Number(row.ID);
      if (Number.isSafeInteger(id)) out.set(id, { phones: values(row.PHONE), emails: values(row.EMAIL) });
    }
  }
  return out;
}

/** What a search text can be besides a name: an e-mail (has @) or a phone (5 or more digits, only phone characters). */
export function channelOf(text: string): { EMAIL: string } | { PHONE: string } | null {
  const s = text.trim();
  if (/^[^\s@]+@[^\s@]+$/.test(s)) return { EMAIL: s };
  if (/^[+\d\s().-]+$/.test(s) && (s.match(/\d/g) ?? []).length >= 5) return { PHONE: s };
  return null;
}

/** Contact ids the user may read whose phone or e-mail is the search text (first 200 matches); [] when it is neither. */
export async function contactsByChannel(client: B24Client, text: string): Promise<number[]> {
  const filter = channelOf(text);
  if (!filter) return [];
  const params = (start: number) => ({ filter, select: ['ID'], order: { ID: 'ASC' }, start });
  const first = await client.callRaw<Array<{ ID?: unknown }>>('crm.contact.list', params(0));
  const rows = Array.isArray(first.result) ? [...first.result] : [];
  const cmds: Record<string, BatchCommand> = {};
  for (let s = 50; s < Math.min(first.total ?? 0, 200); s += 50) cmds[`p${s}`] = ['crm.contact.list', params(s)];
  if (Object.keys(cmds).length) {
    const r = await client.batch(cmds);
    for (const k of Object.keys(cmds)) if (Array.isArray(r.results[k])) rows.push(...(r.results[k] as Array<{ ID?: unknown }>));
  }
  return [...new Set(rows.map((x) => Number(x.ID)).filter(Number.isSafeInteger))];
}
