/**
 * A campaign of companies (B2B option): the members are the saved segment's companies, the group
 * field is written on the companies (read back from the portal), and the steps reach the companies
 * themselves: a timeline comment on the company and a to-do on the company for its responsible.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { B24Client } from '../../src/b24/client.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { createCampaign, runDueSteps } from '../../src/campaigns/index.js';
import { createTokenCipher, setTokenCipher, updatePortalSettings, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { eachDb } from '../helpers/db.js';
import { startCampaignPortal } from './helpers/campaign-portal.js';

let emu: RunningEmulator;
let client: B24Client;

beforeAll(async () => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
  ({ emu, client } = await startCampaignPortal({ contacts: 150, seed: 5, profile: 'b2b' }));
}, 120_000);
afterAll(async () => {
  await emu?.close();
});

eachDb('campaigns of companies', (getDb, { kind }) => {
  let db: Db;
  let portalId: number;
  const p = () => emu.portal;

  beforeAll(async () => {
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: `camp-b2b-${kind}`, domain: 'campb2b.bitrix24.com', status: 'active' })).id;
    await runSync({ db, portalId, client }, { kind: 'full' });
    await updatePortalSettings(db, portalId, {
      b2b: true,
      savedSegments: [{ id: 'buyers', name: 'Buyers', filter: { all: [{ field: 'range', key: 'frequency', min: 1 }] }, priority: 0 }],
    });
    await runScoring(db, portalId);
  }, 180_000);

  it('freezes the companies, writes their group and reaches them', async () => {
    const { rows: labelled } = await db.query<{ id: number }>(
      `SELECT company_id AS id FROM company_labels WHERE portal_id = $1 AND run_id = (SELECT max(id) FROM score_runs WHERE portal_id = $1 AND status = 'done') AND frequency >= 1`, [portalId]);
    expect(labelled.length).toBeGreaterThan(5);
    const start = Date.now() - 200 * 86_400_000;
    const made = await createCampaign(db, portalId, {
      name: 'B2B offer', savedSegmentId: 'buyers', entity: 'company', holdoutShare: 0.2, windowDays: 30, startAt: new Date(start).toISOString(),
      action: { type: 'comment', text: 'Offer for {name}' },
      steps: [{ kind: 'start', at: new Date(start).toISOString(), action: { type: 'todo', title: 'Call {name}', description: '', deadlineDays: 2 } }],
    }, new Date());
    // every company with a purchase in the run, and only companies (company ids recounted from the emulator)
    expect(made.members).toBe(labelled.length);
    for (const r of labelled) expect(p().companies.has(Number(r.id))).toBe(true);
    const { rows: mem } = await db.query<{ id: number; grp: string }>(`SELECT customer_id AS id, grp FROM campaign_members WHERE portal_id = $1 AND campaign_id = $2`, [portalId, made.id]);
    const t0 = p().todos.length;
    const r = await runDueSteps(db, client, portalId, new Date(start + 86_400_000));
    expect(r.fields.written).toBe(made.members);
    for (const m of mem) expect([m.id, p().companies.get(Number(m.id))!.uf.UF_CRM_SEG_CAMPAIGN_GROUP]).toEqual([m.id, `C${made.id}:${m.grp}`]);
    const todos = p().todos.slice(t0);
    expect(r.done).toBe(todos.length);
    expect(r.planned[0]!.targeted).toBe(todos.length);
    const treatment = new Set(mem.filter((m) => m.grp === 'treatment').map((m) => Number(m.id)));
    expect(todos.length).toBe(treatment.size - r.planned[0]!.dropped);
    for (const td of todos) {
      expect(td.ownerTypeId).toBe(4);
      expect(treatment.has(td.ownerId)).toBe(true);
      const co = p().companies.get(td.ownerId)!;
      expect(td.title).toBe(`Call ${co.title}`);
      expect(td.responsibleId).toBe(co.assignedById);
    }
  }, 240_000);
});
