/**
 * Automation rules on companies (B2B, rule `entity: 'company'`), against a generated B2B emulator
 * portal synced into the store and scored with B2B on. A company that becomes sleeping fires the
 * company rules, on the company: a business process started on the company document
 * (['crm', 'CCrmDocumentCompany', 'COMPANY_<id>']), a to-do owned by the company (ownerTypeId 4) for
 * its responsible, a timeline comment on the company; each read back from the emulator's state,
 * company by company, equal to the companies whose stored labels went from awake to asleep. The
 * contact rules fire for contacts only, the company rules for companies only, each once per
 * transition; the first evaluation of a company is a baseline. The rule estimate counts the
 * companies' transitions. Runs on PGlite and PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTokenCipher, setTokenCipher, updatePortalSettings, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { evaluateAutomation, runAutomation } from '../../src/automation/engine.js';
import { automationSettingsSchema } from '../../src/settings/index.js';
import { eachDb } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';
import { makeClient } from './helpers/sync-env.js';
import { startUiServer, type UiTestServer } from './helpers/ui-server.js';

const TS = 100;
const CO_TEMPLATE = 51;
const CONTACT_TEMPLATE = 52;
let tp: TestPortal;

beforeAll(async () => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
  tp = await startTestPortal({ contacts: 400, seed: 11, timeScale: TS, profile: 'b2b', scopes: ['crm', 'user', 'bizproc'] });
  tp.emu.portal.bizprocTemplates.push(
    { id: CO_TEMPLATE, moduleId: 'crm', entity: 'CCrmDocumentCompany', documentType: ['crm', 'CCrmDocumentCompany', 'COMPANY'], name: 'Win back a sleeping company', autoExecute: 0 },
    { id: CONTACT_TEMPLATE, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Promo for a sleeping contact', autoExecute: 0 },
  );
}, 120_000);
afterAll(async () => {
  await tp?.emu.close();
});

const day = (offset: number) => new Date(tp.emu.portal.clock.now() + offset * 86_400_000).toISOString().slice(0, 10);

it('a rule\'s entity is contact by default; company or contact only', () => {
  const rule = { id: 'a', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: 'hi' } };
  expect(automationSettingsSchema.parse({ rules: [rule] }).rules[0]!.entity).toBe('contact');
  expect(automationSettingsSchema.parse({ rules: [{ ...rule, entity: 'company' }] }).rules[0]!.entity).toBe('company');
  for (const entity of ['deal', 'COMPANY', '', 1, null, ['company']]) expect(automationSettingsSchema.safeParse({ rules: [{ ...rule, entity }] }).success).toBe(false);
});

eachDb('automation rules on companies', (getDb, { kind }) => {
  let db: Db;
  let portalId: number;
  let srv: UiTestServer;
  let slept: number[] = [];
  const p = () => tp.emu.portal;
  const client = () => makeClient(tp.tokens, TS);

  /** Customers of one kind whose stored labels went from awake (state) to asleep (the new run). */
  async function wentToSleep(entity: 'contact' | 'company', runId: number): Promise<number[]> {
    const labels = entity === 'company' ? 'company_labels' : 'contact_labels';
    const idCol = entity === 'company' ? 'company_id' : 'contact_id';
    const { rows: before } = await db.query<{ id: string; s: boolean }>(`SELECT contact_id::text AS id, sleeping AS s FROM automation_contact_state WHERE portal_id = $1 AND entity = $2`, [portalId, entity]);
    const { rows: after } = await db.query<{ id: string; s: boolean }>(`SELECT ${idCol}::text AS id, sleeping AS s FROM ${labels} WHERE portal_id = $1 AND run_id = $2`, [portalId, runId]);
    const was = new Map(before.map((r) => [r.id, r.s]));
    return after.filter((a) => a.s && was.get(a.id) === false).map((a) => Number(a.id)).sort((a, b) => a - b);
  }

  beforeAll(async () => {
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: `auto-co-${kind}`, domain: 'auto-co.bitrix24.com', status: 'active' })).id;
    await runSync({ db, portalId, client: client() }, { kind: 'full' });
    await updatePortalSettings(db, portalId, { b2b: true });
    srv = await startUiServer(db);
  }, 180_000);
  afterAll(async () => {
    await srv?.close();
  });

  it('a company that becomes sleeping fires the company rules on the company, once; contact rules stay on contacts', async () => {
    await runScoring(db, portalId, day(0));
    const base = await evaluateAutomation(db, portalId);
    const { rows: [n] } = await db.query<{ co: number; ct: number }>(
      `SELECT count(*) FILTER (WHERE entity = 'company')::int AS co, count(*) FILTER (WHERE entity = 'contact')::int AS ct FROM automation_contact_state WHERE portal_id = $1`, [portalId]);
    expect(n!.co).toBeGreaterThan(20);
    expect(n!.ct).toBeGreaterThan(100);
    expect(base.baseline).toBe(n!.co + n!.ct);
    expect(base.firingsCreated).toBe(0);

    await updatePortalSettings(db, portalId, {
      automation: {
        rules: [
          { id: 'co-bp', entity: 'company', trigger: { type: 'becameSleeping' }, action: { type: 'workflow', templateId: CO_TEMPLATE } },
          { id: 'co-todo', entity: 'company', trigger: { type: 'becameSleeping' }, action: { type: 'todo', title: 'Call {name} ({companyId})', description: 'now {segment}', deadlineDays: 3 } },
          { id: 'co-note', entity: 'company', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: '{name} fell asleep' } },
          { id: 'ct-bp', trigger: { type: 'becameSleeping' }, action: { type: 'workflow', templateId: CONTACT_TEMPLATE } },
        ],
      },
    });
    const w0 = p().workflowStarts.length;
    const t0 = p().todos.length;
    const c0 = p().timelineComments.length;
    const run = await runScoring(db, portalId, day(400), { reanchorShare: 1 });
    const companies = await wentToSleep('company', run.runId);
    slept = companies;
    const contacts = await wentToSleep('contact', run.runId);
    expect(companies.length).toBeGreaterThan(5);
    expect(contacts.length).toBeGreaterThan(5);

    const a = await runAutomation(db, portalId, client());
    expect(a.evaluate.transitions.becameSleeping).toBe(companies.length + contacts.length);
    const { rows: unk } = await db.query<{ error: string }>(`SELECT error FROM automation_firings WHERE portal_id = $1 AND status = 'unknown'`, [portalId]);
    expect(unk.map((u) => u.error)).toEqual([]);
    expect(a.firings).toMatchObject({ done: 3 * companies.length + contacts.length, failed: 0, unknown: 0, skipped: 0 });

    // read back from the emulator: every company that fell asleep, on its own document / card
    const starts = p().workflowStarts.slice(w0);
    const coDocs = starts.filter((s) => s.templateId === CO_TEMPLATE).map((s) => s.documentId);
    expect(coDocs.map((d) => d[1])).toEqual(companies.map(() => 'CCrmDocumentCompany'));
    expect(coDocs.map((d) => Number(d[2]!.replace(/^COMPANY_/, ''))).sort((x, y) => x - y)).toEqual(companies);
    expect(starts.filter((s) => s.templateId === CONTACT_TEMPLATE).map((s) => Number(s.documentId[2]!.replace(/^CONTACT_/, ''))).sort((x, y) => x - y)).toEqual(contacts);
    const todos = p().todos.slice(t0);
    expect(todos.every((t) => t.ownerTypeId === 4)).toBe(true);
    expect(todos.map((t) => t.ownerId).sort((x, y) => x - y)).toEqual(companies);
    for (const t of todos) {
      const co = p().companies.get(t.ownerId)!;
      expect(t.responsibleId).toBe(co.assignedById);
      expect(t.title).toBe(`Call ${co.title} (${co.id})`);
    }
    const notes = p().timelineComments.slice(c0);
    expect(notes.every((c) => c.entityType === 'company')).toBe(true);
    expect(notes.map((c) => c.entityId).sort((x, y) => x - y)).toEqual(companies);

    // again, same run: nothing new
    const again = await runAutomation(db, portalId, client());
    expect(again.evaluate.firingsCreated).toBe(0);
    expect(p().workflowStarts.length - w0).toBe(companies.length + contacts.length);
  });

  it('the rule estimate and the firings log speak of companies for a company rule; the settings preview re-scores companies', async () => {
    const admin = srv.session(portalId, `auto-co-${kind}`, { admin: true });
    const manager = srv.session(portalId, `auto-co-${kind}`, { user: 2 });
    const rule = { id: 'est', entity: 'company', trigger: { type: 'becameSleeping' }, action: { type: 'todo', title: 'Call {name}' } };
    const e = await srv.call('POST', '/api/ui/automation/estimate', { session: admin, body: { rules: [rule, { ...rule, entity: 'contact' }, { ...rule, entity: 'deal' }] } });
    expect(e.status, e.text).toBe(200);
    const est = e.json.rules as Array<{ expected: number | null; recipients: Array<{ userId: number; count: number }> }>;
    // the last two runs are the ones the firings came from: the same companies
    expect(est[0]!.expected).toBe(slept.length);
    const byResp = new Map<number, number>();
    for (const id of slept) byResp.set(p().companies.get(id)!.assignedById, (byResp.get(p().companies.get(id)!.assignedById) ?? 0) + 1);
    expect(est[0]!.recipients.map((r) => [r.userId, r.count]).sort()).toEqual([...byResp].sort());
    expect(est[1]!.expected).not.toBe(est[0]!.expected);
    expect(est[2]!.expected).toBeNull(); // an unknown entity is not a rule
    expect((await srv.call('POST', '/api/ui/automation/estimate', { session: manager, body: { rules: [rule] } })).status).toBe(403);

    const f = await srv.call('GET', '/api/ui/automation/firings', { session: admin });
    const fired = (f.json.firings as Array<{ ruleId: string; entity: string; contactId: number; contact: string }>).filter((x) => x.ruleId === 'co-note');
    expect(fired.length).toBe(slept.length);
    for (const x of fired) expect([x.entity, x.contact]).toEqual(['company', p().companies.get(x.contactId)!.title]);

    const scoring = ((await srv.call('GET', '/api/ui/settings', { session: admin })).json.settings as { scoring: unknown }).scoring;
    const pv = await srv.call('POST', '/api/ui/settings/preview', { session: admin, body: { scoring, entity: 'company' } });
    expect(pv.status, pv.text).toBe(200);
    const { rows: [cnt] } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM companies WHERE portal_id = $1`, [portalId]);
    expect(cnt!.n).toBe(p().companies.size);
    expect(pv.json.entity).toBe('company');
    expect(pv.json.scored).toBe(p().companies.size);
    const cur = pv.json.current as Record<string, number>;
    expect(Object.values(cur).reduce((a, b) => a + b, 0)).toBe(p().companies.size);
    const ct = await srv.call('POST', '/api/ui/settings/preview', { session: admin, body: { scoring } });
    expect([ct.json.entity, ct.json.scored]).toEqual(['contact', p().contacts.size]);
    for (const entity of ['deal', ['company'], { $ne: 1 }, 'x'.repeat(10_000)]) {
      expect((await srv.call('POST', '/api/ui/settings/preview', { session: admin, body: { scoring, entity } })).status).toBe(400);
    }
  });
});
