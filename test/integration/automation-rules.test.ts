/**
 * Automation rules against the emulator: a contact that falls asleep / enters a chosen segment
 * gets, per rule, a timeline comment, a to-do for its responsible manager, or a business
 * process started on the contact document. Each rule fires exactly once per transition:
 *  - the first evaluation is a baseline (no firing for contacts already asleep);
 *  - evaluating / sending again, or a second sender running at the same time, calls nothing twice;
 *  - a firing claimed by a process that died before the answer becomes 'unknown', not re-sent;
 *  - waking up and falling asleep again is a new transition and fires again.
 */
import axios from 'axios';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { MemoryTokenSource } from '../../src/b24/auth.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { createTokenCipher, setTokenCipher, updatePortalSettings, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { runSync } from '../../src/sync/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { evaluateAutomation, runAutomation, runPendingFirings } from '../../src/automation/engine.js';
import { automationSettingsSchema } from '../../src/settings/index.js';
import { eachDb } from '../helpers/db.js';

const TS = 100;
let emu: RunningEmulator;
let client: B24Client;
const TEMPLATE_ID = 41;

beforeAll(async () => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
  const portal = new Portal({ plan: 'standard', clock: new PortalClock(Date.now(), TS) });
  generatePortal(portal, { contacts: 250, deals: 1000, seed: 3 });
  portal.bizprocTemplates.push({ id: TEMPLATE_ID, moduleId: 'crm', entity: 'CCrmDocumentContact', documentType: ['crm', 'CCrmDocumentContact', 'CONTACT'], name: 'Promo code for sleepers', autoExecute: 0 });
  emu = await startEmulator({ port: 0, portal, hostPage: false, log: () => {} });
  const admin = axios.create({ baseURL: `${emu.url}_emulator/`, validateStatus: () => true });
  const inst = await admin.post('apps/install', { appUrl: 'http://127.0.0.1:9/app', scopes: ['crm', 'user', 'bizproc'], mode: 'wizard' });
  const { clientId, clientSecret } = inst.data.app as { clientId: string; clientSecret: string };
  await admin.post(`apps/${clientId}/install-finish`);
  type Tok = { access_token: string; refresh_token: string; client_endpoint: string; server_endpoint: string; expires_in: number };
  let t: Tok | null = null;
  for (let i = 0; i < 20 && !t; i++) {
    const code = (await admin.post(`apps/${clientId}/auth-code`, {})).data.code as string;
    const tok = await axios.get(`${emu.url}oauth/token/`, { params: { grant_type: 'authorization_code', client_id: clientId, client_secret: clientSecret, code }, validateStatus: () => true });
    if (tok.status === 200) t = tok.data as Tok;
  }
  const tokens = new MemoryTokenSource({
    accessToken: t!.access_token, refreshToken: t!.refresh_token, clientEndpoint: t!.client_endpoint, expiresAt: portal.clock.now() + t!.expires_in * 1000,
    clientId, clientSecret, serverEndpoint: t!.server_endpoint,
  });
  client = new B24Client({ tokens, limiter: { plan: 'standard', timeScale: TS }, retryBaseMs: 20 });
}, 120_000);
afterAll(async () => {
  await emu?.close();
});

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

it('rule settings are validated', () => {
  expect(automationSettingsSchema.safeParse({ rules: [{ id: 'a', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: 'hi' } }] }).success).toBe(true);
  expect(automationSettingsSchema.safeParse({ rules: [{ id: 'a', trigger: { type: 'enteredSegment', segment: 'nope' }, action: { type: 'comment', text: 'hi' } }] }).success).toBe(false);
  expect(automationSettingsSchema.safeParse({ rules: [{ id: 'a', trigger: { type: 'becameSleeping' }, action: { type: 'workflow' } }] }).success).toBe(false);
  const dup = { id: 'a', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: 'x' } };
  expect(automationSettingsSchema.safeParse({ rules: [dup, dup] }).success).toBe(false);
});

eachDb('automation rules', (getDb, { kind }) => {
  let db: Db;
  let portalId: number;
  const p = () => emu.portal;
  const counts = () => ({ comments: p().timelineComments.length, todos: p().todos.length, workflows: p().workflowStarts.length });

  async function expectedTransitions(asOf: string) {
    // state before (what the automation saw) vs labels of a fresh run
    const { rows: before } = await db.query<{ c: number; s: boolean; g: string | null }>(`SELECT contact_id AS c, sleeping AS s, segment AS g FROM automation_contact_state WHERE portal_id = $1`, [portalId]);
    const run = await runScoring(db, portalId, asOf, { reanchorShare: 1 });
    const { rows: after } = await db.query<{ c: number; s: boolean; g: string | null }>(`SELECT contact_id AS c, sleeping AS s, segment AS g FROM contact_labels WHERE portal_id = $1 AND run_id = $2`, [portalId, run.runId]);
    const b = new Map(before.map((r) => [Number(r.c), r]));
    let sleep = 0;
    let lost = 0;
    for (const a of after) {
      const x = b.get(Number(a.c));
      if (!x) continue;
      if (!x.s && a.s) sleep++;
      if (x.g !== 'lost' && a.g === 'lost') lost++;
    }
    return { sleep, lost };
  }

  beforeAll(async () => {
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: `auto-${kind}`, domain: 'auto.bitrix24.com', status: 'active' })).id;
    await runSync({ db, portalId, client }, { kind: 'full' });
  }, 120_000);

  it('fires each rule exactly once per transition', async () => {
    const c0 = counts();
    // baseline: today's labels, no rules yet → state only, nothing sent
    await runScoring(db, portalId, day(0));
    const base = await evaluateAutomation(db, portalId);
    expect(base.baseline).toBeGreaterThan(200);
    expect(base.firingsCreated).toBe(0);

    await updatePortalSettings(db, portalId, {
      automation: {
        rules: [
          { id: 'sleep-comment', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: '{name} fell asleep ({prevSegment} → {segment})' } },
          { id: 'sleep-todo', trigger: { type: 'becameSleeping' }, action: { type: 'todo', title: 'Call {name}', description: 'Send the promo code', deadlineDays: 2 } },
          { id: 'lost-bp', trigger: { type: 'enteredSegment', segment: 'lost' }, action: { type: 'workflow', templateId: TEMPLATE_ID } },
        ],
      },
    });
    // 400 days later, same thresholds: many customers are overdue
    const exp = await expectedTransitions(day(400));
    expect(exp.sleep).toBeGreaterThan(10);
    const a = await runAutomation(db, portalId, client);
    expect(a.evaluate.transitions.becameSleeping).toBe(exp.sleep);
    expect(a.evaluate.firingsCreated).toBe(2 * exp.sleep + exp.lost);
    expect(a.firings.done).toBe(2 * exp.sleep + exp.lost);
    expect(a.firings.failed + a.firings.unknown).toBe(0);
    const c1 = counts();
    expect(c1.comments - c0.comments).toBe(exp.sleep);
    expect(c1.todos - c0.todos).toBe(exp.sleep);
    expect(c1.workflows - c0.workflows).toBe(exp.lost);

    // the calls carry the contact: to-do for its responsible manager, the contact document
    const todo = p().todos.at(-1)!;
    expect(todo.ownerTypeId).toBe(3);
    expect(todo.responsibleId).toBe(p().contacts.get(todo.ownerId)!.assignedById);
    expect(todo.title).toMatch(/^Call /);
    if (exp.lost) expect(p().workflowStarts.at(-1)!.documentId).toEqual(['crm', 'CCrmDocumentContact', expect.stringMatching(/^CONTACT_\d+$/)]);
    const com = p().timelineComments.at(-1)!;
    expect(com.entityType).toBe('contact');
    expect(com.comment).toMatch(/fell asleep/);

    // again: same labels, same run as-of, re-evaluated and re-sent → nothing new
    await runScoring(db, portalId, day(400), { reanchorShare: 1 });
    const again = await runAutomation(db, portalId, client);
    expect(again.evaluate.firingsCreated).toBe(0);
    expect(again.firings.done).toBe(0);
    expect(counts()).toEqual(c1);
    // a duplicate insert of an existing transition is a no-op (unique key)
    const { rows: [one] } = await db.query<{ rule_id: string; contact_id: number; transition_key: string }>(`SELECT rule_id, contact_id, transition_key FROM automation_firings WHERE portal_id = $1 LIMIT 1`, [portalId]);
    const ins = await db.query(`INSERT INTO automation_firings (portal_id, rule_id, contact_id, transition_key, action) VALUES ($1, $2, $3, $4, 'comment') ON CONFLICT DO NOTHING`, [portalId, one!.rule_id, one!.contact_id, one!.transition_key]);
    expect(ins.rowCount).toBe(0);
  });

  it('a claim left by a dead process is never re-sent; a new episode fires again, once, with two senders', async () => {
    const c1 = counts();
    const contact = [...p().contacts.keys()][0]!;
    await db.query(
      `INSERT INTO automation_firings (portal_id, rule_id, contact_id, transition_key, action, status, updated_at)
       VALUES ($1, 'sleep-comment', $2, 'sleeping:99', 'comment', 'sending', now() - interval '1 hour')`, [portalId, contact],
    );
    const r = await runPendingFirings(db, portalId, client);
    expect(r.recovered).toBe(1);
    expect(counts()).toEqual(c1);
    const { rows: [u] } = await db.query<{ status: string }>(`SELECT status FROM automation_firings WHERE portal_id = $1 AND transition_key = 'sleeping:99'`, [portalId]);
    expect(u!.status).toBe('unknown');

    // wake up (back to today): no firing for waking up
    await runScoring(db, portalId, day(0), { reanchorShare: 1 });
    const wake = await evaluateAutomation(db, portalId);
    expect(wake.firingsCreated).toBe(0);
    // asleep again: second episode → fires again; two senders at once send each firing once
    const exp = await expectedTransitions(day(400));
    expect(exp.sleep).toBeGreaterThan(10);
    const ev = await evaluateAutomation(db, portalId);
    expect(ev.firingsCreated).toBe(2 * exp.sleep + exp.lost);
    const [s1, s2] = await Promise.all([runPendingFirings(db, portalId, client), runPendingFirings(db, portalId, client)]);
    expect(s1.done + s2.done).toBe(2 * exp.sleep + exp.lost);
    const c2 = counts();
    expect(c2.comments - c1.comments).toBe(exp.sleep);
    expect(c2.todos - c1.todos).toBe(exp.sleep);
    const { rows: keys } = await db.query<{ k: string; n: number }>(
      `SELECT transition_key AS k, count(*)::int AS n FROM automation_firings WHERE portal_id = $1 AND rule_id = 'sleep-comment' AND status = 'done' GROUP BY 1 ORDER BY 1`, [portalId],
    );
    expect(keys.map((k) => k.k)).toContain('sleeping:2');
  });
});
