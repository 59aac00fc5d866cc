/**
 * Incremental rescoring (pipeline/incremental.ts, events/rescore-cycle.ts) after a real sync from the
 * emulator: 3 deals change in the CRM, the incremental pull stores them, and the cycle's scoring
 * rescores the contacts of those deals (read from the emulator) and the few the pull re-read in its
 * overlap, in place (a contact edited in the CRM is read again, not rescored); every other contact's label row is byte-for-byte what it was; the rescored contacts' levels, cell, segment and
 * deal figures equal those of a full run with the same (pinned) thresholds. A full run is forced when
 * the day changes or the settings change.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { createTokenCipher, setTokenCipher, upsertPortalOnInstall, updatePortalSettings } from '../../src/store/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runCycleScoring } from '../../src/events/rescore-cycle.js';
import { runSync } from '../../src/sync/index.js';
import { eachDb, type Db } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';

beforeAll(() => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
});

type Row = Record<string, unknown> & { contact_id: string };
const labelsOf = async (db: Db, portalId: number, runId: number) =>
  new Map((await db.query<Row>(`SELECT * FROM contact_labels WHERE portal_id = $1 AND run_id = $2`, [portalId, runId])).rows.map((r) => [Number(r.contact_id), JSON.stringify(r)]));

eachDb('incremental rescoring', (getDb) => {
  let tp: TestPortal;
  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 300, deals: 1200, seed: 41, timeScale: 100 });
  });
  afterAll(async () => {
    await tp?.emu.close();
  });

  it('rescores only the contacts of the changed deals, in place, as a full run with the same thresholds labels them', async () => {
    const db = getDb();
    const portalId = (await upsertPortalOnInstall(db, { memberId: 'incr', domain: 'incr.bitrix24.com', language: 'en' })).id;
    const client = new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: 100 } });
    const day = () => new Date(tp.emu.portal.clock.now()).toISOString().slice(0, 10);
    await runSync({ db, client, portalId }, { kind: 'full' });
    const first = await runCycleScoring(db, portalId, day());
    expect([first.mode, first.fullReason]).toEqual(['full', 'no previous full run with a sync mark']);
    const before = await labelsOf(db, portalId, first.runId);

    // three won deals change their amount in the CRM
    const won = [...tp.emu.portal.deals.values()].filter((d) => d.stageId === 'WON' && d.contactIds.length > 0);
    const changed = [won[3]!, won[40]!, won[90]!];
    for (const d of changed) {
      d.opportunity = Math.round(d.opportunity * 5 + 1000);
      d.dateModify = tp.emu.portal.clock.now();
    }
    const touched = [...new Set(changed.flatMap((d) => d.contactIds))].sort((a, b) => a - b);
    // a contact edited in the CRM (as the write-back's own writes do) is read again but is no change for scoring
    const edited = [...tp.emu.portal.contacts.values()].find((c) => !touched.includes(c.id) && before.has(c.id))!;
    edited.name = `${edited.name ?? ''} edited`;
    edited.dateModify = tp.emu.portal.clock.now();
    tp.emu.portal.clock.advance(60_000);
    await runSync({ db, client, portalId }, { kind: 'incremental' });
    const second = await runCycleScoring(db, portalId, day());
    expect(second.fullReason).toBeUndefined();
    expect([second.mode, second.runId]).toEqual(['partial', first.runId]);
    // the incremental pull also re-reads the rows modified around its watermark (its overlap): those
    // contacts count as touched too; a handful, not the portal
    expect(second.rescored).toBeGreaterThanOrEqual(touched.length);
    expect(second.rescored).toBeLessThanOrEqual(10);
    const after = await labelsOf(db, portalId, first.runId);
    expect(after.size).toBe(before.size);
    const rewritten = [...after].filter(([id, row]) => before.get(id) !== row).map(([id]) => id).sort((a, b) => a - b);
    // the rescored rows changed (the changed deals' contacts among them); nobody else's did
    expect(rewritten.length).toBe(second.rescored);
    expect(touched.filter((id) => !rewritten.includes(id))).toEqual([]);
    expect(rewritten).not.toContain(edited.id);
    expect((await db.query(`SELECT name FROM contacts WHERE portal_id = $1 AND id = $2`, [portalId, edited.id])).rows[0]).toEqual({ name: edited.name });

    // a full run on the same data, thresholds pinned: the same labels for the touched contacts
    const full = await runScoring(db, portalId, day());
    expect(full.thresholds).toBe('pinned');
    const cols = `contact_id, segment, rfm, r, f, m, frequency, monetary, last_purchase, lifecycle, sleeping`;
    const q = (runId: number) => db.query(`SELECT ${cols} FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND contact_id = ANY($3::bigint[]) ORDER BY contact_id`, [portalId, runId, touched]);
    expect((await q(first.runId)).rows).toEqual((await q(full.runId)).rows);

    // nothing changed: an incremental cycle rescores nobody
    const idle = await runCycleScoring(db, portalId, day());
    expect([idle.mode, idle.rescored]).toEqual(['partial', 0]);
    // the next day, or other settings: a full run, with the reason
    const nextDay = new Date(Date.parse(`${day()}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    expect((await runCycleScoring(db, portalId, nextDay)).fullReason).toBe('the day changed');
    await updatePortalSettings(db, portalId, { writeback: { tolerance: 0.07 } });
    expect((await runCycleScoring(db, portalId, nextDay)).fullReason).toBe('the settings changed');
  });
});
