/**
 * Read side of the UI API for segments: live counts, pages, CSV rows, quality, and the sums over
 * a non-admin's visible contacts. All SQL is parameterised; filters compile through src/segments.
 * The dashboard, one contact's card and the settings preview have their own files
 * (dashboard-query.ts, contact-card.ts, preview.ts).
 */
import type { Db } from '../../store/index.js';
import { readFactsDicts, type FactsDicts } from '../../store/index.js';
import {
  CompanySets, companyCubeAnswers, compileCount, compileFilter, cubeAnswers, DictSearches, labelsFrom, runDictSearches, REVENUE_SQL, SORT_COLUMNS, type CompileOptions, type SegmentFilter, type SortColumn,
  type CompiledCount, type ReadCompanySet,
} from '../../segments/index.js';
import { CompanySetCache, fingerprinted, sameFingerprint, setsOf } from './company-set-cache.js';

/**
 * Revenue of a contact in the run = M (total purchase value in base currency with the default
 * `rfm.monetary: 'total'`), a plain column (label_cube sums it per cell, label_facts copies it).
 */
export { REVENUE_SQL };

export interface ListRow {
  id: number;
  name: string;
  segment: string | null;
  rfm: string | null;
  monetary: number | null;
  clv: number | null;
  pAlive: number | null;
  lastPurchase: string | null;
  recencyDays: number | null;
  frequency: number | null;
  lifecycle: string | null;
  sleeping: boolean;
  interests: string[];
  hasEmail: boolean;
  hasPhone: boolean;
  city: string | null;
  sourceId: string | null;
  assignedById: number | null;
  nextPurchase: string | null;
  /** tag → display name (section name for unmapped sections) */
  interestNames: Record<string, string> | null;
  /** when the run keeps them: each tag's window end (active and lapsed), and every tag ever bought */
  interestUntil: Record<string, string> | null;
  interestsEver: string[] | null;
}

export const ROW_SELECT = `l.contact_id AS id,
  trim(coalesce(c.name, '') || ' ' || coalesce(c.last_name, '')) AS name,
  l.segment, l.rfm, l.monetary, l.clv, l.p_alive AS "pAlive", l.last_purchase AS "lastPurchase",
  l.recency_days AS "recencyDays", l.frequency, l.lifecycle, l.sleeping, l.interests,
  c.has_email AS "hasEmail", c.has_phone AS "hasPhone", c.city, c.source_id AS "sourceId", c.assigned_by_id AS "assignedById",
  l.next_purchase AS "nextPurchase", l.extra->'interestNames' AS "interestNames", l.extra->'interestUntil' AS "interestUntil",
  l.extra->'interestsEver' AS "interestsEver"`;

/**
 * The portals' count-table dictionaries, per database handle: read once, then checked by every
 * query compiled with them (its `tracked` is false once a rebuild has replaced them, and they are
 * read again).
 */
const dictsCache = new WeakMap<Db, Map<number, FactsDicts>>();
/** The live count's company sets, per database handle (company-set-cache.ts). */
const companySetCaches = new WeakMap<Db, CompanySetCache>();

/**
 * The filter builder's live count: contacts of the run matching f, and their revenue. Answered
 * from label_cube (filters on segment / lifecycle / RFM / R, F, M / sleeping only) or label_facts
 * (migration 005), which hold the portal's latest done run; for any other run (or before the
 * first tracked one) from contact_labels joined to contacts. Same numbers either way.
 */
export async function countSegment(db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions) {
  if (opts.entity === 'company') {
    // companies (B2B) have no count tables: counted over their labels
  } else if (cubeAnswers(f, opts.saved)) {
    const c = compileCount(portalId, runId, f, opts);
    const { rows } = await db.query<CountRow>(c.sql, c.params);
    if (rows[0]?.tracked) return { count: rows[0].count, revenue: rows[0].revenue };
  } else if (companyCubeAnswers(f, opts.saved)) {
    // company conditions only (label_company_cube): no dictionaries; the sets as for label_facts
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await runCount(db, portalId, COMPANY_CUBE_KEY, (o) => compileCount(portalId, runId, f, { ...opts, ...o }));
      if (r === 'changed') continue;
      if (r?.tracked) return { count: r.count, revenue: r.revenue };
      break;
    }
  } else {
    let cache = dictsCache.get(db);
    if (!cache) dictsCache.set(db, (cache = new Map()));
    for (let attempt = 0; attempt < 2; attempt++) {
      let dicts = cache.get(portalId);
      if (!dicts || dicts.runId !== runId || attempt > 0) {
        dicts = (await readFactsDicts(db, portalId)) ?? undefined;
        if (dicts) cache.set(portalId, dicts);
        else cache.delete(portalId);
      }
      if (!dicts || dicts.runId !== runId) break;
      const d = dicts;
      const r = await runCount(db, portalId, d.tbl, (o) => compileCount(portalId, runId, f, { ...opts, ...o }, d), d);
      if (r === 'changed') continue;
      if (r?.tracked) return { count: r.count, revenue: r.revenue };
    }
  }
  const q = compileFilter(portalId, runId, f, opts);
  const { rows: slow } = await db.query<{ count: number; revenue: number }>(
    `SELECT count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue ${q.fromWhere}`,
    q.params,
  );
  return slow[0] ?? { count: 0, revenue: 0 };
}

type CountRow = { tracked: boolean; count: number; revenue: number };
/** The company sets of label_company_cube's counts, kept apart from any partition's (they do not depend on one). */
const COMPANY_CUBE_KEY = 'label_company_cube';

/**
 * Runs a count over the count tables: compiled, then with its dictionary searches (with `dicts`)
 * and company sets as constants (src/segments/dict-search.ts, company-sets.ts; the sets kept
 * between counts for the key `tbl` while the portal's companies are unchanged). 'changed': a
 * company changed since a set was read (the portal's sets are dropped; count again).
 */
async function runCount(
  db: Db, portalId: number, tbl: string, compile: (o: Pick<CompileOptions, 'searches' | 'companies'>) => CompiledCount, dicts?: FactsDicts,
): Promise<CountRow | 'changed' | undefined> {
  let sets = companySetCaches.get(db);
  if (!sets) companySetCaches.set(db, (sets = new CompanySetCache()));
  let c = compile({});
  let read: Map<string, ReadCompanySet> | undefined;
  if (c.unresolved || c.unresolvedCompanies) {
    const searches = new DictSearches(c.unresolved && dicts ? await runDictSearches(db, dicts, c.unresolved) : undefined);
    read = c.unresolvedCompanies ? await sets.get(db, portalId, tbl, c.unresolvedCompanies) : undefined;
    c = compile({ searches, companies: new CompanySets(read && setsOf(read)) });
  }
  const { rows } = await db.query<CountRow & { fp?: string }>(read ? fingerprinted(c.sql) : c.sql, c.params);
  if (read && !sameFingerprint(read, rows[0]!.fp!)) {
    sets.drop(portalId);
    return 'changed';
  }
  return rows[0];
}

/** Totals of the run (for shares): from label_cube when it holds the run, else from contact_labels (company_labels for companies). */
export async function runTotals(db: Db, portalId: number, runId: number, entity: CompileOptions['entity'] = 'contact') {
  return countSegment(db, portalId, runId, { all: [] }, { entity });
}

export interface PageRequest {
  sort: SortColumn;
  dir: 'asc' | 'desc';
  offset: number;
  limit: number;
}

export async function pageSegment(db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions, pg: PageRequest): Promise<ListRow[]> {
  const q = compileFilter(portalId, runId, f, opts, true);
  const col = SORT_COLUMNS[pg.sort];
  const dir = pg.dir === 'desc' ? 'DESC NULLS LAST' : 'ASC NULLS LAST';
  const n = q.params.length;
  const { rows } = await db.query<ListRow>(
    `SELECT ${ROW_SELECT} ${q.fromWhere} ORDER BY ${col} ${dir}, l.contact_id ${pg.dir === 'desc' ? 'DESC' : 'ASC'} LIMIT $${n + 1} OFFSET $${n + 2}`,
    [...q.params, pg.limit, pg.offset],
  );
  return rows;
}

/**
 * All matching rows in the screen's order (sort column, then contact id), in batches (CSV export):
 * the sorted ids in one query, then the rows by id per batch.
 */
export async function* iterateSegmentSorted(
  db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions, sort: SortColumn, dir: 'asc' | 'desc', batch = 2000,
): AsyncGenerator<ListRow[]> {
  const q = compileFilter(portalId, runId, f, opts, true);
  const d = dir === 'desc' ? 'DESC' : 'ASC';
  const { rows: idRows } = await db.query<{ id: number }>(
    `SELECT l.contact_id AS id ${q.fromWhere} ORDER BY ${SORT_COLUMNS[sort]} ${d} NULLS LAST, l.contact_id ${d}`,
    q.params,
  );
  const ids = idRows.map((r) => Number(r.id));
  for (let i = 0; i < ids.length; i += batch) {
    const chunk = ids.slice(i, i + batch);
    const { rows } = await db.query<ListRow>(
      `SELECT ${ROW_SELECT} ${labelsFrom(true, opts.entity)}
        WHERE l.portal_id = $1 AND l.run_id = $2 AND l.contact_id = ANY($3::bigint[])`,
      [portalId, runId, chunk],
    );
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    yield chunk.map((id) => byId.get(id)).filter((r): r is ListRow => r !== undefined);
  }
}

/** All matching rows in contact id order, in batches. */
export async function* iterateSegment(db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions, batch = 2000): AsyncGenerator<ListRow[]> {
  const q = compileFilter(portalId, runId, f, opts, true);
  const n = q.params.length;
  let after = -1;
  for (;;) {
    const { rows } = await db.query<ListRow>(
      `SELECT ${ROW_SELECT} ${q.fromWhere} AND l.contact_id > $${n + 1} ORDER BY l.contact_id LIMIT $${n + 2}`,
      [...q.params, after, batch],
    );
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!.id;
    if (rows.length < batch) return;
  }
}

export interface SegmentQuality {
  size: number;
  emailShare: number;
  phoneShare: number;
  reachableShare: number;
  revenue: number;
  revenueShare: number;
  openDeals: number;
  openDealsValue: number;
  /** won / (won + lost) of the segment's deals closed in the last 90 days of the data; null if none */
  winRate90: number | null;
}

/**
 * Count, revenue and reach of the filter's rows among the given contact ids (a non-admin's
 * visible set, at most a few tens of thousands): one aggregate with `contact_id = ANY(ids)`, so
 * the rows are found by the label key instead of reading the whole segment.
 */
export async function visibleSegmentSums(db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions, ids: readonly number[]) {
  const q = compileFilter(portalId, runId, f, opts, true);
  const n = q.params.length;
  const { rows } = await db.query<{ count: number; revenue: number; email: number; phone: number; reach: number }>(
    `SELECT count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue,
            count(*) FILTER (WHERE c.has_email)::int AS email, count(*) FILTER (WHERE c.has_phone)::int AS phone,
            count(*) FILTER (WHERE c.has_email OR c.has_phone)::int AS reach
       ${q.fromWhere} AND l.contact_id = ANY($${n + 1}::bigint[])`,
    [...q.params, [...ids]],
  );
  const r = rows[0]!;
  return { count: r.count, revenue: r.revenue, email: r.email, phone: r.phone, reach: r.reach };
}

export async function segmentQuality(db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions): Promise<SegmentQuality> {
  const q = compileFilter(portalId, runId, f, opts, true);
  const [{ rows: a }, totals] = await Promise.all([
    db.query<{ size: number; email: number; phone: number; reach: number; revenue: number }>(
      `SELECT count(*)::int AS size, count(*) FILTER (WHERE c.has_email)::int AS email, count(*) FILTER (WHERE c.has_phone)::int AS phone,
              count(*) FILTER (WHERE c.has_email OR c.has_phone)::int AS reach, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue
         ${q.fromWhere}`,
      q.params,
    ),
    runTotals(db, portalId, runId, opts.entity),
  ]);
  const n = q.params.length;
  const { rows: d } = await db.query<{ open: number; openValue: number; won: number; lost: number }>(
    `WITH seg AS (SELECT l.contact_id ${q.fromWhere}),
          dl AS (SELECT DISTINCT d.id, d.stage_semantic, d.close_date, COALESCE(d.opportunity_base, d.opportunity, 0) AS amount
                   FROM seg ${opts.entity === 'company'
                     ? 'JOIN deals d ON d.portal_id = $1 AND d.company_id = seg.contact_id'
                     : `JOIN deal_contacts dc ON dc.portal_id = $1 AND dc.contact_id = seg.contact_id
                   JOIN deals d ON d.portal_id = $1 AND d.id = dc.deal_id`}),
          lastday AS (SELECT max(close_date) AS m FROM deals WHERE portal_id = $1 AND stage_semantic IN ('S', 'F'))
     SELECT count(*) FILTER (WHERE stage_semantic = 'P')::int AS open,
            COALESCE(sum(amount) FILTER (WHERE stage_semantic = 'P'), 0)::float8 AS "openValue",
            count(*) FILTER (WHERE stage_semantic = 'S' AND close_date > (SELECT m FROM lastday) - $${n + 1}::int)::int AS won,
            count(*) FILTER (WHERE stage_semantic = 'F' AND close_date > (SELECT m FROM lastday) - $${n + 1}::int)::int AS lost
       FROM dl`,
    [...q.params, 90],
  );
  const r = a[0]!;
  const dd = d[0] ?? { open: 0, openValue: 0, won: 0, lost: 0 };
  const share = (x: number) => (r.size ? x / r.size : 0);
  return {
    size: r.size,
    emailShare: share(r.email),
    phoneShare: share(r.phone),
    reachableShare: share(r.reach),
    revenue: r.revenue,
    revenueShare: totals.revenue ? r.revenue / totals.revenue : 0,
    openDeals: dd.open,
    openDealsValue: dd.openValue,
    winRate90: dd.won + dd.lost > 0 ? dd.won / (dd.won + dd.lost) : null,
  };
}
