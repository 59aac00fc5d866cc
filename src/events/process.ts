/**
 * The event job's work for one portal (called under the portal lock by src/jobs):
 *
 *  1. read the inbox (coalesced per object; a storm of 10,000 updates of 300 deals is 300 rows);
 *  2. re-fetch the objects from the portal, because events carry only the ID (https://apidocs.bitrix24.com/api-reference/events/index.html):
 *     deals through crm.item.list `@id` (50 ids a call, 50 calls a batch; the only list with the
 *     deal↔contact links), contacts through crm.contact.list `@ID`; an object not returned is
 *     gone → deleted from the store; product rows of WON deals are re-read;
 *  3. affected contacts = the deal's contacts before (store) ∪ after (portal) ∪ contacts named
 *     by contact events; rescoreContacts() relabels them in the latest run (./rescore.ts);
 *     companies (B2B: when the run labelled them) = the deals' companies before ∪ after, relabelled
 *     the same way;
 *  4. automation on the contacts whose label changed; write-back (only changed contacts are
 *     written: the diff against written_values);
 *  5. ack exactly the inbox rows read (a row touched again meanwhile stays for the next pass).
 * A crash anywhere before 5 leaves the rows in the inbox: the next job redoes the work, which
 * is idempotent (upserts, diff-based write-back, unique firing rows).
 */
import type { B24Client } from '../b24/client.js';
import type { BatchCommand } from '../b24/batch-encoding.js';
import { exportProductRows } from '../b24/export.js';
import { itemRowToLegacy, legacyFieldToItem } from '../b24/fields.js';
import type { Db } from '../store/db.js';
import {
  deleteContacts, deleteDeals, getCurrencies, getProducts, replaceDealContacts, replaceProductRows, upsertContacts, upsertDeals,
  type DealContactInput, type DealInput, type ProductRowInput,
} from '../store/crm.js';
import { CONTACT_SELECT, DEAL_SELECT, makeToBase, mapContact, mapDeal, mapProductRow } from '../sync/map.js';
import { runWriteBack, type WriteBackResult } from '../writeback/write.js';
import { runAutomation } from '../automation/engine.js';
import { ackInbox, readInbox, type InboxRow } from './inbox.js';
import { rescoreContacts, type RescoreResult } from './rescore.js';

type Row = Record<string, unknown>;

export interface ProcessInboxOptions {
  /** inbox rows per pass (default 5000) */
  pageSize?: number;
  /** stop after this many passes (default 20) */
  maxPasses?: number;
  /** skip write-back (tests) */
  writeBack?: boolean;
  signal?: AbortSignal;
  now?: Date;
}

export interface ProcessInboxResult {
  passes: number;
  rows: number;
  /** sum of coalesced touches: events the rows stand for */
  events: number;
  deals: { fetched: number; deleted: number };
  contacts: { fetched: number; deleted: number };
  rescored: number;
  /** companies relabelled (B2B) */
  companiesRescored: number;
  labelChanges: number;
  automation: { firingsCreated: number; done: number; failed: number; unknown: number };
  written: number;
  writeBack: WriteBackResult | null;
}

async function listByIds(client: B24Client, ids: readonly number[], command: (chunk: number[]) => BatchCommand, rowsOf: (r: unknown) => Row[]): Promise<Row[]> {
  const out: Row[] = [];
  const cmds: BatchCommand[] = [];
  for (let i = 0; i < ids.length; i += 50) cmds.push(command(ids.slice(i, i + 50)));
  for (let i = 0; i < cmds.length; i += 50) {
    const part = cmds.slice(i, i + 50);
    const r = await client.batch(part);
    part.forEach((_, k) => {
      const e = r.errors[String(k)];
      if (e) throw e;
      out.push(...rowsOf(r.results[String(k)]));
    });
  }
  return out;
}

const DEAL_ITEM_SELECT = [...new Set(['id', ...DEAL_SELECT.map(legacyFieldToItem)])];

export async function fetchDeals(client: B24Client, ids: readonly number[]): Promise<Row[]> {
  return listByIds(
    client,
    ids,
    (chunk) => ['crm.item.list', { entityTypeId: 2, filter: { '@id': chunk }, select: DEAL_ITEM_SELECT, useOriginalUfNames: 'Y', start: -1 }],
    (res) => {
      const items = (res as { items?: unknown } | null)?.items;
      return Array.isArray(items) ? (items as Row[]).map(itemRowToLegacy) : [];
    },
  );
}

export async function fetchContacts(client: B24Client, ids: readonly number[]): Promise<Row[]> {
  return listByIds(
    client,
    ids,
    (chunk) => ['crm.contact.list', { filter: { '@ID': chunk }, select: CONTACT_SELECT, start: -1 }],
    (res) => (Array.isArray(res) ? (res as Row[]) : []),
  );
}

/** Store ← portal for the inbox rows; returns the contacts whose score may have changed. */
export async function refreshObjects(db: Db, portalId: number, client: B24Client, rows: readonly InboxRow[], res: ProcessInboxResult): Promise<Set<number>> {
  const affected = new Set<number>();
  const dealIds = rows.filter((r) => r.entity === 'deal').map((r) => Number(r.id));
  const contactIds = rows.filter((r) => r.entity === 'contact').map((r) => Number(r.id));

  if (dealIds.length) {
    // contacts linked before the change
    const { rows: before } = await db.query<{ c: number }>(
      `SELECT DISTINCT contact_id AS c FROM deal_contacts WHERE portal_id = $1 AND deal_id = ANY($2::bigint[])`,
      [portalId, dealIds],
    );
    for (const b of before) affected.add(Number(b.c));
    // a delete event is re-checked too: events are unordered, the deal may exist again/still
    const fetched = await fetchDeals(client, dealIds);
    const toBase = makeToBase(await getCurrencies(db, portalId));
    const deals: DealInput[] = [];
    const links: DealContactInput[] = [];
    for (const r of fetched) {
      const m = mapDeal(r, toBase);
      deals.push(m.deal);
      links.push(...m.links);
      for (const l of m.links) affected.add(l.contactId);
    }
    const seen = new Set(deals.map((d) => d.id));
    const gone = dealIds.filter((id) => !seen.has(id));
    const wonIds = deals.filter((d) => d.stageSemantic === 'S').map((d) => d.id);
    const prRows: ProductRowInput[] = [];
    if (wonIds.length) {
      const productSection = new Map((await getProducts(db, portalId)).map((p) => [p.id, p.sectionId] as [number, number | null]));
      for await (const page of exportProductRows(client, wonIds)) for (const r of page.rows) prRows.push(mapProductRow(r, productSection));
    }
    await db.transaction(async (tx) => {
      if (deals.length) {
        await upsertDeals(tx, portalId, deals);
        await replaceDealContacts(tx, portalId, deals.map((d) => d.id), links);
        await replaceProductRows(tx, portalId, deals.map((d) => d.id), prRows);
      }
      if (gone.length) await deleteDeals(tx, portalId, gone);
    });
    res.deals.fetched += deals.length;
    res.deals.deleted += gone.length;
  }

  if (contactIds.length) {
    const fetched = (await fetchContacts(client, contactIds)).map(mapContact);
    const seen = new Set(fetched.map((c) => c.id));
    const gone = contactIds.filter((id) => !seen.has(id));
    await db.transaction(async (tx) => {
      if (fetched.length) await upsertContacts(tx, portalId, fetched);
      if (gone.length) await deleteContacts(tx, portalId, gone);
    });
    for (const id of contactIds) affected.add(id);
    res.contacts.fetched += fetched.length;
    res.contacts.deleted += gone.length;
  }
  // a contact linked to a deal but not in the store yet (created with the deal): fetch it
  if (affected.size) {
    const { rows: have } = await db.query<{ id: number }>(`SELECT id FROM contacts WHERE portal_id = $1 AND id = ANY($2::bigint[])`, [portalId, [...affected]]);
    const haveSet = new Set(have.map((h) => Number(h.id)));
    const unknown = [...affected].filter((id) => !haveSet.has(id) && !contactIds.includes(id));
    if (unknown.length) {
      const fetched = (await fetchContacts(client, unknown)).map(mapContact);
      if (fetched.length) await upsertContacts(db, portalId, fetched);
      res.contacts.fetched += fetched.length;
    }
  }
  return affected;
}

/** The companies of deals in the store (B2B rescoring): before the refresh, and after it. */
async function companiesOfDeals(db: Db, portalId: number, dealIds: readonly number[]): Promise<number[]> {
  if (!dealIds.length) return [];
  const { rows } = await db.query<{ c: number }>(
    `SELECT DISTINCT company_id AS c FROM deals WHERE portal_id = $1 AND id = ANY($2::bigint[]) AND company_id IS NOT NULL`,
    [portalId, [...dealIds]],
  );
  return rows.map((r) => Number(r.c));
}

export async function processInbox(db: Db, portalId: number, client: B24Client, o: ProcessInboxOptions = {}): Promise<ProcessInboxResult> {
  const res: ProcessInboxResult = {
    passes: 0, rows: 0, events: 0, deals: { fetched: 0, deleted: 0 }, contacts: { fetched: 0, deleted: 0 }, rescored: 0, companiesRescored: 0, labelChanges: 0,
    automation: { firingsCreated: 0, done: 0, failed: 0, unknown: 0 }, written: 0, writeBack: null,
  };
  const maxPasses = o.maxPasses ?? 20;
  let anyRescored = false;
  while (res.passes < maxPasses) {
    if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
    const rows = await readInbox(db, portalId, o.pageSize ?? 5000);
    if (!rows.length) break;
    res.passes++;
    res.rows += rows.length;
    for (const r of rows) res.events += r.touches;
    const dealIds = rows.filter((r) => r.entity === 'deal').map((r) => Number(r.id));
    const companiesBefore = await companiesOfDeals(db, portalId, dealIds);
    const affected = await refreshObjects(db, portalId, client, rows, res);
    if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
    const rs: RescoreResult = await rescoreContacts(db, portalId, [...affected], { now: o.now });
    const companies = new Set([...companiesBefore, ...(await companiesOfDeals(db, portalId, dealIds))]);
    const rc = await rescoreContacts(db, portalId, [...companies], { now: o.now, kind: 'company' });
    res.companiesRescored += rc.rescored + rc.removed;
    if (rc.runId !== null && rc.rescored + rc.removed > 0) anyRescored = true;
    res.rescored += rs.rescored + rs.removed;
    res.labelChanges += rs.changes.length;
    if (rs.runId !== null && rs.rescored + rs.removed > 0) anyRescored = true;
    if (rs.changes.length || rc.changes.length) {
      const a = await runAutomation(db, portalId, client, { contactIds: rs.changes.map((c) => c.contactId), companyIds: rc.changes.map((c) => c.contactId) });
      res.automation.firingsCreated += a.evaluate.firingsCreated;
      res.automation.done += a.firings.done;
      res.automation.failed += a.firings.failed;
      res.automation.unknown += a.firings.unknown;
    }
    await ackInbox(db, portalId, rows);
  }
  if (anyRescored && o.writeBack !== false) {
    res.writeBack = await runWriteBack(db, portalId, client);
    res.written = res.writeBack.written;
  }
  return res;
}
