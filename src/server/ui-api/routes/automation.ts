/**
 * What the automation editor shows besides the rules (admins):
 *   POST /automation/estimate {rules}  per rule: how many customers of its entity (contacts, or
 *                                      companies: their labels of a B2B run) made its transition
 *                                      between the last two runs (what the rule would have fired
 *                                      for), and whose to-dos they would be (their responsibles)
 *   GET  /automation/firings           the latest fired actions (automation_firings): rule, entity,
 *                                      contact or company, action, status, when, the portal's answer or error
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { ENTITY_TABLES, listFirings, refusalStateSql } from '../../../automation/engine.js';
import { AUTOMATION_ENTITIES, automationRuleSchema, readSection, refusalReasonKey, type AutomationEntity, type AutomationRule } from '../../../settings/index.js';
import type { Db } from '../../../store/index.js';
import { authed, parse, requireAdmin, wrap } from '../http.js';
import type { RouteDeps } from './shared.js';

const estimateSchema = z.object({ rules: z.array(z.unknown()).max(50) });

/** The two latest done runs (newest first). */
async function lastTwoRuns(db: Db, portalId: number) {
  const { rows } = await db.query<{ id: number; asOf: Date }>(
    `SELECT id, as_of AS "asOf" FROM score_runs WHERE portal_id = $1 AND status = 'done' ORDER BY created_at DESC, id DESC LIMIT 2`, [portalId]);
  return rows.map((r) => ({ id: Number(r.id), asOf: r.asOf }));
}

/** The SQL condition (c1 = the latest run's label, p = the previous run's) and its parameters of a trigger. */
function triggerCondition(t: AutomationRule['trigger']): { cond: string; params: unknown[] } {
  switch (t.type) {
    case 'becameSleeping':
      return { cond: 'c1.sleeping AND NOT p.sleeping', params: [] };
    case 'enteredSegment':
      return { cond: 'c1.segment = $4 AND p.segment IS DISTINCT FROM $4', params: [t.segment] };
    case 'movedSegment':
      return { cond: 'p.segment = $4 AND c1.segment = $5', params: [t.from, t.to] };
    case 'lifecycleChanged':
      return {
        cond: 'c1.lifecycle IS NOT NULL AND p.lifecycle IS NOT NULL AND c1.lifecycle <> p.lifecycle AND ($4::text IS NULL OR p.lifecycle = $4) AND ($5::text IS NULL OR c1.lifecycle = $5)',
        params: [t.from ?? null, t.to ?? null],
      };
    case 'becameRefused':
      // became refused, or refused with another reason (the engine's rule)
      return {
        cond: `c1.lifecycle = 'refused' AND ${refusalStateSql('c1')} <> ${refusalStateSql('p')} AND (cardinality($4::text[]) = 0 OR ${refusalStateSql('c1')} = ANY($4::text[]))`,
        params: [t.reasons.map(refusalReasonKey)],
      };
  }
}

/** Customers of the rule's entity that made the trigger's transition from the previous run to the latest, per responsible. */
async function transitions(db: Db, portalId: number, cur: number, prev: number, rule: AutomationRule) {
  const { cond, params } = triggerCondition(rule.trigger);
  const t = ENTITY_TABLES[rule.entity];
  const { rows } = await db.query<{ resp: number | null; n: number }>(
    `SELECT k.assigned_by_id AS resp, count(*)::int AS n
       FROM ${t.labels} c1 JOIN ${t.labels} p ON p.portal_id = c1.portal_id AND p.run_id = $3 AND p.${t.idCol} = c1.${t.idCol}
       LEFT JOIN ${t.rows} k ON k.portal_id = c1.portal_id AND k.id = c1.${t.idCol}
      WHERE c1.portal_id = $1 AND c1.run_id = $2 AND ${cond} GROUP BY 1 ORDER BY 2 DESC`,
    [portalId, cur, prev, ...params],
  );
  return rows.map((r) => ({ userId: r.resp === null ? null : Number(r.resp), count: r.n }));
}

/** The firings' customers' names, keyed `entity:id` (this portal's rows only). */
async function customerNames(db: Db, portalId: number, firings: ReadonlyArray<{ entity: AutomationEntity; contactId: number }>): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const entity of AUTOMATION_ENTITIES) {
    const ids = [...new Set(firings.filter((f) => f.entity === entity).map((f) => Number(f.contactId)))];
    if (!ids.length) continue;
    const t = ENTITY_TABLES[entity];
    const { rows } = await db.query<{ id: number; name: string }>(`SELECT id, ${t.name} AS name FROM ${t.rows} WHERE portal_id = $1 AND id = ANY($2::bigint[])`, [portalId, ids]);
    for (const x of rows) names.set(`${entity}:${Number(x.id)}`, x.name);
  }
  return names;
}

export function automationRoutes({ db }: RouteDeps): Router {
  const r = express.Router();

  r.post('/automation/estimate', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const runs = await lastTwoRuns(db, a.portal.id);
    const rules = parse(estimateSchema, req.body).rules;
    const out = [];
    for (const raw of rules) {
      const rule = automationRuleSchema.safeParse(raw);
      if (!rule.success || runs.length < 2) { out.push({ expected: null, recipients: [] }); continue; }
      const per = await transitions(db, a.portal.id, runs[0]!.id, runs[1]!.id, rule.data);
      out.push({ expected: per.reduce((s, x) => s + x.count, 0), recipients: rule.data.action.type === 'todo' ? per : [] });
    }
    return { basis: runs.length < 2 ? null : { from: runs[1]!.asOf, to: runs[0]!.asOf }, rules: out };
  }));

  r.get('/automation/firings', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const firings = await listFirings(db, a.portal.id, 100);
    const names = await customerNames(db, a.portal.id, firings);
    const rules = new Map(readSection(a.portal.settings, 'automation').value.rules.map((x) => [x.id, x.name || x.id]));
    return {
      firings: firings.map((f) => ({
        id: Number(f.id), ruleId: f.ruleId, rule: rules.get(f.ruleId) ?? f.ruleId, entity: f.entity,
        // contactId / contact: the customer of the rule's entity (a company's id and title for a company rule)
        contactId: Number(f.contactId), contact: names.get(`${f.entity}:${Number(f.contactId)}`) ?? '',
        action: f.action, status: f.status, at: f.createdAt, result: f.result, error: f.error,
      })),
    };
  }));

  return r;
}
