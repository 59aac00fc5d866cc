/**
 * GET /me (the session's user and portal) and GET /meta (what the filter builder offers: segment
 * and lifecycle names with descriptions, interests with their windows, sources and responsibles by
 * name, cities, refusal reasons, UF keys, saved segments, the run's scale and as-of day, the contact fields a
 * condition on "any field" may name with their types and items, the company's industries and sizes). Names of people and
 * sources come from the portal, asked with the user's own token (directory.ts). A pick list of
 * values held by contacts (cities, interest tags) offers a non-admin the values held by at least
 * MIN_GROUP contacts portal-wide (a rare value would point at one hidden contact) plus every value
 * of the contacts they may see.
 */
import express, { type Router } from 'express';
import { LIFECYCLE_CODES, SEGMENT_CODES } from '../../../scoring/index.js';
import { latestScoreRun, runHasCompanies, type Db } from '../../../store/index.js';
import { readSection } from '../../../settings/index.js';
import { runScale } from '../dashboard-query.js';
import { authed, wrap, type AReq, type Authed } from '../http.js';
import { lifecycleLabel, segmentLabel, UI_LANGS } from '../labels.js';
import { MIN_GROUP } from '../visibility.js';
import type { RouteDeps } from './shared.js';

/**
 * The contacts a non-admin sees (null: an admin, or not enumerable, or no token, or the portal
 * could not be asked: portal-wide lists only; the app still opens).
 */
async function visibleIds(deps: RouteDeps, req: AReq, a: Authed): Promise<number[] | null> {
  if (a.session.a || !req.get('x-b24-auth')) return null;
  try {
    const v = await deps.vis.visibility(req, a);
    return v.set ? [...v.set] : null;
  } catch (err) {
    deps.ctx.log?.('warn', 'meta: visible contacts not read', { portalId: a.portal.id, error: (err as Error).message });
    return null;
  }
}

/** Interest tags (active or ever bought) with their names: held by MIN_GROUP contacts (non-admins), or by a visible contact. */
function interestTags(db: Db, portalId: number, runId: number, minGroup: number, visible: number[] | null) {
  return db.query<{ tag: string; name: string | null }>(
    `WITH t AS (
       SELECT l.contact_id, x.tag, l.extra->'interestNames'->>x.tag AS name
         FROM contact_labels l,
              LATERAL (SELECT unnest(l.interests) AS tag UNION SELECT jsonb_array_elements_text(COALESCE(l.extra->'interestsEver', '[]'::jsonb))) x
        WHERE l.portal_id = $1 AND l.run_id = $2)
     SELECT tag, max(name) AS name FROM t GROUP BY tag
     HAVING count(DISTINCT contact_id) >= $3 OR bool_or(contact_id = ANY($4::bigint[]))
     ORDER BY 2, 1 LIMIT 500`,
    [portalId, runId, minGroup, visible ?? []],
  );
}

/** Refusal reasons of the run (key and words): held by MIN_GROUP refused contacts (non-admins), or by a visible one. */
function refusalReasons(db: Db, portalId: number, runId: number, minGroup: number, visible: number[] | null) {
  return db.query<{ key: string; reason: string }>(
    `SELECT extra->>'refusalReasonKey' AS key, min(extra->>'refusalReason') AS reason FROM contact_labels
      WHERE portal_id = $1 AND run_id = $2 AND lifecycle = 'refused' AND extra->>'refusalReasonKey' IS NOT NULL
      GROUP BY 1 HAVING count(*) >= $3 OR bool_or(contact_id = ANY($4::bigint[])) ORDER BY 2 LIMIT 200`,
    [portalId, runId, minGroup, visible ?? []],
  );
}

function cities(db: Db, portalId: number, minGroup: number, visible: number[] | null) {
  return db.query<{ v: string; n: number }>(
    `SELECT city AS v, count(*)::int AS n FROM contacts WHERE portal_id = $1 AND city IS NOT NULL AND city <> ''
      GROUP BY 1 HAVING count(*) >= $2 OR bool_or(id = ANY($3::bigint[])) ORDER BY 2 DESC, 1 LIMIT 200`,
    [portalId, minGroup, visible ?? []],
  );
}

/** Each interest tag's window in days (the map's entries; any other tag has the default window). */
function interestWindows(scoring: ReturnType<typeof readSection<'scoring'>>['value']) {
  const w: Record<string, number> = {};
  for (const e of scoring.interests.map) {
    w[e.tag] = Math.max(w[e.tag] ?? 0, e.windowDays);
    for (const r of e.related) w[r.tag] = Math.max(w[r.tag] ?? 0, r.windowDays);
  }
  return { interestWindows: w, defaultWindowDays: scoring.interests.defaultWindowDays };
}

export function metaRoutes(deps: RouteDeps): Router {
  const { db } = deps;
  const r = express.Router();

  r.get('/me', wrap(async (req) => {
    const a = authed(req);
    return { userId: a.session.u, isAdmin: a.session.a, lang: a.lang, languages: UI_LANGS, portal: { domain: a.portal.domain, memberId: a.portal.memberId }, sessionExpires: a.session.exp };
  }));

  r.get('/meta', wrap(async (req) => {
    const a = authed(req);
    const run = await latestScoreRun(db, a.portal.id);
    const minGroup = a.session.a ? 0 : MIN_GROUP;
    const [visible, token] = await Promise.all([visibleIds(deps, req, a), deps.vis.tokenIfAny(req, a).catch(() => null)]);
    const [interests, sources, responsibles, cityRows, ufKeys, dir, reasons] = await Promise.all([
      run ? interestTags(db, a.portal.id, run.id, minGroup, visible) : { rows: [] },
      db.query<{ v: string }>(`SELECT DISTINCT source_id AS v FROM contacts WHERE portal_id = $1 AND source_id IS NOT NULL ORDER BY 1 LIMIT 200`, [a.portal.id]),
      db.query<{ v: number }>(`SELECT DISTINCT assigned_by_id AS v FROM contacts WHERE portal_id = $1 AND assigned_by_id IS NOT NULL ORDER BY 1 LIMIT 500`, [a.portal.id]),
      cities(db, a.portal.id, minGroup, visible),
      db.query<{ v: string }>(`SELECT DISTINCT jsonb_object_keys(uf) AS v FROM (SELECT uf FROM contacts WHERE portal_id = $1 LIMIT 2000) s ORDER BY 1`, [a.portal.id]),
      deps.dir.get(a.portal, token),
      run ? refusalReasons(db, a.portal.id, run.id, minGroup, visible) : { rows: [] },
    ]);
    const scoring = readSection(a.portal.settings, 'scoring').value;
    return {
      run: run ? { id: run.id, asOf: run.asOf } : null,
      // B2B: the option, and whether the latest run labelled companies (the UI's contacts/companies switch)
      b2b: { enabled: readSection(a.portal.settings, 'b2b').value, companiesScored: run ? await runHasCompanies(db, a.portal.id, run.id) : false },
      scale: run ? runScale(run) : 5,
      segments: SEGMENT_CODES.map((c) => ({ code: c, ...segmentLabel(c, a.lang) })),
      lifecycles: LIFECYCLE_CODES.map((c) => ({ code: c, ...lifecycleLabel(c, a.lang) })),
      interests: interests.rows.map((x) => x.tag),
      interestNames: Object.fromEntries(interests.rows.map((x) => [x.tag, x.name || x.tag])),
      ...interestWindows(scoring),
      sources: sources.rows.map((x) => x.v),
      sourceNames: dir.sources,
      /** the responsibles of contacts (ids), and every portal user by name (dismissed ones: active false) */
      responsibles: responsibles.rows.map((x) => Number(x.v)),
      users: dir.users,
      namesKnown: dir.known,
      cities: cityRows.rows.map((x) => x.v),
      /** why refused customers refused (filter refusal_reason; the key is what the filter compares) */
      refusalReasons: reasons.rows,
      ufKeys: ufKeys.rows.map((x) => x.v).filter((k) => /^UF_CRM_[A-Z0-9_]{1,60}$/.test(k)),
      saved: readSection(a.portal.settings, 'savedSegments').value,
      /** the contact fields "any field" offers (customer-fields.ts), and the company's industries and sizes by name */
      fields: dir.fields,
      /** the company fields "any field" offers over companies (crm.company.fields) */
      companyFields: dir.companyFields,
      industries: dir.statuses.INDUSTRY ?? {},
      companySizes: dir.statuses.EMPLOYEES ?? {},
      minGroup: a.session.a ? null : MIN_GROUP,
    };
  }));

  return r;
}
