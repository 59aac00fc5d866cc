/**
 * What the isolation benchmark (bench/isolation.ts) and its integration test
 * (test/integration/ui-api-timeout.test.ts) load the UI API with: synthetic portals seeded with SQL
 * through the app's own score-run functions, and the most expensive filter the limits allow.
 */
import {
  checkFilterBounds, conditionValues, MAX_FILTER_DEPTH, MAX_FILTER_VALUES, segmentFilterSchema, type SegmentFilter,
} from '../../src/segments/index.js';
import { createScoreRun, finishScoreRun, vacuumLabelFacts, type Db } from '../../src/store/index.js';

const SEGMENTS = ['champions', 'loyal', 'potential_loyalist', 'new', 'promising', 'need_attention', 'about_to_sleep', 'at_risk', 'cant_lose', 'hibernating', 'lost', 'no_purchases'];
const LIFECYCLES = ['one_time', 'returning', 'regular', 'in_negotiation', 'uninterested', 'refused'];

export interface SeededPortal {
  portalId: number;
  runId: number;
  memberId: string;
}

/**
 * A portal with `contacts` contacts in `cities` distinct cities ("City-00042"; with more than 63
 * the count tables keep most of them as text, not as a code) and one done score run, written as
 * the app writes them: labels under a running run, then finishScoreRun (which rebuilds the count
 * tables, migration 005) and VACUUM / ANALYZE as runScoring does.
 */
export async function seedSyntheticPortal(db: Db, memberId: string, contacts: number, o: { cities?: number } = {}): Promise<SeededPortal> {
  const cities = o.cities ?? 5000;
  const p = await db.query<{ id: number }>(
    `INSERT INTO portals (member_id, domain, status) VALUES ($1, $2, 'active') RETURNING id`,
    [memberId, `${memberId}.test`],
  );
  const portalId = p.rows[0]!.id;
  await db.query(
    `INSERT INTO contacts (portal_id, id, name, last_name, source_id, assigned_by_id, city, has_email, has_phone, date_create, date_modify, uf)
     SELECT $1, g, 'N' || g, 'L' || g, (ARRAY['WEB','CALL','EMAIL','ADVERTISING','PARTNER'])[1 + g % 5], 1 + g % 40,
            'City-' || lpad((g % $3)::text, 5, '0'), g % 3 <> 0, g % 4 = 0,
            timestamptz '2020-01-01' + (g % 2000) * interval '1 day', timestamptz '2026-01-01' - (g % 300) * interval '1 day',
            jsonb_build_object('UF_CRM_TIER', CASE WHEN g % 10 = 0 THEN 'gold' WHEN g % 10 < 3 THEN 'silver' ELSE '' END)
       FROM generate_series(1, $2) g`,
    [portalId, contacts, cities],
  );
  const run = await createScoreRun(db, portalId, { asOf: new Date(Date.UTC(2026, 0, 1)), status: 'running', settings: { rfm: { scale: 5 } } });
  await db.query(
    `INSERT INTO contact_labels (portal_id, run_id, contact_id, segment, rfm, r, f, m, recency_days, frequency, monetary,
                                 first_purchase, last_purchase, lifecycle, sleeping, p_alive, clv, interests, extra)
     SELECT $1, $2, g, ($4::text[])[(1 + (g * 7919) % 12)::int],
            (1 + g % 5)::text || (1 + (g / 5) % 5)::text || (1 + (g / 25) % 5)::text, 1 + g % 5, 1 + (g / 5) % 5, 1 + (g / 25) % 5,
            (g * 31) % 1000, 1 + g % 12, ((g * 7907) % 100000)::numeric,
            date '2022-01-01' + (g % 700)::int, date '2026-01-01' - ((g * 31) % 1000)::int,
            ($5::text[])[(1 + g % 6)::int], g % 11 = 0, ((g * 13) % 100) / 100.0, ((g * 17) % 50000)::numeric,
            CASE g % 4 WHEN 0 THEN ARRAY['bikes','tents'] WHEN 1 THEN ARRAY['bikes'] WHEN 2 THEN ARRAY['kayaks'] ELSE '{}'::text[] END,
            '{}'::jsonb
       FROM generate_series(1::bigint, $3::bigint) g`,
    [portalId, run.id, contacts, SEGMENTS, LIFECYCLES],
  );
  // statistics first: the count-table rebuild joins contacts to their distinct cities, and with no
  // statistics on a fresh table the planner may rescan them per row (minutes at 30k contacts)
  if (db.kind === 'postgres') await db.exec('ANALYZE contacts; ANALYZE contact_labels;');
  await finishScoreRun(db, portalId, run.id, { status: 'done' });
  if (db.kind === 'postgres') {
    await vacuumLabelFacts(db, portalId);
  }
  return { portalId, runId: run.id, memberId };
}

/** `city contains` with n values: none match, or (matchLast) only the last one ("city"). */
const cityContains = (tag: string, n: number, matchLast: boolean) => ({
  field: 'city',
  op: 'contains',
  values: Array.from({ length: n }, (_, i) => (matchLast && i === n - 1 ? 'city' : `zz-no-such-city-${tag}-${i}`)),
});

/**
 * The most expensive filter the limits allow (that we know of). Cost grows with the text
 * patterns evaluated per row (LIKE over the count tables for cities without a code, ILIKE over
 * the join) and with planning them, so it spends the whole MAX_FILTER_VALUES budget on `city
 * contains` patterns and lets no short circuit skip any: the deepest nesting (MAX_FILTER_DEPTH
 * exclusions), and on each level an `any` group of never-matching patterns closed by a condition
 * that always holds, and an `all` condition whose last pattern is the one that matches. With an
 * even number of exclusions the answer is every contact.
 */
export function worstCaseFilter(): SegmentFilter {
  const levels = MAX_FILTER_DEPTH + 1;
  const per = Math.floor(MAX_FILTER_VALUES / levels);
  const anyPatterns = Math.min(100, per - 2);
  const allPatterns = Math.min(100, per - anyPatterns - 1);
  let f: Record<string, unknown> | undefined;
  for (let lv = levels - 1; lv >= 0; lv--) {
    const any = [cityContains(`${lv}`, anyPatterns, false), { field: 'range', key: 'r', min: 1 }];
    const all = [cityContains(`${lv}-all`, allPatterns, true)];
    f = { all, any, ...(f ? { exclude: f } : {}) };
  }
  const filter = segmentFilterSchema.parse(f);
  checkFilterBounds(filter); // allowed: within every limit
  return filter;
}

/** How many values the filter's conditions hold (no saved references). */
export function valueCount(f: SegmentFilter): number {
  return [...f.all, ...(f.any ?? [])].reduce((s, c) => s + conditionValues(c), 0) + (f.exclude ? valueCount(f.exclude) : 0);
}

/** How many conditions the filter holds (no saved references). */
export function conditionCount(f: SegmentFilter): number {
  return f.all.length + (f.any?.length ?? 0) + (f.exclude ? conditionCount(f.exclude) : 0);
}

export const pct = (xs: readonly number[], p: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
