/**
 * Automation on a specific move (segment A → B) and on a lifecycle change (issue 14 item 5),
 * against the emulator: the expected contacts are read from the stored labels of the two runs
 * (what the automation compares) and matched, contact by contact, with the firings and with the
 * timeline comments / to-dos the portal received. A rule for the reverse move fires for nobody;
 * a contact whose stage the automation had not seen yet (state from before migration 011) only
 * gets its baseline.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { createTokenCipher, setTokenCipher, updatePortalSettings, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { runScoring } from '../../src/pipeline/score.js';
import { evaluateAutomation, runAutomation } from '../../src/automation/engine.js';
import { automationSettingsSchema } from '../../src/settings/index.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { eachDb } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';

const TS = 100;
let tp: TestPortal;
beforeAll(() => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
});

it('move and lifecycle triggers are validated', () => {
  const rule = (trigger: unknown) => automationSettingsSchema.safeParse({ rules: [{ id: 'a', trigger, action: { type: 'comment', text: 'x' } }] });
  expect(rule({ type: 'movedSegment', from: 'loyal', to: 'at_risk' }).success).toBe(true);
  expect(rule({ type: 'movedSegment', from: 'loyal' }).success).toBe(false);
  expect(rule({ type: 'movedSegment', from: 'loyal', to: 'nope' }).success).toBe(false);
  const same = rule({ type: 'movedSegment', from: 'loyal', to: 'loyal' });
  expect(same.success).toBe(false);
  expect(same.error!.issues[0]).toMatchObject({ path: ['rules', 0, 'trigger', 'to'], params: { i18n: 'sameFromTo' } });
  expect(rule({ type: 'lifecycleChanged' }).success).toBe(true);
  expect(rule({ type: 'lifecycleChanged', to: 'refused' }).success).toBe(true);
  expect(rule({ type: 'lifecycleChanged', from: 'regular', to: 'regular' }).success).toBe(false);
  expect(rule({ type: 'lifecycleChanged', from: 'sleeping' }).success).toBe(false);
});

eachDb('automation on moves and lifecycle changes', (getDb) => {
  let db: Db;
  let portalId: number;
  const client = () => new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: TS } });
  const day = (offset: number) => new Date(tp.emu.portal.clock.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const labels = async (runId: number) => {
    const { rows } = await db.query<{ c: number; g: string | null; l: string | null }>(
      `SELECT contact_id AS c, segment AS g, lifecycle AS l FROM contact_labels WHERE portal_id = $1 AND run_id = $2`, [portalId, runId]);
    return new Map(rows.map((r) => [Number(r.c), r]));
  };
  const fired = async (ruleId: string) => {
    const { rows } = await db.query<{ c: number }>(`SELECT contact_id AS c FROM automation_firings WHERE portal_id = $1 AND rule_id = $2 AND status = 'done'`, [portalId, ruleId]);
    return rows.map((r) => Number(r.c)).sort((a, b) => a - b);
  };

  beforeAll(async () => {
    tp = await startTestPortal({ contacts: 300, deals: 1500, seed: 8, timeScale: TS });
    db = getDb();
    portalId = (await upsertPortalOnInstall(db, { memberId: 'moves', domain: 'moves.bitrix24.com', language: 'en' })).id;
    await mirrorEmulatorPortal(tp.emu.portal, db, portalId);
  });
  afterAll(async () => {
    await tp?.emu.close();
  });

  it('a move A → B and a lifecycle change fire exactly for the contacts that made them', async () => {
    const first = await runScoring(db, portalId, day(0));
    expect((await evaluateAutomation(db, portalId)).firingsCreated).toBe(0); // the baseline
    // 400 days on with the same bounds: recency falls, regular customers stop being regular
    const second = await runScoring(db, portalId, day(400), { reanchorShare: 1 });
    const [a, b] = [await labels(first.runId), await labels(second.runId)];
    const moves = new Map<string, number[]>();
    const lifeMoves = new Map<string, number[]>();
    for (const [c, x] of b) {
      const p = a.get(c)!;
      if (x.g !== null && p.g !== x.g) moves.set(`${p.g}>${x.g}`, [...(moves.get(`${p.g}>${x.g}`) ?? []), c]);
      if (x.l !== p.l) lifeMoves.set(`${p.l}>${x.l}`, [...(lifeMoves.get(`${p.l}>${x.l}`) ?? []), c]);
    }
    // the most frequent move between two segments, and the most frequent lifecycle change
    const [move, moveWho] = [...moves].filter(([k]) => !k.startsWith('null>')).sort((x, y) => y[1].length - x[1].length)[0]!;
    const [life, lifeWho] = [...lifeMoves].sort((x, y) => y[1].length - x[1].length)[0]!;
    const [from, to] = move.split('>') as [string, string];
    const [lFrom, lTo] = life.split('>') as [string, string];
    expect(moveWho.length).toBeGreaterThan(3);
    expect(lifeWho.length).toBeGreaterThan(3);
    const allLife = [...lifeMoves.values()].flat();
    // a contact whose stage the automation never saw (state from before migration 011): baseline only
    const unseen = lifeWho[0]!;
    await db.query(`UPDATE automation_contact_state SET lifecycle = NULL WHERE portal_id = $1 AND contact_id = $2`, [portalId, unseen]);

    await updatePortalSettings(db, portalId, {
      automation: {
        rules: [
          { id: 'move', trigger: { type: 'movedSegment', from, to }, action: { type: 'comment', text: '{name}: {prevSegment} → {segment}' } },
          { id: 'reverse', trigger: { type: 'movedSegment', from: to, to: from }, action: { type: 'comment', text: 'reverse' } },
          { id: 'life', trigger: { type: 'lifecycleChanged', from: lFrom, to: lTo }, action: { type: 'todo', title: 'Now {lifecycle}: call {name}' } },
          { id: 'any-life', trigger: { type: 'lifecycleChanged' }, action: { type: 'comment', text: 'stage changed' } },
        ],
      },
    });
    const comments0 = tp.emu.portal.timelineComments.length;
    const todos0 = tp.emu.portal.todos.length;
    const r = await runAutomation(db, portalId, client());
    expect(r.firings.failed + r.firings.unknown).toBe(0);
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    expect(await fired('move')).toEqual(sorted(moveWho));
    expect(await fired('reverse')).toEqual([]);
    expect(await fired('life')).toEqual(sorted(lifeWho.filter((c) => c !== unseen)));
    expect(await fired('any-life')).toEqual(sorted(allLife.filter((c) => c !== unseen)));
    expect(r.evaluate.transitions.lifecycleChanged).toBe(allLife.length - 1);
    // what the portal received: the move's comments on exactly those contacts, the to-dos with the new stage
    const comments = tp.emu.portal.timelineComments.slice(comments0).filter((x) => x.comment.includes(' → '));
    expect(sorted(comments.map((x) => Number(x.entityId)))).toEqual(sorted(moveWho));
    const todos = tp.emu.portal.todos.slice(todos0);
    expect(sorted(todos.map((x) => x.ownerId))).toEqual(sorted(lifeWho.filter((c) => c !== unseen)));
    for (const t of todos) expect(t.title).toMatch(new RegExp(`^Now ${lTo}: call `));
    // evaluated again: nothing new
    expect((await runAutomation(db, portalId, client())).evaluate.firingsCreated).toBe(0);
  });
});
