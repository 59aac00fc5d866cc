/**
 * Automation engine: transitions → firing rows → REST calls.
 *
 * 1. evaluateAutomation (under the portal lock, after a full or partial scoring): compares each
 *    contact's label in the latest run with `automation_contact_state` (what the automation saw
 *    last). A contact seen for the first time only sets the baseline: installing the app or
 *    adding a rule does not fire for everyone who is already asleep. A transition
 *    (not sleeping → sleeping; segment X → S; lifecycle stage X → Y; not refused → refused, or
 *    refused with another reason) bumps that contact's episode counter of its kind, and every
 *    enabled rule whose trigger matches (for becameRefused: naming that reason, or none) gets a
 *    firing row keyed (rule, contact, transition_key) with transition_key = 'sleeping:<episode>',
 *    'segment:<code>:<episode>', 'move:<from>:<to>:<episode>', 'lifecycle:<from>:<to>:<episode>' or
 *    'refused:<episode>'. State and
 *    firings are written in ONE transaction, so a retried job neither misses nor re-detects
 *    the transition, and the unique key makes a second insert of the same transition a no-op.
 * 2. runPendingFirings: claims 'pending' rows ('sending', committed) BEFORE calling the portal,
 *    then records 'done' (with the id the portal returned) or 'failed' (the portal answered
 *    with an error: nothing happened there). At most once, by choice: a firing is never sent
 *    twice. If the process dies between the claim and the answer, or the request may have
 *    reached the portal without an answer (network error after the body was sent), the row
 *    becomes 'unknown' and is NOT retried: a customer getting the same promo e-mail twice is
 *    worse than an operator seeing one 'unknown' firing in the log and checking it. (The
 *    opposite choice, at-least-once, would only need 'sending' rows to go back to 'pending'.)
 *    Single calls, not `batch`: the client retries a batch on network errors (batch is
 *    treated as idempotent), which would break at-most-once for these write methods.
 */
import type { B24Client } from '../b24/client.js';
import type { Db } from '../store/db.js';
import { getPortal } from '../store/portals.js';
import { latestScoreRun } from '../store/scores.js';
import { refusalReasonKey, type AutomationRule } from '../settings/index.js';
import { rulesFromSettings } from './rules.js';
import { actionCall, sendOnce, type SendOutcome } from './send.js';

/**
 * A label's refusal state as SQL over the labels alias `a`: '' not refused, else the reason's key
 * ('-': refused without a reason). The engine's state and the rule estimate read it the same way.
 */
export const refusalStateSql = (a: string): string =>
  `CASE WHEN ${a}.lifecycle = 'refused' THEN COALESCE(${a}.extra->>'refusalReasonKey', '-') ELSE '' END`;

export interface EvaluateResult {
  runId: number | null;
  observed: number;
  baseline: number;
  transitions: { becameSleeping: number; enteredSegment: number; lifecycleChanged: number; becameRefused: number };
  firingsCreated: number;
  rulesError: string | null;
}

interface StateRow {
  contactId: number;
  sleeping: boolean;
  segment: string | null;
  /** null: not seen yet (state from before migration 011): the next evaluation only sets it */
  lifecycle: string | null;
  sleepingEpisode: number;
  segmentEpisode: number;
  lifecycleEpisode: number;
  /** null: not seen yet (baseline); '': not refused; else the reason's key ('-': no reason) */
  refusalState: string | null;
  refusalEpisode: number;
}

interface NewFiring {
  ruleId: string;
  contactId: number;
  key: string;
  action: string;
}

interface LabelRow {
  id: number;
  sleeping: boolean;
  segment: string | null;
  lifecycle: string | null;
  /** as StateRow.refusalState, from the label's lifecycle and extra.refusalReasonKey */
  refusal: string;
}

/** What changed for one contact between the state the automation saw and its label now. */
interface Change {
  becameSleeping: boolean;
  /** the segment before, when the segment changed (null: it had none) */
  segmentFrom: string | null | undefined;
  segmentTo: string | null;
  /** the stage before, when the lifecycle stage changed */
  lifecycleFrom: string | undefined;
  lifecycleTo: string | null;
  /** became refused, or refused with another reason; `refusal` is the reason's key now */
  refused: boolean;
  refusal: string;
}

/**
 * Refusal: became refused, or refused with another reason than seen last; a contact whose refusal
 * was never seen (new, or seen before this was tracked) only sets its baseline.
 */
function refusalTransition(s: StateRow, l: LabelRow): boolean {
  return s.refusalState !== null && l.refusal !== '' && s.refusalState !== l.refusal;
}

/** A becameRefused rule's reasons (keys) hold the contact's reason (any, when the rule names none). */
function reasonMatches(r: AutomationRule, refusal: string): boolean {
  if (r.trigger.type !== 'becameRefused') return false;
  return r.trigger.reasons.length === 0 || r.trigger.reasons.some((x) => refusalReasonKey(x) === refusal);
}

/** The firing key of `rule` for this change, or null when the rule does not fire. */
function firingKey(r: AutomationRule, c: Change, next: StateRow): string | null {
  const t = r.trigger;
  switch (t.type) {
    case 'becameSleeping':
      return c.becameSleeping ? `sleeping:${next.sleepingEpisode}` : null;
    case 'enteredSegment':
      return c.segmentFrom !== undefined && c.segmentTo === t.segment ? `segment:${t.segment}:${next.segmentEpisode}` : null;
    case 'movedSegment':
      return c.segmentFrom === t.from && c.segmentTo === t.to ? `move:${t.from}:${t.to}:${next.segmentEpisode}` : null;
    case 'lifecycleChanged':
      if (c.lifecycleFrom === undefined || (t.from && t.from !== c.lifecycleFrom) || (t.to && t.to !== c.lifecycleTo)) return null;
      return `lifecycle:${c.lifecycleFrom}:${c.lifecycleTo}:${next.lifecycleEpisode}`;
    case 'becameRefused':
      return c.refused && reasonMatches(r, c.refusal) ? `refused:${next.refusalEpisode}` : null;
  }
}

/**
 * The state updates and firings of one page of labels against what the automation saw last
 * (`stateOf`); counts go into `res`. A contact seen for the first time only sets its baseline
 * (and so does a lifecycle stage seen for the first time).
 */
function transitions(labels: readonly LabelRow[], stateOf: ReadonlyMap<number, StateRow>, rules: readonly AutomationRule[], res: EvaluateResult) {
  const upserts: StateRow[] = [];
  const firings: NewFiring[] = [];
  for (const l of labels) {
    res.observed++;
    const s = stateOf.get(Number(l.id));
    if (!s) {
      res.baseline++;
      upserts.push({
        contactId: l.id, sleeping: l.sleeping, segment: l.segment, lifecycle: l.lifecycle, sleepingEpisode: 0, segmentEpisode: 0, lifecycleEpisode: 0,
        refusalState: l.refusal, refusalEpisode: 0,
      });
      continue;
    }
    if (s.sleeping === l.sleeping && s.segment === l.segment && s.lifecycle === l.lifecycle && s.refusalState === l.refusal) continue;
    const next: StateRow = { ...s, contactId: l.id, sleeping: l.sleeping, segment: l.segment, lifecycle: l.lifecycle, refusalState: l.refusal };
    const change: Change = {
      becameSleeping: !s.sleeping && l.sleeping,
      segmentFrom: l.segment !== null && s.segment !== l.segment ? s.segment : undefined,
      segmentTo: l.segment,
      lifecycleFrom: s.lifecycle !== null && l.lifecycle !== null && s.lifecycle !== l.lifecycle ? s.lifecycle : undefined,
      lifecycleTo: l.lifecycle,
      refused: refusalTransition(s, l),
      refusal: l.refusal,
    };
    if (change.becameSleeping) { next.sleepingEpisode++; res.transitions.becameSleeping++; }
    if (change.segmentFrom !== undefined) { next.segmentEpisode++; res.transitions.enteredSegment++; }
    if (change.lifecycleFrom !== undefined) { next.lifecycleEpisode++; res.transitions.lifecycleChanged++; }
    if (change.refused) { next.refusalEpisode++; res.transitions.becameRefused++; }
    upserts.push(next);
    for (const r of rules) {
      const key = firingKey(r, change, next);
      if (key) firings.push({ ruleId: r.id, contactId: l.id, key, action: r.action.type });
    }
  }
  return { upserts, firings };
}

/** State and firings in ONE transaction (see the module comment); returns the firings created. */
async function saveTransitions(db: Db, portalId: number, upserts: readonly StateRow[], firings: readonly NewFiring[]): Promise<number> {
  if (!upserts.length && !firings.length) return 0;
  return db.transaction(async (tx) => {
    if (upserts.length) {
      await tx.query(
        `INSERT INTO automation_contact_state (portal_id, contact_id, sleeping, segment, lifecycle, sleeping_episode, segment_episode, lifecycle_episode,
                                               refusal_state, refusal_episode, updated_at)
         SELECT $1, x.c, x.s, x.g, x.l, x.se, x.ge, x.le, x.rs, x.re, now()
           FROM jsonb_to_recordset($2::jsonb) AS x(c bigint, s boolean, g text, l text, se int, ge int, le int, rs text, re int)
         ON CONFLICT (portal_id, contact_id) DO UPDATE SET sleeping = EXCLUDED.sleeping, segment = EXCLUDED.segment, lifecycle = EXCLUDED.lifecycle,
           sleeping_episode = EXCLUDED.sleeping_episode, segment_episode = EXCLUDED.segment_episode,
           lifecycle_episode = EXCLUDED.lifecycle_episode, refusal_state = EXCLUDED.refusal_state, refusal_episode = EXCLUDED.refusal_episode,
           updated_at = now()`,
        [portalId, JSON.stringify(upserts.map((u) => ({
          c: u.contactId, s: u.sleeping, g: u.segment, l: u.lifecycle, se: u.sleepingEpisode, ge: u.segmentEpisode, le: u.lifecycleEpisode,
          rs: u.refusalState, re: u.refusalEpisode,
        })))],
      );
    }
    if (!firings.length) return 0;
    const r = await tx.query(
      `INSERT INTO automation_firings (portal_id, rule_id, contact_id, transition_key, action)
       SELECT $1, x.r, x.c, x.k, x.a FROM jsonb_to_recordset($2::jsonb) AS x(r text, c bigint, k text, a text)
       ON CONFLICT (portal_id, rule_id, contact_id, transition_key) DO NOTHING`,
      [portalId, JSON.stringify(firings.map((f) => ({ r: f.ruleId, c: f.contactId, k: f.key, a: f.action })))],
    );
    return r.rowCount;
  });
}

export async function evaluateAutomation(db: Db, portalId: number, o: { contactIds?: readonly number[]; pageSize?: number } = {}): Promise<EvaluateResult> {
  const portal = await getPortal(db, portalId);
  const { rules, error } = rulesFromSettings(portal?.settings);
  const res: EvaluateResult = {
    runId: null, observed: 0, baseline: 0, transitions: { becameSleeping: 0, enteredSegment: 0, lifecycleChanged: 0, becameRefused: 0 },
    firingsCreated: 0, rulesError: error,
  };
  const sr = await latestScoreRun(db, portalId);
  if (!sr) return res;
  res.runId = sr.id;
  const pageSize = o.pageSize ?? 5000;
  const only = o.contactIds ? [...new Set(o.contactIds.map(Number))] : null;
  let after = -1;
  for (;;) {
    const { rows: labels } = await db.query<LabelRow>(
      `SELECT contact_id AS id, sleeping, segment, lifecycle,
              ${refusalStateSql('l')} AS refusal
         FROM contact_labels l
        WHERE portal_id = $1 AND run_id = $2 AND contact_id > $3 AND ($4::bigint[] IS NULL OR contact_id = ANY($4::bigint[]))
        ORDER BY contact_id LIMIT $5`,
      [portalId, sr.id, after, only, pageSize],
    );
    if (!labels.length) break;
    after = labels[labels.length - 1]!.id;
    const { rows: states } = await db.query<StateRow>(
      `SELECT contact_id AS "contactId", sleeping, segment, lifecycle, sleeping_episode AS "sleepingEpisode", segment_episode AS "segmentEpisode",
              lifecycle_episode AS "lifecycleEpisode", refusal_state AS "refusalState", refusal_episode AS "refusalEpisode"
         FROM automation_contact_state WHERE portal_id = $1 AND contact_id = ANY($2::bigint[])`,
      [portalId, labels.map((l) => l.id)],
    );
    const { upserts, firings } = transitions(labels, new Map(states.map((s) => [Number(s.contactId), s])), rules, res);
    res.firingsCreated += await saveTransitions(db, portalId, upserts, firings);
    if (labels.length < pageSize) break;
  }
  return res;
}

export interface FiringsResult {
  done: number;
  failed: number;
  unknown: number;
  skipped: number;
  /** 'sending' rows left by a crashed process, marked 'unknown' */
  recovered: number;
  errors: string[];
}

interface Claimed {
  id: number;
  ruleId: string;
  contactId: number;
  transitionKey: string;
}

/** The REST call of one firing (send.ts actionCall for the contact). */
export function firingCall(
  rule: AutomationRule, contact: { id: number; name: string; assignedById: number | null },
  ctx: { segment: string | null; prevSegment: string | null; lifecycle?: string | null; reason?: string | null; nowMs: number },
): [string, Record<string, unknown>] {
  const vars = {
    name: contact.name, contactId: contact.id, segment: ctx.segment, prevSegment: ctx.prevSegment, lifecycle: ctx.lifecycle ?? null, reason: ctx.reason ?? null,
  };
  return actionCall(rule.action, { kind: 'contact', ...contact }, vars, ctx.nowMs);
}

export async function runPendingFirings(db: Db, portalId: number, client: B24Client, o: { staleSendingSec?: number; now?: () => number } = {}): Promise<FiringsResult> {
  const res: FiringsResult = { done: 0, failed: 0, unknown: 0, skipped: 0, recovered: 0, errors: [] };
  const rec = await db.query(
    `UPDATE automation_firings SET status = 'unknown', error = 'process stopped between claim and answer', updated_at = now()
      WHERE portal_id = $1 AND status = 'sending' AND updated_at < now() - make_interval(secs => $2)`,
    [portalId, o.staleSendingSec ?? 600],
  );
  res.recovered = rec.rowCount;
  const portal = await getPortal(db, portalId);
  const rules = new Map(rulesFromSettings(portal?.settings).rules.map((r) => [r.id, r]));
  const now = o.now ?? (() => Date.now());
  for (;;) {
    const { rows } = await db.query<Claimed>(
      `UPDATE automation_firings SET status = 'sending', updated_at = now()
        WHERE portal_id = $1 AND id IN (SELECT id FROM automation_firings WHERE portal_id = $1 AND status = 'pending' ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED)
        RETURNING id, rule_id AS "ruleId", contact_id AS "contactId", transition_key AS "transitionKey"`,
      [portalId],
    );
    if (!rows.length) break;
    const { rows: contacts } = await db.query<{ id: number; name: string; assignedById: number | null }>(
      `SELECT id, trim(concat_ws(' ', name, last_name)) AS name, assigned_by_id AS "assignedById" FROM contacts WHERE portal_id = $1 AND id = ANY($2::bigint[])`,
      [portalId, rows.map((r) => r.contactId)],
    );
    const contactOf = new Map(contacts.map((c) => [Number(c.id), c]));
    const { rows: labels } = await db.query<{ id: number; segment: string | null; lifecycle: string | null; extra: Record<string, unknown> }>(
      `SELECT l.contact_id AS id, l.segment, l.lifecycle, l.extra FROM contact_labels l
        WHERE l.portal_id = $1 AND l.run_id = (SELECT id FROM score_runs WHERE portal_id = $1 AND status = 'done' ORDER BY created_at DESC, id DESC LIMIT 1)
          AND l.contact_id = ANY($2::bigint[])`,
      [portalId, rows.map((r) => r.contactId)],
    );
    const labelOf = new Map(labels.map((l) => [Number(l.id), l]));
    for (const f of rows) {
      const rule = rules.get(f.ruleId);
      const contact = contactOf.get(Number(f.contactId));
      const finish = (status: string, result: string | null, error: string | null) =>
        db.query(`UPDATE automation_firings SET status = $3, result = $4, error = $5, updated_at = now() WHERE portal_id = $1 AND id = $2`, [portalId, f.id, status, result, error]);
      if (!rule || !contact) {
        await finish('skipped', null, !rule ? 'rule removed or disabled before sending' : 'contact no longer exists');
        res.skipped++;
        continue;
      }
      const l = labelOf.get(Number(f.contactId));
      const [method, params] = firingCall(rule, contact, {
        segment: l?.segment ?? null, prevSegment: (l?.extra?.prevSegment as string | null) ?? null, lifecycle: l?.lifecycle ?? null,
        reason: (l?.extra?.refusalReason as string | null) ?? null, nowMs: now(),
      });
      let out: SendOutcome;
      try {
        out = await sendOnce(client, method, params);
      } catch (e) {
        // token death etc.: the call did not go out; give the rows back and stop
        await db.query(`UPDATE automation_firings SET status = 'pending', updated_at = now() WHERE portal_id = $1 AND status = 'sending' AND id = ANY($2::bigint[])`, [portalId, rows.map((r) => r.id)]);
        throw e;
      }
      if (out.status === 'done') {
        await finish('done', out.result, null);
        res.done++;
      } else {
        await finish(out.status, null, out.error);
        res[out.status]++;
        if (out.status === 'failed' && res.errors.length < 20) res.errors.push(`${f.ruleId} → contact ${f.contactId}: ${out.error}`);
      }
    }
  }
  return res;
}

/** evaluate + send, what the jobs call after scoring. */
export async function runAutomation(db: Db, portalId: number, client: B24Client, o: { contactIds?: readonly number[] } = {}): Promise<{ evaluate: EvaluateResult; firings: FiringsResult }> {
  const evaluate = await evaluateAutomation(db, portalId, o);
  const firings = await runPendingFirings(db, portalId, client);
  return { evaluate, firings };
}

export async function listFirings(db: Db, portalId: number, limit = 100): Promise<Array<{ id: number; ruleId: string; contactId: number; transitionKey: string; action: string; status: string; result: string | null; error: string | null; createdAt: Date }>> {
  const { rows } = await db.query<{ id: number; ruleId: string; contactId: number; transitionKey: string; action: string; status: string; result: string | null; error: string | null; createdAt: Date }>(
    `SELECT id, rule_id AS "ruleId", contact_id AS "contactId", transition_key AS "transitionKey", action, status, result, error, created_at AS "createdAt"
       FROM automation_firings WHERE portal_id = $1 ORDER BY id DESC LIMIT $2`,
    [portalId, limit],
  );
  return rows;
}
