/** What the route factories share: their dependencies and the helpers about a request's portal. */
import { latestScoreRun, type Db, type Portal } from '../../../store/index.js';
import { checkFilterBounds, savedFilters, type CompileOptions, type SegmentFilter } from '../../../segments/index.js';
import { readSection } from '../../../settings/index.js';
import type { UiContext } from '../context.js';
import { HttpError, type Authed } from '../http.js';
import type { VisibilityHelpers } from '../visibility.js';

export interface RouteDeps {
  ctx: UiContext;
  /** the context's db, every statement bounded by the UI API's statement timeout */
  db: Db;
  vis: VisibilityHelpers;
}

/** The portal's saved segments by id (what `saved` conditions refer to). */
export const savedOf = (portal: Portal): Map<string, SegmentFilter> => savedFilters(readSection(portal.settings, 'savedSegments').value);

export const compileOpts = (a: Authed): CompileOptions => ({ saved: savedOf(a.portal) });

/** The filter's expansion is within the limits (src/segments/limits.ts); checked before any other work. */
export function bounded(a: Authed, filter: SegmentFilter): SegmentFilter {
  checkFilterBounds(filter, savedOf(a.portal));
  return filter;
}

/** The portal's latest score run; 409 NOT_SCORED before the first. */
export async function runOr404(db: Db, a: Authed) {
  const run = await latestScoreRun(db, a.portal.id);
  if (!run) throw new HttpError(409, 'NOT_SCORED', 'no scoring run yet: run the sync first');
  return run;
}

/** The filter of every contact. */
export const ALL: SegmentFilter = { all: [] };
