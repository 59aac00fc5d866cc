/**
 * Refusal reasons from where real portals keep them (issue 14 item 3), against the emulator over
 * HTTP and the real store, on both databases. Two generated portals:
 *  - "stages": reasons are custom lost stages of each funnel ("Lost: price", …), the default source;
 *  - "enum":   reasons are an enumeration deal field UF_CRM_LOST_WHY, chosen in settings.refusal
 *              with one value mapped ("Too expensive" → "Price"), the others read as the item's name.
 * After a real sync and scoring, each refused customer's reason equals the one recomputed here from
 * the emulator's own deals (latest lost deal of a customer with no purchase and no open deal); the
 * write-back puts it into UF_CRM_SEG_REFUSAL_REASON, read back from the portal (the record and a
 * crm.contact.list filter on the item, as a CRM user filters); the app's filter counts match; the
 * trigger "became refused with reason X" starts the right workflow for the right reason only; the
 * settings endpoint refuses attacker input with 4xx JSON and changes nothing.
 */
import axios from 'axios';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DealRec } from '../../src/emulator/model.js';
import type { Portal } from '../../src/emulator/portal.js';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { LOSS_ENUM_FIELD } from '../../src/emulator/generator.js';
import { evaluateAutomation, runPendingFirings } from '../../src/automation/engine.js';
import { runScoring } from '../../src/pipeline/score.js';
import { refusalOptions } from '../../src/server/ui-api/routes/refusal.js';
import { compileCount, compileFilter, type SegmentFilter } from '../../src/segments/index.js';
import { refusalReasonKey } from '../../src/settings/index.js';
import {
  createTokenCipher, queryContactLabels, readFactsDicts, setTokenCipher, updatePortalSettings,
} from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { eachDb, type Db } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';
import { createPortalRow, makeClient } from './helpers/sync-env.js';
import { startUiServer, storedSettings, type UiTestServer } from './helpers/ui-server.js';

const TS = 100;
const FIELD = 'UF_CRM_SEG_REFUSAL_REASON';

beforeAll(() => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
});

const portalDay = (p: Portal) => new Date(p.clock.now()).toISOString().slice(0, 10);

/**
 * Refused customers and their reason, from the emulator's deals alone: no won deal, no open deal,
 * at least one lost deal; the reason is the one of the lost deal that closed last (a tie: the higher
 * deal ID, as the deals are read in ID order).
 */
function expectedRefusals(p: Portal, reasonOf: (d: DealRec) => string | null): Map<number, string | null> {
  const byContact = new Map<number, DealRec[]>();
  for (const d of p.deals.values()) {
    for (const c of new Set(d.contactIds)) {
      const l = byContact.get(c) ?? [];
      l.push(d);
      byContact.set(c, l);
    }
  }
  const out = new Map<number, string | null>();
  for (const [c, deals] of byContact) {
    const sem = deals.map((d) => stageSemantic(p, d.stageId));
    if (sem.includes('S') || sem.includes('P')) continue;
    const lost = deals.filter((_, i) => sem[i] === 'F').sort((a, b) => a.closeDate.localeCompare(b.closeDate) || a.id - b.id);
    out.set(c, reasonOf(lost[lost.length - 1]!));
  }
  return out;
}

const stageName = (p: Portal) => (d: DealRec) => p.statuses.find((s) => s.entityId.startsWith('DEAL_STAGE') && s.statusId === d.stageId)?.name ?? d.stageId;

/** The app's refused contacts and their reason in the latest run. */
async function refusedLabels(db: Db, pid: number, runId: number): Promise<Map<number, string | null>> {
  const labels = await queryContactLabels(db, pid, runId, { limit: 1_000_000 });
  return new Map(labels.filter((l) => l.lifecycle === 'refused').map((l) => [l.contactId, (l.extra?.refusalReason as string | null) ?? null]));
}

/** What the CRM holds in our field, as reason words (the item's VALUE), per contact. */
function crmReasons(p: Portal): Map<number, string> {
  const f = [...p.userFields.values()].find((u) => u.entityId === 'CRM_CONTACT' && u.fieldName === FIELD)!;
  const items = new Map(f.list.map((i) => [i.id, i.value]));
  const out = new Map<number, string>();
  for (const c of p.contacts.values()) {
    const v = c.uf[FIELD];
    if (v !== undefined && v !== null && v !== '') out.set(c.id, items.get(Number(v)) ?? `#${String(v)}`);
  }
  return out;
}

async function countFilter(db: Db, pid: number, runId: number, f: SegmentFilter): Promise<{ labels: number; facts: number }> {
  const q = compileFilter(pid, runId, f);
  const labels = (await db.query<{ n: number }>(`SELECT count(*)::int AS n ${q.fromWhere}`, q.params)).rows[0]!.n;
  const dicts = await readFactsDicts(db, pid);
  const c = compileCount(pid, runId, f, {}, dicts ?? undefined);
  const facts = (await db.query<{ count: number }>(c.sql, c.params)).rows[0]!.count;
  return { labels, facts };
}

const countOf = (m: ReadonlyMap<number, string | null>, reason: string) => [...m.values()].filter((r) => r !== null && refusalReasonKey(r) === refusalReasonKey(reason)).length;

eachDb('refusal reasons from lost stages (the default source)', (getDb) => {
  let tp: TestPortal;
  let db: Db;
  let pid: number;
  let runId: number;
  const client = () => makeClient(tp.tokens, TS);
  const adminCall = (method: string, params: Record<string, unknown>) =>
    axios.post(`${tp.emu.url}_emulator/call/${method}`, params).then((r) => r.data as { result: unknown; total?: number });

  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 400, deals: 1200, seed: 31, timeScale: TS, gen: { refusals: 'stages' }, scopes: ['crm', 'user', 'bizproc'] });
    db = getDb();
    pid = await createPortalRow(db);
    await runSync({ db, portalId: pid, client: client() }, { kind: 'full' });
    runId = (await runScoring(db, pid, portalDay(tp.emu.portal))).runId;
  });
  afterAll(async () => {
    await tp?.emu.close();
  });

  it('each refused customer carries the name of the lost stage of their latest lost deal', async () => {
    const want = expectedRefusals(tp.emu.portal, stageName(tp.emu.portal));
    const got = await refusedLabels(db, pid, runId);
    expect(want.size).toBeGreaterThan(20);
    expect(got).toEqual(want);
    // several lost stages really are in play, the custom ones among them
    const reasons = new Set(got.values());
    for (const r of ['Lost: price', 'Lost: competitor', 'Deal lost']) expect(reasons.has(r)).toBe(true);
  });

  it('the settings page\'s lists come from the portal: each funnel\'s lost stages, no reason field on this portal', async () => {
    const o = await refusalOptions(client());
    const p = tp.emu.portal;
    const lost = (entity: string) => p.statuses.filter((x) => x.entityId === entity && x.semantics === 'F').sort((x, y) => x.sort - y.sort).map((x) => ({ id: x.statusId, name: x.name }));
    expect(o.funnels).toEqual([
      { id: 0, name: 'General', lostStages: lost('DEAL_STAGE') },
      { id: 1, name: 'Wholesale', lostStages: lost('DEAL_STAGE_1') },
    ]);
    expect(o.funnels[0]!.lostStages.map((x) => x.id)).toEqual(['LOSE', 'APOLOGY', 'UC_PRICE', 'UC_COMPETITOR', 'UC_NORESPONSE', 'UC_STOCK']);
    expect(o.fields).toEqual([]);
  });

  it('a stage mapped in settings gives the admin\'s reason instead of the stage name', async () => {
    await updatePortalSettings(db, pid, { refusal: { source: 'stages', stages: { UC_PRICE: 'Price', 'C1:UC_PRICE': 'Price' } } });
    runId = (await runScoring(db, pid, portalDay(tp.emu.portal))).runId;
    const p = tp.emu.portal;
    const want = expectedRefusals(p, (d) => (d.stageId.endsWith('UC_PRICE') ? 'Price' : stageName(p)(d)));
    const got = await refusedLabels(db, pid, runId);
    expect(got).toEqual(want);
    expect(countOf(got, 'Price')).toBeGreaterThan(0);
    expect(countOf(got, 'Lost: price')).toBe(0);
  });

  it('the write-back puts the reason into UF_CRM_SEG_REFUSAL_REASON: read back from the portal, filterable in the CRM', async () => {
    const w = await runWriteBack(db, pid, client());
    expect(w.failed).toBe(0);
    const want = await refusedLabels(db, pid, runId);
    const held = crmReasons(tp.emu.portal);
    // exactly the refused contacts with a reason hold an item, and it names their reason
    expect(new Map([...held].sort((a, b) => a[0] - b[0]))).toEqual(new Map([...want].filter(([, r]) => r !== null).sort((a, b) => a[0] - b[0])));
    // a CRM user's filter on the item (crm.contact.list, as the CRM's list filter asks)
    const f = [...tp.emu.portal.userFields.values()].find((u) => u.entityId === 'CRM_CONTACT' && u.fieldName === FIELD)!;
    const price = f.list.find((i) => i.value === 'Price')!;
    const listed = await adminCall('crm.contact.list', { filter: { [FIELD]: price.id }, select: ['ID'] });
    expect(listed.total).toBe(countOf(want, 'Price'));
    // a second write-back has nothing left to write for these
    const again = await runWriteBack(db, pid, client());
    expect(again.written).toBe(0);
  });

  it('the segment filter refusal_reason counts the same over the labels and the count tables, words or key', async () => {
    const want = await refusedLabels(db, pid, runId);
    for (const reason of ['Price', 'Lost: competitor', 'deal   LOST']) {
      const n = countOf(want, reason);
      expect(n).toBeGreaterThan(0);
      expect(await countFilter(db, pid, runId, { all: [{ field: 'refusal_reason', values: [reason] }] })).toEqual({ labels: n, facts: n });
    }
    const both = countOf(want, 'Price') + countOf(want, 'Lost: competitor');
    expect(await countFilter(db, pid, runId, { all: [{ field: 'refusal_reason', values: ['price', 'Lost: competitor', 'no such reason'] }] }))
      .toEqual({ labels: both, facts: both });
  });

  it('"became refused with reason X" starts the workflow of that reason only, once', async () => {
    const p = tp.emu.portal;
    p.bizprocTemplates.push({ id: 901, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Promo code', autoExecute: 0 });
    p.bizprocTemplates.push({ id: 902, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'New arrivals', autoExecute: 0 });
    await updatePortalSettings(db, pid, {
      refusal: { source: 'stages', stages: { UC_PRICE: 'Price', 'C1:UC_PRICE': 'Price' } },
      automation: { rules: [
        { id: 'price-promo', trigger: { type: 'becameRefused', reasons: ['PRICE'] }, action: { type: 'workflow', templateId: 901 } },
        { id: 'stock-news', trigger: { type: 'becameRefused', reasons: ['Lost: out of stock'] }, action: { type: 'workflow', templateId: 902 } },
      ] },
    });
    const base = await evaluateAutomation(db, pid);
    expect(base.firingsCreated).toBe(0); // the first look is a baseline: nobody already refused fires
    // three customers who never had a deal now lose one: price, out of stock, and the system "Deal lost"
    const dealless = [...p.contacts.keys()].filter((id) => ![...p.deals.values()].some((d) => d.contactIds.includes(id))).slice(0, 3);
    expect(dealless.length).toBe(3);
    const stages = ['UC_PRICE', 'UC_STOCK', 'LOSE'];
    for (let i = 0; i < 3; i++) await adminCall('crm.deal.add', { fields: { TITLE: `Lost ${i}`, CONTACT_ID: dealless[i], STAGE_ID: stages[i], OPPORTUNITY: 100 } });
    await runSync({ db, portalId: pid, client: client() }, { kind: 'incremental' });
    runId = (await runScoring(db, pid, portalDay(p))).runId;
    const got = await refusedLabels(db, pid, runId);
    expect(dealless.map((id) => got.get(id))).toEqual(['Price', 'Lost: out of stock', 'Deal lost']);
    // the rule editor's estimate says the same from the last two runs (POST /automation/estimate)
    const srv = await startUiServer(db);
    try {
      const member = (await db.query<{ m: string }>('SELECT member_id AS m FROM portals WHERE id = $1', [pid])).rows[0]!.m;
      const rules = [
        { id: 'a', trigger: { type: 'becameRefused', reasons: ['price'] }, action: { type: 'workflow', templateId: 901 } },
        { id: 'b', trigger: { type: 'becameRefused', reasons: ['Lost: out of stock', 'Lost: competitor'] }, action: { type: 'workflow', templateId: 902 } },
        { id: 'c', trigger: { type: 'becameRefused' }, action: { type: 'comment', text: 'Refused: {reason}' } },
      ];
      const est = await srv.call('POST', '/api/ui/automation/estimate', { session: srv.session(pid, member, { admin: true }), body: { rules } });
      expect(est.status).toBe(200);
      expect((est.json.rules as Array<{ expected: number }>).map((r) => r.expected)).toEqual([1, 1, 3]);
    } finally {
      await srv.close();
    }
    const ev = await evaluateAutomation(db, pid);
    expect(ev.transitions.becameRefused).toBe(3);
    expect(ev.firingsCreated).toBe(2);
    const before = p.workflowStarts.length;
    const sent = await runPendingFirings(db, pid, client());
    expect(sent.errors).toEqual([]);
    expect(sent.done).toBe(2);
    const started = p.workflowStarts.slice(before).map((w) => [w.templateId, w.documentId[2]]).sort();
    expect(started).toEqual([[901, `CONTACT_${dealless[0]}`], [902, `CONTACT_${dealless[1]}`]].sort());
    // nothing changed: nothing fires again
    expect((await evaluateAutomation(db, pid)).firingsCreated).toBe(0);
  });
});

eachDb('refusal reasons from an enumeration deal field', (getDb) => {
  let tp: TestPortal;
  let db: Db;
  let pid: number;
  let memberId: string;
  let srv: UiTestServer;

  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 300, deals: 900, seed: 32, timeScale: TS, gen: { refusals: 'enum' } });
    db = getDb();
    pid = await createPortalRow(db);
    memberId = (await db.query<{ m: string }>('SELECT member_id AS m FROM portals WHERE id = $1', [pid])).rows[0]!.m;
    await runSync({ db, portalId: pid, client: makeClient(tp.tokens, TS) }, { kind: 'full' });
    srv = await startUiServer(db);
  });
  afterAll(async () => {
    await srv?.close();
    await tp?.emu.close();
  });

  const itemsOf = (p: Portal) => new Map([...p.userFields.values()].find((u) => u.fieldName === LOSS_ENUM_FIELD)!.list.map((i) => [i.id, i.value]));

  it('the settings page\'s lists offer the portal\'s list field with its items', async () => {
    const o = await refusalOptions(makeClient(tp.tokens, TS));
    const items = [...itemsOf(tp.emu.portal)].map(([id, value]) => ({ id: String(id), value }));
    expect(o.fields).toEqual([{ name: LOSS_ENUM_FIELD, label: 'Why lost', type: 'enumeration', items }]);
  });

  it('PUT /settings/refusal picks the field and maps a value; scoring reads the item names and the mapping', async () => {
    const items = itemsOf(tp.emu.portal);
    const tooExpensive = [...items].find(([, v]) => v === 'Too expensive')![0];
    const s = srv.session(pid, memberId, { admin: true });
    const put = await srv.call('PUT', '/api/ui/settings/refusal', { session: s, body: { refusal: { source: 'field', field: LOSS_ENUM_FIELD, values: { [String(tooExpensive)]: 'Price' } } } });
    expect(put.status).toBe(200);
    const got = await srv.call('GET', '/api/ui/settings/refusal', { session: s });
    expect(got.status).toBe(200);
    expect(got.json.refusal).toEqual({ source: 'field', field: LOSS_ENUM_FIELD, stages: {}, values: { [String(tooExpensive)]: 'Price' } });
    const runId = (await runScoring(db, pid, portalDay(tp.emu.portal))).runId;
    const want = expectedRefusals(tp.emu.portal, (d) => {
      const v = d.uf[LOSS_ENUM_FIELD];
      if (v === undefined || v === null) return null;
      return Number(v) === tooExpensive ? 'Price' : items.get(Number(v))!;
    });
    expect(want.size).toBeGreaterThan(10);
    expect(await refusedLabels(db, pid, runId)).toEqual(want);
    expect(new Set(want.values()).size).toBeGreaterThan(3);
    expect([...want.values()]).toContain('Price');
    expect([...want.values()]).not.toContain('Too expensive');
  });

  it('the app\'s list filter: /meta offers the reasons, /segments/count counts them; bad filter values are 400', async () => {
    const admin = srv.session(pid, memberId, { admin: true });
    const meta = await srv.call('GET', '/api/ui/meta', { session: admin });
    expect(meta.status).toBe(200);
    const offered = meta.json.refusalReasons as Array<{ key: string; reason: string }>;
    const labels = await queryContactLabels(db, pid, (await db.query<{ id: number }>(`SELECT id FROM score_runs WHERE portal_id = $1 AND status = 'done' ORDER BY id DESC LIMIT 1`, [pid])).rows[0]!.id, { limit: 1_000_000 });
    const refused = labels.filter((l) => l.lifecycle === 'refused' && l.extra?.refusalReasonKey);
    expect(offered.map((o) => o.key).sort()).toEqual([...new Set(refused.map((l) => String(l.extra!.refusalReasonKey)))].sort());
    for (const o of offered) {
      const c = await srv.call('POST', '/api/ui/segments/count', { session: admin, body: { filter: { all: [{ field: 'refusal_reason', values: [o.key] }] } } });
      expect(c.status).toBe(200);
      expect(c.json.count).toBe(refused.filter((l) => l.extra!.refusalReasonKey === o.key).length);
    }
    for (const values of [Array.from({ length: 101 }, (_, i) => `r${i}`), [{ $ne: 1 }], ['x'.repeat(201)]]) {
      const bad = await srv.call('POST', '/api/ui/segments/count', { session: admin, body: { filter: { all: [{ field: 'refusal_reason', values }] } } });
      expect(bad.status).toBe(400);
      expect(typeof bad.json.error).toBe('string');
    }
  });

  it('attacker input on the refusal settings: 4xx JSON with a reason, and the stored settings unchanged', async () => {
    const admin = srv.session(pid, memberId, { admin: true });
    const before = await storedSettings(db, pid);
    const cases: Array<[string, Parameters<UiTestServer['call']>[2], number, string]> = [
      ['no session', { body: { refusal: { source: 'stages' } } }, 401, ''],
      ['forged session', { session: `${admin.slice(0, -4)}AAAA`, body: { refusal: { source: 'stages' } } }, 401, ''],
      ['not an admin', { session: srv.session(pid, memberId, { admin: false, user: 5 }), body: { refusal: { source: 'stages' } } }, 403, ''],
      ['field the portal lacks', { session: admin, body: { refusal: { source: 'field', field: 'UF_CRM_NOT_THERE' } } }, 400, 'UNKNOWN_FIELD'],
      ['a standard field name', { session: admin, body: { refusal: { source: 'field', field: 'STAGE_ID' } } }, 400, 'INVALID_SETTINGS'],
      ['field source without a field', { session: admin, body: { refusal: { source: 'field' } } }, 400, 'INVALID_SETTINGS'],
      ['nested values', { session: admin, body: { refusal: { source: 'stages', stages: { LOSE: { $gt: '' } } } } }, 400, 'INVALID_SETTINGS'],
      ['oversize map', { session: admin, body: { refusal: { source: 'stages', stages: Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`S${i}`, 'x'])) } } }, 400, 'INVALID_SETTINGS'],
      ['a reason of 201 characters', { session: admin, body: { refusal: { source: 'stages', stages: { LOSE: 'x'.repeat(201) } } } }, 400, 'INVALID_SETTINGS'],
      ['a stage id with SQL in it', { session: admin, body: { refusal: { source: 'stages', stages: { "LOSE' OR 1=1 --": 'x' } } } }, 400, 'INVALID_SETTINGS'],
      ['body over the size limit', { session: admin, rawBody: JSON.stringify({ refusal: { source: 'stages', stages: { LOSE: 'x' }, pad: 'y'.repeat(2_000_000) } }) }, 413, ''],
    ];
    for (const [name, opts, status, code] of cases) {
      const r = await srv.call('PUT', '/api/ui/settings/refusal', opts);
      expect(r.status, name).toBe(status);
      expect(typeof r.json.error, name).toBe('string');
      if (code) expect(r.json.error, name).toBe(code);
    }
    expect(await storedSettings(db, pid)).toEqual(before);
    // another portal's admin session changes its own portal only
    const other = await createPortalRow(db);
    const otherMember = (await db.query<{ m: string }>('SELECT member_id AS m FROM portals WHERE id = $1', [other])).rows[0]!.m;
    const foreign = await srv.call('PUT', '/api/ui/settings/refusal', { session: srv.session(other, otherMember, { admin: true }), body: { refusal: { source: 'stages' } } });
    expect(foreign.status).toBe(200);
    expect(await storedSettings(db, pid)).toEqual(before);
    // a session naming this portal with another portal's member id is refused
    const mixed = await srv.call('PUT', '/api/ui/settings/refusal', { session: srv.session(pid, otherMember, { admin: true }), body: { refusal: { source: 'stages' } } });
    expect(mixed.status).toBeGreaterThanOrEqual(400);
    expect(mixed.status).toBeLessThan(500);
    expect(await storedSettings(db, pid)).toEqual(before);
    // repeated keys: JSON's last one wins, validated like any other body
    const rep = await srv.call('PUT', '/api/ui/settings/refusal', { session: admin, rawBody: `{"refusal":{"source":"field","field":"${LOSS_ENUM_FIELD}","source":"nonsense"}}` });
    expect(rep.status).toBe(400);
    expect(rep.json.error).toBe('INVALID_SETTINGS');
    expect(await storedSettings(db, pid)).toEqual(before);
    // GET is the admin's too
    expect((await srv.call('GET', '/api/ui/settings/refusal', { session: srv.session(pid, memberId, { admin: false, user: 5 }) })).status).toBe(403);
  });
});
