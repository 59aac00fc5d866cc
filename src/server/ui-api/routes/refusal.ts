/**
 * Where refusal reasons come from (admins; settings.refusal, src/settings/refusal.ts):
 *
 *   GET /settings/refusal   the setting, and what the admin picks from, read from the portal with the
 *                           admin's own token (X-B24-Auth): each funnel's lost stages (crm.category.list,
 *                           crm.status.list: semantics F) with their names, the deal user fields of type
 *                           enumeration or string (crm.deal.fields) with their items; plus the reasons
 *                           the latest run holds with their refused contacts. When the portal cannot be
 *                           asked: the lists are empty and `portal` is false (the setting still shows).
 *   PUT /settings/refusal   {refusal}: validated by the one settings schema (400 INVALID_SETTINGS at the
 *                           field); source 'field' must name a deal field the portal has, of type
 *                           enumeration or string (400 UNKNOWN_FIELD, checked against the synced list).
 * The reasons count from the next scoring run (they are resolved when scoring: src/pipeline/refusal.ts).
 */
import express, { type Router } from 'express';
import type { B24Client } from '../../../b24/client.js';
import { latestScoreRun, updatePortalSettings, type Db } from '../../../store/index.js';
import { readSection, settingsPatch } from '../../../settings/index.js';
import { authed, fieldIssues, HttpError, issueText, requireAdmin, wrap } from '../http.js';
import type { RouteDeps } from './shared.js';

type Row = Record<string, unknown>;

export interface RefusalOptions {
  funnels: Array<{ id: number; name: string; lostStages: Array<{ id: string; name: string }> }>;
  fields: Array<{ name: string; label: string; type: 'enumeration' | 'string'; items: Array<{ id: string; value: string }> }>;
}

const REASON_TYPES = new Set(['enumeration', 'string']);

/** The lost stages per funnel and the deal fields a reason may be read from, asked with `client`. */
export async function refusalOptions(client: B24Client): Promise<RefusalOptions> {
  const r = await client.batch({
    cats: ['crm.category.list', { entityTypeId: 2 }],
    st: ['crm.status.list', { order: { SORT: 'ASC' } }],
    f: ['crm.deal.fields', {}],
  });
  for (const k of ['st', 'f']) if (r.errors[k]) throw r.errors[k];
  const cats = ((r.results.cats as { categories?: Row[] } | undefined)?.categories ?? []).map((c) => ({ id: Number(c.id), name: String(c.name ?? '') }));
  if (!cats.some((c) => c.id === 0)) cats.unshift({ id: 0, name: '' });
  const statuses = Array.isArray(r.results.st) ? (r.results.st as Row[]) : [];
  const funnels = cats.map((c) => ({
    ...c,
    lostStages: statuses
      .filter((s) => s.ENTITY_ID === (c.id === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${c.id}`) && s.SEMANTICS === 'F')
      .map((s) => ({ id: String(s.STATUS_ID), name: String(s.NAME ?? s.STATUS_ID) })),
  }));
  const fields: RefusalOptions['fields'] = [];
  for (const [name, d] of Object.entries((r.results.f ?? {}) as Record<string, Row>)) {
    if (!/^UF_CRM_/.test(name) || !REASON_TYPES.has(String(d?.type)) || d?.isMultiple === true) continue;
    const items = Array.isArray(d.items) ? (d.items as Row[]).map((i) => ({ id: String(i.ID), value: String(i.VALUE ?? '') })) : [];
    fields.push({ name, label: String(d.listLabel || d.formLabel || name), type: d.type as 'enumeration' | 'string', items });
  }
  return { funnels, fields };
}

/** The reasons of the latest run's refused contacts, most frequent first. */
async function reasonsInUse(db: Db, portalId: number): Promise<Array<{ key: string; reason: string; contacts: number }>> {
  const run = await latestScoreRun(db, portalId);
  if (!run) return [];
  const { rows } = await db.query<{ key: string; reason: string; contacts: number }>(
    `SELECT extra->>'refusalReasonKey' AS key, min(extra->>'refusalReason') AS reason, count(*)::int AS contacts
       FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND lifecycle = 'refused' AND extra->>'refusalReasonKey' IS NOT NULL
      GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 500`,
    [portalId, run.id],
  );
  return rows;
}

/** 400 UNKNOWN_FIELD unless the synced deal fields (when known) hold `field` as a single enumeration or string. */
async function checkField(db: Db, portalId: number, field: string): Promise<void> {
  const { rows } = await db.query<{ name: string; type: string | null; multiple: boolean }>(
    `SELECT field_name AS name, user_type_id AS type, multiple FROM deal_fields WHERE portal_id = $1`, [portalId]);
  if (!rows.length) return; // not synced yet: the next scoring reads what is there
  const f = rows.find((x) => x.name === field);
  if (!f || !REASON_TYPES.has(String(f.type)) || f.multiple) {
    throw new HttpError(400, 'UNKNOWN_FIELD', `the portal has no single enumeration or string deal field ${field}`, {
      issues: [{ path: 'refusal.field', code: 'unknown_field', message: 'not a deal field of the portal (enumeration or string)' }],
    });
  }
}

export function refusalRoutes(deps: RouteDeps): Router {
  const { db } = deps;
  const r = express.Router();

  r.get('/settings/refusal', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const refusal = readSection(a.portal.settings, 'refusal').value;
    const token = await deps.vis.tokenIfAny(req, a);
    let options: RefusalOptions = { funnels: [], fields: [] };
    let portal = false;
    if (token) {
      try {
        options = await refusalOptions(deps.verifier.asUser(a.portal, token));
        portal = true;
      } catch (err) {
        deps.ctx.log?.('info', 'refusal options not read', { portalId: a.portal.id, error: (err as Error).message });
      }
    }
    return { refusal, ...options, portal, reasons: await reasonsInUse(db, a.portal.id) };
  }));

  r.put('/settings/refusal', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const patch = settingsPatch(['refusal'], { refusal: (req.body as { refusal?: unknown } | undefined)?.refusal });
    if (!patch.ok) throw new HttpError(400, 'INVALID_SETTINGS', issueText(patch.error), { issues: fieldIssues(patch.error) });
    const refusal = patch.settings.refusal;
    if (refusal.source === 'field' && refusal.field) await checkField(db, a.portal.id, refusal.field);
    await updatePortalSettings(db, a.portal.id, patch.stored);
    deps.ctx.log?.('info', 'refusal settings saved', { portalId: a.portal.id, userId: a.session.u });
    return { refusal };
  }));

  return r;
}
