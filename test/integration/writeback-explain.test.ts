/**
 * Labels that explain themselves in the CRM (issue 14 item 5), against the emulator and the store:
 *  - UF_CRM_SEG_DAYS_OVERDUE of a sleeping repeat buyer = days since the last purchase − the
 *    median gap between purchase days, both recomputed here from the emulator's raw deals;
 *    empty for everyone else; the store keeps the number for every repeat buyer;
 *  - the interests field keeps the tags a manager set by hand (an item of the app's list the app did
 *    not give that contact, and an item the manager added to the list); an unchanged customer
 *    causes no write; the app's own tags are removed once their window has passed, the hand tags stay,
 *    also a tag set after the last sync (the write-back reads the field right before writing it);
 *  - after two runs, UF_CRM_SEG_PREV_SEGMENT and UF_CRM_SEG_CHANGED_AT read back from the portal
 *    hold the segment the portal showed after the first run and the second run's time, exactly for
 *    the contacts whose segment moved.
 */
import axios from 'axios';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { createTokenCipher, setTokenCipher, updatePortalSettings, upsertPortalOnInstall } from '../../src/store/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { loadRegistry } from '../../src/writeback/fields.js';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { eachDb, type Db } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';

const TS = 100;
const DAY = 86_400_000;
let tp: TestPortal;

beforeAll(() => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
});

const client = () => new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: TS } });
const admin = (method: string, params: Record<string, unknown>) => axios.post(`${tp.emu.url}_emulator/call/${method}`, params).then((r) => r.data as { result: unknown });
const addDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
const dayNo = (d: string) => Math.round(Date.parse(`${d}T00:00:00Z`) / DAY);

/** Purchase days per contact from the emulator's won deals (a day's deals added up; ≤ 0 with a refund is no purchase). */
function purchaseDays(): Map<number, number[]> {
  const byDay = new Map<number, Map<string, { sum: number; zero: boolean }>>();
  for (const d of tp.emu.portal.deals.values()) {
    if (stageSemantic(tp.emu.portal, d.stageId) !== 'S') continue;
    for (const c of d.contactIds) {
      const days = byDay.get(c) ?? new Map();
      const x = days.get(d.closeDate) ?? { sum: 0, zero: true };
      x.sum += d.opportunity;
      x.zero &&= d.opportunity === 0;
      days.set(d.closeDate, x);
      byDay.set(c, days);
    }
  }
  const out = new Map<number, number[]>();
  for (const [c, days] of byDay) {
    const list = [...days].filter(([, x]) => x.sum > 0 || x.zero).map(([d]) => dayNo(d)).sort((a, b) => a - b);
    if (list.length) out.set(c, list);
  }
  return out;
}

/** Days overdue of every repeat buyer as of `asOf`, and whether they sleep (missed one whole cycle). */
function expectedOverdue(asOf: string): Map<number, { overdue: number; sleeping: boolean }> {
  const out = new Map<number, { overdue: number; sleeping: boolean }>();
  for (const [c, days] of purchaseDays()) {
    if (days.length < 2) continue;
    const gaps = days.slice(1).map((d, i) => d - days[i]!).sort((a, b) => a - b);
    const mid = gaps.length >> 1;
    const gap = gaps.length % 2 ? gaps[mid]! : (gaps[mid - 1]! + gaps[mid]!) / 2;
    const since = dayNo(asOf) - days[days.length - 1]!;
    out.set(c, { overdue: Math.max(0, since - Math.round(gap)), sleeping: since > 2 * gap });
  }
  return out;
}

const uf = (id: number) => tp.emu.portal.contacts.get(id)!.uf;
const tagsOf = (id: number) => ((uf(id).UF_CRM_SEG_INTERESTS as number[] | undefined) ?? []).map(Number).sort((a, b) => a - b);

eachDb('labels that explain themselves in the CRM', (getDb) => {
  let db: Db;
  let portalId: number;
  let asOf: string;
  const cycle = async (day: string, now?: Date) => {
    await mirrorEmulatorPortal(tp.emu.portal, db, portalId); // stands in for the sync
    const s = await runScoring(db, portalId, day, now ? { now } : {});
    const w = await runWriteBack(db, portalId, client());
    return { s, w };
  };

  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 300, deals: 1500, seed: 33, timeScale: TS });
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: 'explain', domain: 'explain.bitrix24.com', language: 'en' })).id;
    asOf = new Date(tp.emu.portal.clock.now()).toISOString().slice(0, 10);
  });
  afterAll(async () => {
    await tp?.emu.close();
  });

  const checkOverdue = async (day: string, runId: number) => {
    const want = expectedOverdue(day);
    const sleepers = [...want].filter(([, w]) => w.sleeping);
    expect(sleepers.length).toBeGreaterThan(5);
    for (const c of tp.emu.portal.contacts.values()) {
      const w = want.get(c.id);
      const got = c.uf.UF_CRM_SEG_DAYS_OVERDUE ?? null;
      expect([c.id, got === null || got === '' ? null : Number(got)]).toEqual([c.id, w?.sleeping ? w.overdue : null]);
    }
    const { rows } = await db.query<{ id: number; d: number | null }>(
      `SELECT contact_id AS id, (extra->>'daysOverdue')::int AS d FROM contact_labels WHERE portal_id = $1 AND run_id = $2`, [portalId, runId]);
    for (const r of rows) expect([r.id, r.d]).toEqual([r.id, want.get(r.id)?.overdue ?? null]);
  };

  let afterFirst = new Map<number, unknown>();
  it('days overdue: written for sleeping repeat buyers (days since last − own cycle), stored for every repeat buyer', async () => {
    const { s, w } = await cycle(asOf);
    expect(w.failed).toBe(0);
    expect(w.fieldsWritten['UF_CRM_SEG_DAYS_OVERDUE']).toBe([...expectedOverdue(asOf).values()].filter((x) => x.sleeping).length);
    await checkOverdue(asOf, s.runId);
    afterFirst = new Map([...tp.emu.portal.contacts.values()].map((c) => [c.id, c.uf.UF_CRM_SEG_SEGMENT]));
    // the first run changed nobody's segment: no previous segment, no change time
    for (const c of tp.emu.portal.contacts.values()) expect([c.id, c.uf.UF_CRM_SEG_PREV_SEGMENT ?? null, c.uf.UF_CRM_SEG_CHANGED_AT ?? null]).toEqual([c.id, null, null]);
  });

  let handA = 0;
  let handB = 0;
  let vipItem = 0;
  let appItem = 0;
  it("a manager's hand-set tags survive the write-back; an unchanged customer is not written", async () => {
    const reg = await loadRegistry(db, portalId, 'contact');
    const field = reg.get('UF_CRM_SEG_INTERESTS')!;
    // the manager adds an item of their own to the field's list …
    await admin('crm.contact.userfield.update', { id: field.ufId, fields: { LIST: [{ VALUE: 'VIP' }] } });
    vipItem = tp.emu.portal.userFields.get(field.ufId)!.list.find((i) => i.value === 'VIP')!.id;
    // … and sets it on a buyer with tags, and on another buyer one of the app's items that buyer has not got
    const withTags = [...tp.emu.portal.contacts.values()].filter((c) => tagsOf(c.id).length > 0);
    handA = withTags[0]!.id;
    handB = withTags[1]!.id;
    const all = Object.values(field.items);
    appItem = all.find((id) => !tagsOf(handB).includes(id) && id !== vipItem)!;
    const a = [...tagsOf(handA), vipItem];
    const b = [...tagsOf(handB), appItem];
    await admin('crm.contact.update', { id: handA, fields: { UF_CRM_SEG_INTERESTS: a } });
    await admin('crm.contact.update', { id: handB, fields: { UF_CRM_SEG_INTERESTS: b } });
    const { w } = await cycle(asOf);
    expect(w.fieldsWritten['UF_CRM_SEG_INTERESTS'] ?? 0).toBe(0);
    expect(w.written).toBe(0);
    expect(tagsOf(handA)).toEqual([...a].sort((x, y) => x - y));
    expect(tagsOf(handB)).toEqual([...b].sort((x, y) => x - y));
    expect((await cycle(asOf)).w.written).toBe(0);
  });

  it("two runs apart: previous segment and change time read back from the portal; stale app tags removed, hand tags kept", async () => {
    const later = addDays(asOf, 400);
    const now = new Date(Date.parse(`${later}T06:30:00Z`));
    // fixed bounds: 400 days later most recency levels drop (fresh quantiles would keep everyone's rank)
    await updatePortalSettings(db, portalId, { scoring: { rfm: { mode: 'fixed' } } });
    await mirrorEmulatorPortal(tp.emu.portal, db, portalId); // the sync …
    const s = await runScoring(db, portalId, later, { now });
    // … and after it, before the write-back, a manager sets the VIP tag on a third buyer (the store has not seen it)
    // (one whose app tags changed with the run, so the write-back must write the field)
    const items0 = (await loadRegistry(db, portalId, 'contact')).get('UF_CRM_SEG_INTERESTS')!.items;
    const { rows: now400 } = await db.query<{ id: number; interests: string[] }>(
      `SELECT contact_id AS id, interests FROM contact_labels WHERE portal_id = $1 AND run_id = $2`, [portalId, s.runId]);
    const handC = now400.find((l) => Number(l.id) !== handA && Number(l.id) !== handB && tagsOf(Number(l.id)).length > 0
      && JSON.stringify(l.interests.map((t) => items0[t]!).sort((x, y) => x - y)) !== JSON.stringify(tagsOf(Number(l.id))))!.id;
    await admin('crm.contact.update', { id: handC, fields: { UF_CRM_SEG_INTERESTS: [...tagsOf(handC), vipItem] } });
    const w = await runWriteBack(db, portalId, client());
    expect(w.failed).toBe(0);
    const c = client();
    const fields = await loadRegistry(db, portalId, 'contact');
    // the two fields are separate lists: an item's ID → its code (the segment), per field
    const codeOf = (field: string, id: unknown) => Object.entries(fields.get(field)!.items).find(([, v]) => String(v) === String(id))?.[0];
    let moved = 0;
    for (const contact of tp.emu.portal.contacts.values()) {
      const got = await c.call<Record<string, unknown>>('crm.contact.get', { id: contact.id });
      const before = afterFirst.get(contact.id) ?? null;
      const nowSeg = got.UF_CRM_SEG_SEGMENT === '' || got.UF_CRM_SEG_SEGMENT === undefined ? null : got.UF_CRM_SEG_SEGMENT;
      const prev = got.UF_CRM_SEG_PREV_SEGMENT === '' || got.UF_CRM_SEG_PREV_SEGMENT === undefined ? null : got.UF_CRM_SEG_PREV_SEGMENT;
      const at = got.UF_CRM_SEG_CHANGED_AT === '' || got.UF_CRM_SEG_CHANGED_AT === undefined ? null : got.UF_CRM_SEG_CHANGED_AT;
      if (before !== null && nowSeg !== null && String(nowSeg) !== String(before)) {
        moved++;
        expect([contact.id, codeOf('UF_CRM_SEG_PREV_SEGMENT', prev)]).toEqual([contact.id, codeOf('UF_CRM_SEG_SEGMENT', before)]);
        expect([contact.id, Date.parse(String(at))]).toEqual([contact.id, now.getTime()]);
      } else if (nowSeg !== null) {
        expect([contact.id, prev, at]).toEqual([contact.id, null, null]);
      }
    }
    expect(moved).toBeGreaterThan(10);
    expect(s.segmentChanges).toBeGreaterThanOrEqual(moved);
    await checkOverdue(later, s.runId);
    // 400 days on, every interest window (365 days by default) of these buyers has passed unless they bought since
    const { rows } = await db.query<{ id: number; interests: string[] }>(
      `SELECT contact_id AS id, interests FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND contact_id = ANY($3::bigint[])`, [portalId, s.runId, [handA, handB, handC]]);
    const reg = await loadRegistry(db, portalId, 'contact');
    const items = reg.get('UF_CRM_SEG_INTERESTS')!.items;
    for (const r of rows) {
      const hand = r.id === handB ? appItem : vipItem;
      const want = [...new Set([hand, ...r.interests.map((t) => items[t]!)])].sort((x, y) => x - y);
      expect([r.id, tagsOf(r.id)]).toEqual([r.id, want]);
    }
    expect(rows).toHaveLength(3);
    expect(rows.some((r) => r.interests.length === 0)).toBe(true);
    // the VIP tag set after the sync survived because the write-back read the field right before writing it
    expect(tagsOf(handC)).toContain(vipItem);
    expect((await cycle(later, now)).w.written).toBe(0);
  });
});
