/**
 * The refusal reason of companies (issue 14 item 3, B2B), against the emulator over HTTP and the real
 * store, on both databases. A generated B2B portal whose lost deals close in custom lost stages
 * ("Lost: price", …). After a real sync → scoring → write-back with B2B on:
 *  - the field UF_CRM_SEG_REFUSAL_REASON exists on companies (the portal's own user-field table);
 *  - three companies added over REST, each with two deals lost in different stages (one last lost in
 *    a stage no contact's deal is in, so that reason comes from a company only), and the
 *    generated ones: a company whose deals (COMPANY_ID) were all lost holds the reason of its last lost deal,
 *    recomputed here from the emulator's raw deals and read back with crm.company.get;
 *  - every other company holds no reason;
 *  - a second cycle writes no company.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DealRec } from '../../src/emulator/model.js';
import type { Portal } from '../../src/emulator/portal.js';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { runScoring } from '../../src/pipeline/score.js';
import { refusalReasonKey } from '../../src/settings/index.js';
import { createTokenCipher, setTokenCipher, updatePortalSettings } from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';
import { runWriteBack } from '../../src/writeback/write.js';
import { eachDb, type Db } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';
import { createPortalRow, makeClient } from './helpers/sync-env.js';

const TS = 100;
const FIELD = 'UF_CRM_SEG_REFUSAL_REASON';
const ONLY_COMPANY_REASON = 'Lost: budget frozen';

beforeAll(() => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
});

const portalDay = (p: Portal) => new Date(p.clock.now()).toISOString().slice(0, 10);
const stageName = (p: Portal, d: DealRec) =>
  p.statuses.find((s) => s.entityId.startsWith('DEAL_STAGE') && s.statusId === d.stageId)?.name ?? d.stageId;

/**
 * Refused companies and their reason, from the emulator's deals alone: deals whose COMPANY_ID is the
 * company, none won, none open, at least one lost; the reason is the lost stage of the deal that
 * closed last (a tie: the higher deal ID).
 */
function expectedCompanyRefusals(p: Portal): Map<number, string> {
  const byCompany = new Map<number, DealRec[]>();
  for (const d of p.deals.values()) {
    if (!d.companyId) continue;
    byCompany.set(d.companyId, [...(byCompany.get(d.companyId) ?? []), d]);
  }
  const out = new Map<number, string>();
  for (const [id, deals] of byCompany) {
    const sem = deals.map((d) => stageSemantic(p, d.stageId));
    if (sem.includes('S') || sem.includes('P')) continue;
    const lost = deals.filter((_, i) => sem[i] === 'F').sort((a, b) => a.closeDate.localeCompare(b.closeDate) || a.id - b.id);
    out.set(id, stageName(p, lost[lost.length - 1]!));
  }
  return out;
}

eachDb('refusal reasons of companies (B2B)', (getDb) => {
  let tp: TestPortal;
  let db: Db;
  let pid: number;
  const client = () => makeClient(tp.tokens, TS);
  const cycle = async () => {
    const c = client();
    await runSync({ db, portalId: pid, client: c }, { kind: 'full' });
    const s = await runScoring(db, pid, portalDay(tp.emu.portal));
    return { s, w: await runWriteBack(db, pid, c) };
  };

  beforeAll(async () => {
    // two cycles on one portal day (the second writes nothing), however late in the UTC day the test runs
    tp = await startTestPortal({ contacts: 300, deals: 900, seed: 41, timeScale: TS, profile: 'b2b', gen: { refusals: 'stages' }, awayFromMidnight: true });
    db = getDb();
    pid = await createPortalRow(db);
    await updatePortalSettings(db, pid, { b2b: true });
  });
  afterAll(async () => {
    await tp?.emu.close();
  });

  /** Three companies added over REST, each with two deals lost in different stages: the later one names the reason. */
  const addLostCompanies = async () => {
    const p = tp.emu.portal;
    const lostStages = p.statuses.filter((st) => st.entityId === 'DEAL_STAGE' && stageSemantic(p, st.statusId) === 'F').map((st) => st.statusId);
    expect(lostStages.length).toBeGreaterThan(1);
    // a lost stage the portal admin adds now: no contact's deal is in it, so only a company brings this reason
    p.statuses.push({
      id: Math.max(...p.statuses.map((st) => st.id)) + 1, entityId: 'DEAL_STAGE', statusId: 'LOSE_BUDGET', name: ONLY_COMPANY_REASON,
      sort: 990, system: false, categoryId: 0, color: null, semantics: 'F',
    });
    lostStages.unshift('LOSE_BUDGET');
    const c = client();
    const day = portalDay(p);
    const earlier = (n: number) => new Date(Date.parse(`${day}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
    for (let i = 0; i < 3; i++) {
      const id = await c.call<number>('crm.company.add', { fields: { TITLE: `Refused Co ${i}` } });
      const [first, last] = [lostStages[(i + 1) % lostStages.length]!, lostStages[i % lostStages.length]!];
      for (const [stage, ago] of [[first, 40 + i], [last, 10 + i]] as const) {
        await c.call('crm.deal.add', { fields: { TITLE: `Lost ${i}`, COMPANY_ID: id, STAGE_ID: stage, OPPORTUNITY: 100, CLOSEDATE: earlier(ago) } });
      }
    }
  };

  it('a company whose deals were all lost holds the reason of its last lost deal (crm.company.get)', async () => {
    await addLostCompanies();
    const { s, w } = await cycle();
    expect(s.companies).not.toBeNull();
    expect(w.companies!.failed).toBe(0);
    const p = tp.emu.portal;
    const field = [...p.userFields.values()].find((u) => u.entityId === 'CRM_COMPANY' && u.fieldName === FIELD);
    expect(field).toBeDefined();
    const items = new Map(field!.list.map((i) => [i.id, i.value]));
    const expected = expectedCompanyRefusals(p);
    // the portal has refused companies, with more than one reason among them
    expect(expected.size).toBeGreaterThan(3);
    expect(new Set([...expected.values()].map(refusalReasonKey)).size).toBeGreaterThan(1);
    // the company-only reason is an item of the field, held by the company whose last lost deal is in that stage
    expect([...expected.values()].filter((r) => r === ONLY_COMPANY_REASON)).toHaveLength(1);
    expect([...items.values()]).toContain(ONLY_COMPANY_REASON);
    const c = client();
    for (const [id, reason] of expected) {
      const got = await c.call<Record<string, unknown>>('crm.company.get', { id });
      const item = items.get(Number(got[FIELD]));
      expect([id, item === undefined ? null : refusalReasonKey(item)]).toEqual([id, refusalReasonKey(reason)]);
    }
    // no other company holds a reason
    for (const co of p.companies.values()) {
      if (expected.has(co.id)) continue;
      const v = co.uf[FIELD];
      expect([co.id, v === undefined || v === null || v === '' || v === false]).toEqual([co.id, true]);
    }
  });

  it('a second cycle writes no company', async () => {
    const { w } = await cycle();
    expect(w.companies!.written).toBe(0);
    expect(w.companies!.failed).toBe(0);
  });
});
