/**
 * The members of a saved segment in the portal's latest done score run (contacts, or companies
 * with the B2B option), through the segment compiler: what a campaign freezes at creation.
 */
import { compileFilter, savedFilters, usableSavedSegments } from '../segments/index.js';
import { readSection } from '../settings/index.js';
import { getPortal, latestScoreRun, runHasCompanies, type Db } from '../store/index.js';
import { CampaignError } from './errors.js';
import { MAX_CAMPAIGN_MEMBERS, type CampaignEntity } from './schema.js';

export interface SegmentMembers {
  runId: number;
  segmentName: string;
  ids: number[];
}

/** The members' ids (ascending); refuses an unknown segment (404), no run (409), too many members (400). */
export async function savedSegmentMembers(db: Db, portalId: number, segmentId: string, entity: CampaignEntity): Promise<SegmentMembers> {
  const portal = await getPortal(db, portalId);
  const list = readSection(portal?.settings, 'savedSegments').value;
  const seg = list.find((s) => s.id === segmentId);
  if (!seg) throw new CampaignError(404, 'SEGMENT_NOT_FOUND', `no saved segment "${segmentId}"`);
  const run = await latestScoreRun(db, portalId);
  if (!run) throw new CampaignError(409, 'NO_RUN', 'the customers have not been scored yet: run a sync first');
  if (entity === 'company' && !(await runHasCompanies(db, portalId, run.id))) {
    throw new CampaignError(409, 'NO_COMPANIES', 'the latest run labelled no companies: turn on the B2B option and score again');
  }
  const { usable } = usableSavedSegments(list);
  const q = compileFilter(portalId, run.id, { all: [{ field: 'saved', id: segmentId }] }, { saved: savedFilters(usable), entity });
  const n = q.params.length;
  const { rows } = await db.query<{ id: number }>(`SELECT l.contact_id AS id ${q.fromWhere} ORDER BY l.contact_id LIMIT $${n + 1}`, [...q.params, MAX_CAMPAIGN_MEMBERS + 1]);
  if (rows.length > MAX_CAMPAIGN_MEMBERS) {
    throw new CampaignError(400, 'TOO_MANY_MEMBERS', `a campaign takes at most ${MAX_CAMPAIGN_MEMBERS} members; narrow the segment`);
  }
  if (!rows.length) throw new CampaignError(400, 'EMPTY_SEGMENT', `the saved segment "${seg.name}" has no members in the latest run`);
  return { runId: run.id, segmentName: seg.name, ids: rows.map((r) => Number(r.id)) };
}
