/**
 * Campaigns against the emulator (src/campaigns): a campaign from a saved segment freezes its
 * members, draws treatment / holdout by the documented hash (recomputed here from the stored seed),
 * writes the group into UF_CRM_SEG_CAMPAIGN_GROUP (read back from the portal), sends its steps to
 * the treatment group only, at most once, and drops from a later step a member who got a won deal
 * (made in the emulator between the steps). The measurement is recomputed from the emulator's own
 * deal records (not the store's SQL).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { B24Client } from '../../src/b24/client.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { createCampaign, measureCampaign, runDueSteps, CampaignError } from '../../src/campaigns/index.js';
import { createTokenCipher, setTokenCipher, updatePortalSettings, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { removeAppFields, restoreAppFields } from '../../src/writeback/remove-fields.js';
import { eachDb } from '../helpers/db.js';
import { startCampaignPortal, wonDealsByContact } from './helpers/campaign-portal.js';

let emu: RunningEmulator;
let client: B24Client;
const DAY = 86_400_000;
const FIELD = 'UF_CRM_SEG_CAMPAIGN_GROUP';

beforeAll(async () => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
  ({ emu, client } = await startCampaignPortal({ contacts: 300, deals: 1500, seed: 11 }));
}, 120_000);
afterAll(async () => {
  await emu?.close();
});

/** The documented draw, written out again: first 52 bits of sha256(seed:entity:id) / 2^52 < share. */
const expectedHoldout = (seed: string, id: number, share: number) =>
  parseInt(createHash('sha256').update(`${seed}:contact:${id}`).digest('hex').slice(0, 13), 16) / 2 ** 52 < share;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

eachDb('campaigns', (getDb, { kind }) => {
  let db: Db;
  let portalId: number;
  const p = () => emu.portal;

  beforeAll(async () => {
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: `camp-${kind}`, domain: 'camp.bitrix24.com', status: 'active' })).id;
    await runSync({ db, portalId, client }, { kind: 'full' });
    await runScoring(db, portalId);
    await updatePortalSettings(db, portalId, {
      savedSegments: [{ id: 'buyers', name: 'Buyers', filter: { all: [{ field: 'range', key: 'frequency', min: 1 }] }, priority: 0 }],
      effectiveness: { marginPercent: 25 },
    });
  }, 180_000);

  it('full loop: groups, field, steps at most once, a converted member dropped, measurement', async () => {
    const now0 = Date.now();
    const start = now0 - 60 * DAY;
    const input = {
      name: 'Spring promo', savedSegmentId: 'buyers', entity: 'contact', holdoutShare: 0.1, windowDays: 90,
      action: { type: 'comment', text: 'Promo {step} for {name} ({campaign})' },
      steps: [
        { kind: 'start', at: new Date(start).toISOString() },
        { kind: 'reminder', at: new Date(start + 20 * DAY).toISOString(), action: { type: 'comment', text: 'Reminder for {name}' } },
      ],
      costFixed: 100, costPerMessage: 0.5, startAt: new Date(start).toISOString(), requestKey: `k-${kind}`,
    };
    const made = await createCampaign(db, portalId, input, new Date(now0), 1);
    expect(made.created).toBe(true);
    // repeated create with the same key: the same campaign, nothing new
    const again = await createCampaign(db, portalId, input, new Date(now0), 1);
    expect(again).toMatchObject({ id: made.id, created: false, members: made.members });

    // members = the contacts with a purchase (frequency ≥ 1) in the latest run: recounted from the emulator's won deals
    const won = wonDealsByContact(p(), 25);
    const { rows: lab } = await db.query<{ id: number }>(`SELECT contact_id AS id FROM contact_labels WHERE portal_id = $1 AND run_id = (SELECT max(id) FROM score_runs WHERE portal_id = $1 AND status = 'done') AND frequency >= 1`, [portalId]);
    expect(made.members).toBe(lab.length);
    const buyers = [...won.keys()].filter((c) => p().contacts.has(c));
    expect(made.members).toBe(buyers.length);

    const { rows: [camp] } = await db.query<{ seed: string }>(`SELECT seed FROM campaigns WHERE portal_id = $1 AND id = $2`, [portalId, made.id]);
    const { rows: mem } = await db.query<{ id: number; grp: string }>(`SELECT customer_id AS id, grp FROM campaign_members WHERE portal_id = $1 AND campaign_id = $2`, [portalId, made.id]);
    const holdoutIds = new Set(buyers.filter((c) => expectedHoldout(camp!.seed, c, 0.1)));
    expect(made.holdout).toBe(holdoutIds.size);
    for (const m of mem) expect([m.id, m.grp]).toEqual([Number(m.id), holdoutIds.has(Number(m.id)) ? 'holdout' : 'treatment']);
    expect(made.holdout / made.members).toBeGreaterThan(0.03);
    expect(made.holdout / made.members).toBeLessThan(0.2);
    const treatment = buyers.filter((c) => !holdoutIds.has(c));

    // step 1 ("start"), run the day after the start
    const c0 = p().timelineComments.length;
    const r1 = await runDueSteps(db, client, portalId, new Date(start + DAY));
    expect(r1.fields.written).toBe(made.members);
    const startDay = dayOf(start);
    const convertedBy = (day: string) => new Set(treatment.filter((c) => (won.get(c) ?? []).some((d) => d.day >= startDay && d.day <= day)));
    const dropped1 = convertedBy(dayOf(start + DAY));
    expect(r1.planned).toEqual([{ campaignId: made.id, step: 0, kind: 'start', targeted: treatment.length - dropped1.size, dropped: dropped1.size }]);
    expect(r1.done).toBe(treatment.length - dropped1.size);
    expect(r1.failed + r1.unknown + r1.skipped).toBe(0);
    const sent1 = p().timelineComments.slice(c0);
    expect(sent1.map((c) => c.entityId).sort((a, b) => a - b)).toEqual(treatment.filter((c) => !dropped1.has(c)).sort((a, b) => a - b));
    expect(sent1.every((c) => c.entityType === 'contact' && c.comment.startsWith('Promo start for ') && c.comment.endsWith('(Spring promo)'))).toBe(true);

    // the group field, read back from the portal: every member, holdout included
    for (const id of buyers) {
      const v = p().contacts.get(id)!.uf[FIELD];
      expect([id, v]).toEqual([id, `C${made.id}:${holdoutIds.has(id) ? 'holdout' : 'treatment'}`]);
    }
    const one = await client.call<Record<string, unknown>>('crm.contact.get', { id: treatment[0] });
    expect(one[FIELD]).toBe(`C${made.id}:treatment`);

    // running again sends nothing twice
    const again1 = await runDueSteps(db, client, portalId, new Date(start + 2 * DAY));
    expect(again1.planned).toEqual([]);
    expect(again1.done + again1.fields.written).toBe(0);
    expect(p().timelineComments.length).toBe(c0 + sent1.length);

    // a treatment member who got step 1 buys (a won deal made in the emulator, closed 10 days after the start)
    const buyer = treatment.find((c) => !convertedBy(dayOf(start + 20 * DAY)).has(c))!;
    const wonStage = p().statuses.find((s) => s.entityId === 'DEAL_STAGE' && s.semantics === 'S')!.statusId;
    await client.call('crm.deal.add', { fields: { TITLE: 'after the promo', STAGE_ID: wonStage, CONTACT_ID: buyer, OPPORTUNITY: 1234, CURRENCY_ID: p().currencies.find((c) => c.base)!.currency, CLOSEDATE: dayOf(start + 10 * DAY) } });
    await runSync({ db, portalId, client }, { kind: 'incremental' });

    // step 2 ("reminder") 20 days after the start: the buyer and every other converted member are dropped
    const won2 = wonDealsByContact(p(), 25);
    const dropped2 = new Set(treatment.filter((c) => (won2.get(c) ?? []).some((d) => d.day >= startDay && d.day <= dayOf(start + 20 * DAY))));
    expect(dropped2.has(buyer)).toBe(true);
    const c1 = p().timelineComments.length;
    const r2 = await runDueSteps(db, client, portalId, new Date(start + 20 * DAY));
    expect(r2.planned).toEqual([{ campaignId: made.id, step: 1, kind: 'reminder', targeted: treatment.length - dropped2.size, dropped: dropped2.size }]);
    const sent2 = p().timelineComments.slice(c1);
    expect(sent2.map((c) => c.entityId).sort((a, b) => a - b)).toEqual(treatment.filter((c) => !dropped2.has(c)).sort((a, b) => a - b));
    expect(sent2.some((c) => c.entityId === buyer)).toBe(false);
    expect(sent2.every((c) => c.comment.startsWith('Reminder for '))).toBe(true);
    // the holdout got nothing (the emulator is shared by both database runs: only this run's comments count)
    expect([...sent1, ...sent2].filter((c) => holdoutIds.has(c.entityId))).toEqual([]);

    // measurement, recomputed from the emulator's deals: window [start day, start day + 90) up to today
    const today = dayOf(now0);
    const inWin = (d: { day: string }) => d.day >= startDay && d.day <= today;
    const figures = (ids: number[]) => {
      let purchases = 0, revenue = 0, margin = 0, converted = 0;
      for (const id of ids) {
        const ds = (won2.get(id) ?? []).filter(inWin);
        purchases += ds.length;
        if (ds.length) converted++;
        for (const d of ds) { revenue += d.amount; margin += d.margin; }
      }
      return { n: ids.length, purchases, revenue, margin, converted };
    };
    const T = figures(treatment);
    const H = figures([...holdoutIds]);
    const m = await measureCampaign(db, portalId, made.id, new Date(now0));
    expect(m.treated).toBe(T.n);
    expect(m.holdout).toBe(H.n);
    expect(m.groups.treatment.purchases).toBe(T.purchases);
    expect(m.groups.holdout.purchases).toBe(H.purchases);
    expect(m.groups.treatment.converted).toBe(T.converted);
    expect(m.groups.treatment.revenue).toBeCloseTo(T.revenue, 2);
    expect(m.groups.holdout.revenue).toBeCloseTo(H.revenue, 2);
    expect(m.groups.treatment.margin).toBeCloseTo(T.margin, 2);
    expect(m.groups.holdout.margin).toBeCloseTo(H.margin, 2);
    expect(m.lift).toBeCloseTo(T.purchases / T.n / (H.purchases / H.n) - 1, 10);
    expect(m.incrementalRevenue).toBeCloseTo((T.revenue / T.n - H.revenue / H.n) * T.n, 4);
    const messages = sent1.length + sent2.length;
    expect(m.messages).toBe(messages);
    expect(m.cost).toBeCloseTo(100 + 0.5 * messages, 10);
    expect(m.roi).toBeCloseTo(((T.margin / T.n - H.margin / H.n) * T.n - m.cost) / m.cost, 6);
    expect(m.ciLow!).toBeLessThan(m.lift!);
    expect(m.ciHigh!).toBeGreaterThan(m.lift!);
    expect(m.significant).toBe(m.ciLow! > 0 || m.ciHigh! < 0);
    expect(m.steps.map((s) => [s.kind, s.sends.done ?? 0, s.sends.dropped ?? 0])).toEqual([['start', sent1.length, dropped1.size], ['reminder', sent2.length, dropped2.size]]);
    expect(m.steps[1]!.groups.treatment.members).toBe(treatment.length - dropped2.size);
    expect(m.steps[1]!.groups.treatment.reached).toBe(sent2.length);
    console.log(`campaign ${kind}: members ${made.members}, treated ${m.treated}, holdout ${m.holdout}, lift ${m.lift?.toFixed(3)} [${m.ciLow?.toFixed(3)}, ${m.ciHigh?.toFixed(3)}], incremental revenue ${m.incrementalRevenue?.toFixed(2)}, ROI ${m.roi?.toFixed(3)}`);
  }, 240_000);


  it('after the admin removed the app\'s fields, campaign runs neither re-create them nor write groups; re-created, every group is written again', async () => {
    const fieldOnPortal = () => [...p().userFields.values()].some((f) => f.entityId === 'CRM_CONTACT' && f.fieldName === FIELD);
    expect(fieldOnPortal()).toBe(true);
    await removeAppFields(client, db, portalId);
    expect(fieldOnPortal()).toBe(false);
    const r = await runDueSteps(db, client, portalId, new Date());
    expect(r.fields.written).toBe(0);
    expect(fieldOnPortal()).toBe(false);
    await restoreAppFields(client, db, portalId);
    expect(fieldOnPortal()).toBe(true);
    const r2 = await runDueSteps(db, client, portalId, new Date());
    const { rows: members } = await db.query<{ campaignId: number; id: number; grp: string }>(
      `SELECT campaign_id AS "campaignId", customer_id AS id, grp FROM campaign_members WHERE portal_id = $1 ORDER BY campaign_id, customer_id`, [portalId]);
    expect(members.length).toBeGreaterThan(0);
    expect(r2.fields.written + r2.fields.failed).toBe(members.length);
    // the newest campaign of each customer is what the field holds, read back from the portal
    const newest = new Map<number, string>();
    for (const m of members) newest.set(Number(m.id), `C${m.campaignId}:${m.grp}`);
    for (const [id, v] of newest) if (p().contacts.has(id)) expect([id, p().contacts.get(id)!.uf[FIELD]]).toEqual([id, v]);
  }, 120_000);
  it('refuses bad input, an unknown segment, and keeps portals apart', async () => {
    const base = { name: 'x', savedSegmentId: 'buyers', action: { type: 'comment', text: 'hi' } };
    const code = async (input: unknown, pid = portalId) => {
      try {
        await createCampaign(db, pid, input, new Date());
        return 'created';
      } catch (e) {
        return e instanceof CampaignError ? `${e.status} ${e.code}` : String(e);
      }
    };
    expect(await code({ ...base, holdoutShare: 0 })).toBe('400 BAD_REQUEST');
    expect(await code({ ...base, holdoutShare: 0.6 })).toBe('400 BAD_REQUEST');
    expect(await code({ ...base, windowDays: 45 })).toBe('400 BAD_REQUEST');
    expect(await code({ ...base, name: 'n'.repeat(121) })).toBe('400 BAD_REQUEST');
    expect(await code({ ...base, steps: Array.from({ length: 6 }, () => ({ kind: 'reminder', at: new Date().toISOString() })) })).toBe('400 BAD_REQUEST');
    expect(await code({ ...base, steps: [{ kind: 'start', at: new Date(Date.now() + 400 * DAY).toISOString() }] })).toBe('400 STEP_OUT_OF_RANGE');
    expect(await code({ ...base, portalId: 999 })).toBe('400 BAD_REQUEST');
    expect(await code({ ...base, savedSegmentId: 'nope' })).toBe('404 SEGMENT_NOT_FOUND');
    // another portal has no such segment and no run: nothing of this portal leaks into it
    const other = (await upsertPortalOnInstall(db, { memberId: `camp-other-${kind}`, domain: 'other.bitrix24.com', status: 'active' })).id;
    expect(await code(base, other)).toBe('404 SEGMENT_NOT_FOUND');
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM campaigns WHERE portal_id = $1`, [other]);
    expect(rows[0]!.n).toBe(0);
    await expect(measureCampaign(db, other, 1, new Date())).rejects.toMatchObject({ status: 404 });
  });
});
