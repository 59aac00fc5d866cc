/**
 * The saved-segment field (UF_CRM_SEG_SAVED) through scoring + write-back cycles against the
 * emulator, values read back over REST (crm.contact.get in a batch, crm.item.get):
 *  - the field exists with one item per saved segment (XML_ID = id, VALUE = name, SORT by priority);
 *  - option off: the field is not written at all;
 *  - option on: each contact holds its highest-priority saved segment (overlaps resolved by
 *    priority), contacts in none stay empty; a crash mid-run resumes without double writes;
 *    a second run writes 0;
 *  - a priority change flips the overlapping contacts (and only them) on the next run; a rename
 *    renames the item (same item ID, nothing written);
 *  - deleting a saved segment rewrites its contacts and removes its item;
 *  - turning the option off freezes the values (no writes, held items kept); the explicit clear
 *    empties them; turning it back on writes them again;
 *  - in the jobs' normal cycle (reconcile: real sync → score → write-back) the field is written,
 *    a second cycle writes 0, and a segment saved meanwhile is picked up by the next cycle.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import type { BatchCommand } from '../../src/b24/batch-encoding.js';
import { createTokenCipher, setTokenCipher, upsertPortalOnInstall, updatePortalSettings, queryContactLabels } from '../../src/store/index.js';
import type { ContactLabel } from '../../src/store/scores.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { loadRegistry } from '../../src/writeback/fields.js';
import { clearSavedSegmentField, SAVED_FIELD } from '../../src/writeback/saved-segment.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { defaultProcessors, type JobContext } from '../../src/jobs/workers.js';
import { latestScoreRun } from '../../src/store/scores.js';
import { eachDb, type Db } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';

const TS = 100;
let tp: TestPortal;

beforeAll(() => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
});

const client = () => new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: TS } });

interface Saved { id: string; name: string; priority: number; test: (l: ContactLabel) => boolean; filter: unknown }

/** Each contact's expected saved segment, computed here from the labels (not through the SQL compiler). */
function expected(labels: readonly ContactLabel[], saved: readonly Saved[]): Map<number, string | null> {
  const order = [...saved].sort((a, b) => b.priority - a.priority);
  return new Map(labels.map((l) => [l.contactId, order.find((s) => s.test(l))?.id ?? null]));
}

interface UfItem { ID: string; VALUE: string; XML_ID: string; SORT: string }

eachDb('writeback saved segment', (getDb) => {
  let db: Db;
  let portalId: number;
  let asOf: string;
  let labels: ContactLabel[];
  let saved: Saved[];

  const cycle = async (o: { maxWrites?: number } = {}) => {
    await mirrorEmulatorPortal(tp.emu.portal, db, portalId);
    const s = await runScoring(db, portalId, asOf);
    labels = await queryContactLabels(db, portalId, s.runId, { limit: 100_000 });
    return runWriteBack(db, portalId, client(), { maxWrites: o.maxWrites });
  };
  const store = (list: Saved[]) => updatePortalSettings(db, portalId, {
    savedSegments: list.map(({ id, name, priority, filter }) => ({ id, name, priority, filter })),
  });
  const enable = (on: boolean) => updatePortalSettings(db, portalId, { segmentField: { enabled: on } });

  /** The field's items on the portal, by XML_ID. */
  async function items(): Promise<Map<string, UfItem>> {
    const reg = await loadRegistry(db, portalId, 'contact');
    const f = await client().call<{ LIST: UfItem[] }>('crm.contact.userfield.get', { id: reg.get(SAVED_FIELD)!.ufId });
    return new Map(f.LIST.map((i) => [i.XML_ID, i]));
  }

  /** Every labelled contact's field value as the portal returns it (crm.contact.get, batches of 50), as saved-segment ids. */
  async function readBack(): Promise<Map<number, string | null>> {
    const byItem = new Map([...(await items()).values()].map((i) => [Number(i.ID), i.XML_ID]));
    const c = client();
    const out = new Map<number, string | null>();
    const ids = labels.map((l) => l.contactId);
    for (let i = 0; i < ids.length; i += 50) {
      const cmds: Record<string, BatchCommand> = {};
      for (const id of ids.slice(i, i + 50)) cmds[String(id)] = ['crm.contact.get', { id }];
      const r = await c.batch(cmds);
      expect(r.errors).toEqual({});
      for (const id of ids.slice(i, i + 50)) {
        const v = (r.results[String(id)] as Record<string, unknown>)[SAVED_FIELD];
        out.set(id, v === undefined || v === null || v === '' || v === false ? null : byItem.get(Number(v)) ?? `#${String(v)}`);
      }
    }
    return out;
  }

  const countOf = (m: Map<number, string | null>) => [...m.values()].filter((v) => v !== null).length;

  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 240, deals: 900, seed: 33, timeScale: TS });
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: 'sv', domain: 'sv.bitrix24.com', language: 'en' })).id;
    asOf = new Date(tp.emu.portal.clock.now()).toISOString().slice(0, 10);
  });
  afterAll(async () => {
    await tp?.emu.close();
  });

  it('option off: the field is created with one item per saved segment, and nothing is written to it', async () => {
    // a first cycle writes the score fields; its labels give the revenue threshold of "big"
    const first = await cycle();
    expect(first.errors).toEqual([]);
    const revenues = [...new Set(labels.map((l) => Number(l.monetary ?? NaN)).filter((v) => Number.isFinite(v) && v > 0))].sort((a, b) => a - b);
    const k = Math.floor(revenues.length / 2);
    const threshold = (revenues[k - 1]! + revenues[k]!) / 2; // between two actual values: no rounding question
    saved = [
      { id: 'vip', name: 'VIP', priority: 5, filter: { all: [{ field: 'segment', values: ['champions', 'loyal'] }] },
        test: (l) => l.segment === 'champions' || l.segment === 'loyal' },
      { id: 'big', name: 'Big spenders', priority: 9, filter: { all: [{ field: 'range', key: 'monetary', min: threshold }] },
        test: (l) => l.monetary !== null && Number(l.monetary) >= threshold },
      { id: 'sleepers', name: 'Sleeping', priority: 1, filter: { all: [{ field: 'sleeping', value: true }] }, test: (l) => l.sleeping === true },
    ];
    await store(saved);
    const w = await cycle();
    expect(w.savedField).toMatchObject({ enabled: false, segments: 3 });
    expect(w.fields.itemsAdded[SAVED_FIELD]?.sort()).toEqual(['big', 'sleepers', 'vip']);
    expect(w.fieldsWritten[SAVED_FIELD]).toBeUndefined();
    const it0 = await items();
    expect([...it0.values()].sort((a, b) => Number(a.SORT) - Number(b.SORT)).map((i) => [i.XML_ID, i.VALUE]))
      .toEqual([['big', 'Big spenders'], ['vip', 'VIP'], ['sleepers', 'Sleeping']]);
    expect(countOf(await readBack())).toBe(0);
    // the overlaps this test is about exist in the data
    const overlap = labels.filter((l) => saved[0]!.test(l) && saved[1]!.test(l)).length;
    expect(overlap).toBeGreaterThan(3);
    expect(labels.filter((l) => saved[0]!.test(l) && !saved[1]!.test(l)).length).toBeGreaterThan(3);
  });

  it('option on: each contact holds its highest-priority saved segment; a crash resumes; a second run writes 0', async () => {
    await enable(true);
    const want = expected(labels, saved);
    const n = countOf(want);
    const part = await cycle({ maxWrites: 15 }); // a crash after 15 contacts …
    expect(part.written).toBe(15);
    expect(part.fieldsWritten[SAVED_FIELD]).toBe(15);
    const rest = await runWriteBack(db, portalId, client()); // … resumes with what is left
    expect(rest.fieldsWritten[SAVED_FIELD]).toBe(n - 15);
    expect(part.written + rest.written).toBe(n); // only this field changed, each contact written once
    expect(rest.failed + rest.unresolved).toBe(0);
    expect(await readBack()).toEqual(want);
    // overlap resolved by priority: big (9) over vip (5)
    const both = labels.find((l) => saved[0]!.test(l) && saved[1]!.test(l))!;
    const reg = await loadRegistry(db, portalId, 'contact');
    const item = await client().call<Record<string, unknown>>('crm.item.get', { entityTypeId: 3, id: both.contactId });
    expect(Number((item.item as Record<string, unknown>).ufCrmSegSaved)).toBe(reg.get(SAVED_FIELD)!.items.big);

    const again = await cycle();
    expect(again.written).toBe(0);
    expect(again.requests).toBeLessThanOrEqual(2);
  });

  it('a priority change flips the overlapping contacts on the next run; a rename only renames the item', async () => {
    const before = expected(labels, saved);
    const idsBefore = new Map([...(await items())].map(([k, v]) => [k, v.ID]));
    saved = saved.map((s) => (s.id === 'vip' ? { ...s, priority: 20 } : s.id === 'big' ? { ...s, name: 'Top revenue' } : s));
    await store(saved);
    const w = await cycle();
    const after = expected(labels, saved);
    const flipped = [...after].filter(([id, v]) => before.get(id) !== v);
    expect(flipped.length).toBe(labels.filter((l) => saved[0]!.test(l) && saved[1]!.test(l)).length);
    expect(flipped.every(([, v]) => v === 'vip')).toBe(true);
    expect(w.fieldsWritten[SAVED_FIELD]).toBe(flipped.length);
    expect(w.written).toBe(flipped.length);
    expect(await readBack()).toEqual(after);
    const it1 = await items();
    expect(it1.get('big')!.VALUE).toBe('Top revenue');
    expect(new Map([...it1].map(([k, v]) => [k, v.ID]))).toEqual(idsBefore); // same item IDs
    expect([...it1.values()].sort((a, b) => Number(a.SORT) - Number(b.SORT)).map((i) => i.XML_ID)).toEqual(['vip', 'big', 'sleepers']);
    expect((await cycle()).written).toBe(0);
  });

  it('deleting a saved segment rewrites its contacts (next segment or empty) and removes its item', async () => {
    const before = expected(labels, saved);
    saved = saved.filter((s) => s.id !== 'vip');
    await store(saved);
    const w = await cycle();
    const after = expected(labels, saved);
    const moved = [...before].filter(([, v]) => v === 'vip');
    expect(moved.length).toBeGreaterThan(0);
    expect(w.fieldsWritten[SAVED_FIELD]).toBe(moved.length);
    expect(moved.some(([id]) => after.get(id) === null)).toBe(true); // some end up in no saved segment
    expect(moved.some(([id]) => after.get(id) === 'big')).toBe(true);
    expect(w.savedField.itemsRemoved).toEqual(['vip']);
    expect([...(await items()).keys()].sort()).toEqual(['big', 'sleepers']);
    expect(await readBack()).toEqual(after);
    const again = await cycle();
    expect(again.written).toBe(0);
    expect(again.requests).toBeLessThanOrEqual(2);
  });

  it('option off freezes the values (held items kept); the explicit clear empties them; on again writes them back', async () => {
    const frozen = await readBack();
    await enable(false);
    saved = saved.filter((s) => s.id !== 'big');
    await store(saved);
    const off = await cycle();
    expect(off.fieldsWritten[SAVED_FIELD]).toBeUndefined();
    expect(off.written).toBe(0);
    expect(off.savedField.itemsKept).toEqual(['big']); // contacts still hold it
    expect((await items()).has('big')).toBe(true);
    expect(await readBack()).toEqual(frozen);

    const cleared = await clearSavedSegmentField(client(), db, portalId);
    expect(cleared).toEqual({ cleared: countOf(frozen), failed: 0 });
    expect(countOf(await readBack())).toBe(0);
    const afterClear = await cycle(); // still off: nothing written, and now the unheld item goes
    expect(afterClear.written).toBe(0);
    expect(afterClear.savedField.itemsRemoved).toEqual(['big']);
    expect([...(await items()).keys()]).toEqual(['sleepers']);

    await enable(true);
    const on = await cycle();
    const want = expected(labels, saved);
    expect(on.fieldsWritten[SAVED_FIELD]).toBe(countOf(want));
    expect(await readBack()).toEqual(want);
    expect((await cycle()).written).toBe(0);
  });
});

eachDb('saved segment in the normal cycle', (getDb) => {
  let db: Db;
  let portalId: number;

  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 150, deals: 500, seed: 44, timeScale: TS });
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: 'sc', domain: 'sc.bitrix24.com', language: 'en' })).id;
  });
  afterAll(async () => {
    await tp?.emu.close();
  });

  const reconcile = async () => {
    const c = client();
    const ctx = {
      db, portalId, data: { portalId, kind: 'auto' }, client: () => c, signal: new AbortController().signal,
      log: { debug() {}, info() {}, warn() {}, error() {} }, workerId: 'test', jobId: 'test',
    } satisfies JobContext;
    return (await defaultProcessors.reconcile(ctx)) as { writeBack: { written: number; failed: number } };
  };
  /** expected saved segment per contact from the latest run's labels */
  const want = async (list: Saved[]) => {
    const run = (await latestScoreRun(db, portalId))!;
    return expected(await queryContactLabels(db, portalId, run.id, { limit: 100_000 }), list);
  };
  const actual = () => {
    // the portal's own record (REST read-back is covered above; here: every contact, including unlabelled ones)
    const reg = loadRegistry(db, portalId, 'contact');
    return reg.then((r) => {
      const byItem = new Map(Object.entries(r.get(SAVED_FIELD)!.items).map(([code, id]) => [id, code]));
      return new Map([...tp.emu.portal.contacts.values()].map((c) => {
        const v = c.uf[SAVED_FIELD];
        return [c.id, v === undefined || v === null || v === '' ? null : byItem.get(Number(v)) ?? `#${String(v)}`] as const;
      }));
    });
  };

  it('reconcile writes the field; a second cycle writes 0; a segment saved meanwhile is picked up by the next cycle', async () => {
    let list: Saved[] = [
      { id: 'regulars', name: 'Regulars', priority: 2, filter: { all: [{ field: 'lifecycle', values: ['regular'] }] }, test: (l) => l.lifecycle === 'regular' },
      { id: 'best', name: 'Best', priority: 4, filter: { all: [{ field: 'segment', values: ['champions', 'loyal'] }] },
        test: (l) => l.segment === 'champions' || l.segment === 'loyal' },
    ];
    await updatePortalSettings(db, portalId, { segmentField: { enabled: true }, savedSegments: list.map(({ id, name, priority, filter }) => ({ id, name, priority, filter })) });
    const first = await reconcile();
    expect(first.writeBack.failed).toBe(0);
    const w1 = await want(list);
    expect(countOf(w1)).toBeGreaterThan(5);
    const got1 = await actual();
    for (const [id, v] of w1) expect([id, got1.get(id)]).toEqual([id, v]);

    const second = await reconcile(); // the real sync reads the values back (legacy item IDs): nothing to write
    expect(second.writeBack.written).toBe(0);

    list = [...list, { id: 'sleepers', name: 'Sleeping', priority: 9, filter: { all: [{ field: 'sleeping', value: true }] }, test: (l) => l.sleeping === true }];
    await updatePortalSettings(db, portalId, { savedSegments: list.map(({ id, name, priority, filter }) => ({ id, name, priority, filter })) });
    const third = await reconcile();
    const w3 = await want(list);
    const changed = [...w3].filter(([id, v]) => w1.get(id) !== v).length;
    expect(changed).toBeGreaterThan(0);
    expect(third.writeBack.written).toBe(changed);
    const got3 = await actual();
    for (const [id, v] of w3) expect([id, got3.get(id)]).toEqual([id, v]);
  });

  function countOf(m: Map<number, string | null>): number {
    return [...m.values()].filter((v) => v !== null).length;
  }
});
