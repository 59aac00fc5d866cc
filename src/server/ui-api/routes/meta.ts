/**
 * GET /me (the session's user and portal) and GET /meta (what the filter builder offers: segment
 * and lifecycle names, interests, sources, responsibles, cities, UF keys, saved segments). For a
 * non-admin, pick lists of values (interests, cities) offer only values held by at least
 * MIN_GROUP contacts.
 */
import express, { type Router } from 'express';
import { LIFECYCLE_CODES, SEGMENT_CODES } from '../../../scoring/index.js';
import { latestScoreRun } from '../../../store/index.js';
import { readSection } from '../../../settings/index.js';
import { runScale } from '../dashboard-query.js';
import { authed, wrap } from '../http.js';
import { lifecycleLabel, segmentLabel, UI_LANGS } from '../labels.js';
import { MIN_GROUP } from '../visibility.js';
import type { RouteDeps } from './shared.js';

export function metaRoutes({ db }: RouteDeps): Router {
  const r = express.Router();

  r.get('/me', wrap(async (req) => {
    const a = authed(req);
    return { userId: a.session.u, isAdmin: a.session.a, lang: a.lang, languages: UI_LANGS, portal: { domain: a.portal.domain, memberId: a.portal.memberId }, sessionExpires: a.session.exp };
  }));

  r.get('/meta', wrap(async (req) => {
    const a = authed(req);
    const run = await latestScoreRun(db, a.portal.id);
    const P = [a.portal.id];
    const minGroup = a.session.a ? 0 : MIN_GROUP;
    const [interests, sources, responsibles, cities, ufKeys] = await Promise.all([
      run
        ? db.query<{ tag: string; name: string | null }>(
            `SELECT t.tag, max(l.extra->'interestNames'->>t.tag) AS name
               FROM contact_labels l, unnest(l.interests) AS t(tag)
              WHERE l.portal_id = $1 AND l.run_id = $2 GROUP BY t.tag HAVING count(*) >= $3 ORDER BY 2, 1 LIMIT 500`,
            [a.portal.id, run.id, minGroup],
          )
        : { rows: [] },
      db.query<{ v: string }>(`SELECT DISTINCT source_id AS v FROM contacts WHERE portal_id = $1 AND source_id IS NOT NULL ORDER BY 1 LIMIT 200`, P),
      db.query<{ v: number }>(`SELECT DISTINCT assigned_by_id AS v FROM contacts WHERE portal_id = $1 AND assigned_by_id IS NOT NULL ORDER BY 1 LIMIT 500`, P),
      db.query<{ v: string; n: number }>(
        `SELECT city AS v, count(*)::int AS n FROM contacts WHERE portal_id = $1 AND city IS NOT NULL AND city <> '' GROUP BY 1 HAVING count(*) >= $2 ORDER BY 2 DESC LIMIT 100`,
        [a.portal.id, minGroup],
      ),
      db.query<{ v: string }>(
        `SELECT DISTINCT jsonb_object_keys(uf) AS v FROM (SELECT uf FROM contacts WHERE portal_id = $1 LIMIT 2000) s ORDER BY 1`,
        P,
      ),
    ]);
    return {
      run: run ? { id: run.id, asOf: run.asOf } : null,
      scale: run ? runScale(run) : 5,
      segments: SEGMENT_CODES.map((c) => ({ code: c, ...segmentLabel(c, a.lang) })),
      lifecycles: LIFECYCLE_CODES.map((c) => ({ code: c, ...lifecycleLabel(c, a.lang) })),
      interests: interests.rows.map((x) => x.tag),
      interestNames: Object.fromEntries(interests.rows.map((x) => [x.tag, x.name || x.tag])),
      sources: sources.rows.map((x) => x.v),
      responsibles: responsibles.rows.map((x) => x.v),
      cities: cities.rows.map((x) => x.v),
      ufKeys: ufKeys.rows.map((x) => x.v).filter((k) => /^UF_CRM_[A-Z0-9_]{1,60}$/.test(k)),
      saved: readSection(a.portal.settings, 'savedSegments').value,
      minGroup: a.session.a ? null : MIN_GROUP,
    };
  }));

  return r;
}
