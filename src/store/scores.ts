/**
 * Scoring results: score_runs (one snapshot per scoring pass) and contact_labels
 * (one row per contact per run). Minimal API; the scoring engineer may extend it.
 */
import type { Db } from './db.js';
import type { FactsDicts } from '../segments/facts.js';
import { bulkUpsert, dateOnly, json, type Col, type Timestamp } from './bulk.js';
import { KIND_TABLES, type CustomerKind } from './customer-kinds.js';

export interface ScoreRun {
  id: number;
  portalId: number;
  asOf: Date;
  status: 'running' | 'done' | 'failed';
  settings: Record<string, unknown>;
  thresholds: Record<string, unknown>;
  fits: Record<string, unknown>;
  counts: Record<string, unknown>;
  createdAt: Date;
}

const RUN_COLS = `id, portal_id AS "portalId", as_of AS "asOf", status, settings, thresholds, fits, counts, created_at AS "createdAt"`;

export async function createScoreRun(
  db: Db,
  portalId: number,
  run: { asOf: Date; status?: ScoreRun['status']; settings?: object; thresholds?: object; fits?: object; counts?: object },
): Promise<ScoreRun> {
  const { rows } = await db.query<ScoreRun>(
    `INSERT INTO score_runs (portal_id, as_of, status, settings, thresholds, fits, counts)
     VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7::jsonb) RETURNING ${RUN_COLS}`,
    [
      portalId,
      run.asOf,
      run.status ?? 'done',
      JSON.stringify(run.settings ?? {}),
      JSON.stringify(run.thresholds ?? {}),
      JSON.stringify(run.fits ?? {}),
      JSON.stringify(run.counts ?? {}),
    ],
  );
  return rows[0]!;
}

export async function finishScoreRun(
  db: Db,
  portalId: number,
  runId: number,
  patch: { status: ScoreRun['status']; counts?: object; fits?: object; thresholds?: object },
): Promise<void> {
  await db.query(
    `UPDATE score_runs SET status = $3, counts = COALESCE($4::jsonb, counts), fits = COALESCE($5::jsonb, fits),
       thresholds = COALESCE($6::jsonb, thresholds) WHERE portal_id = $1 AND id = $2`,
    [portalId, runId, patch.status, json(patch.counts), json(patch.fits), json(patch.thresholds)],
  );
}

export async function latestScoreRun(db: Db, portalId: number): Promise<ScoreRun | null> {
  const { rows } = await db.query<ScoreRun>(
    `SELECT ${RUN_COLS} FROM score_runs WHERE portal_id = $1 AND status = 'done' ORDER BY created_at DESC, id DESC LIMIT 1`,
    [portalId],
  );
  return rows[0] ?? null;
}

export interface ContactLabelInput {
  contactId: number;
  segment?: string | null;
  rfm?: string | null;
  r?: number | null;
  f?: number | null;
  m?: number | null;
  recencyDays?: number | null;
  frequency?: number | null;
  monetary?: number | null;
  firstPurchase?: Timestamp | null;
  lastPurchase?: Timestamp | null;
  lifecycle?: string | null;
  sleeping?: boolean | null;
  pAlive?: number | null;
  clv?: number | null;
  nextPurchase?: Timestamp | null;
  interests?: string[] | null;
  extra?: Record<string, unknown> | null;
}

export type ContactLabel = Required<{ [K in keyof ContactLabelInput]: Exclude<ContactLabelInput[K], undefined> }> & {
  firstPurchase: string | null;
  lastPurchase: string | null;
  nextPurchase: string | null;
  sleeping: boolean;
  interests: string[];
  extra: Record<string, unknown>;
};

type LabelRow = ContactLabelInput & { runId: number };

const labelColsOf = (idCol: string): Col<LabelRow>[] => [
  { name: 'run_id', type: 'bigint', get: (r) => r.runId },
  { name: idCol, type: 'bigint', get: (r) => r.contactId },
  { name: 'segment', type: 'text', get: (r) => r.segment },
  { name: 'rfm', type: 'text', get: (r) => r.rfm },
  { name: 'r', type: 'smallint', get: (r) => r.r },
  { name: 'f', type: 'smallint', get: (r) => r.f },
  { name: 'm', type: 'smallint', get: (r) => r.m },
  { name: 'recency_days', type: 'integer', get: (r) => r.recencyDays },
  { name: 'frequency', type: 'integer', get: (r) => r.frequency },
  { name: 'monetary', type: 'numeric', get: (r) => r.monetary },
  { name: 'first_purchase', type: 'date', get: (r) => dateOnly(r.firstPurchase) },
  { name: 'last_purchase', type: 'date', get: (r) => dateOnly(r.lastPurchase) },
  { name: 'lifecycle', type: 'text', get: (r) => r.lifecycle },
  { name: 'sleeping', type: 'boolean', get: (r) => r.sleeping ?? false },
  { name: 'p_alive', type: 'double precision', get: (r) => r.pAlive },
  { name: 'clv', type: 'numeric', get: (r) => r.clv },
  { name: 'next_purchase', type: 'date', get: (r) => dateOnly(r.nextPurchase) },
  // text[] cannot be unnested as a 2-D array portably: travel as JSON, cast per row.
  {
    name: 'interests',
    type: 'jsonb',
    get: (r) => json(r.interests ?? []),
    expr: (u) => `ARRAY(SELECT jsonb_array_elements_text(${u}::jsonb))`,
  },
  { name: 'extra', type: 'jsonb', get: (r) => json(r.extra ?? {}) },
];

const LABEL_COLS: Record<CustomerKind, Col<LabelRow>[]> = { contact: labelColsOf('contact_id'), company: labelColsOf('company_id') };

/** Bulk-writes labels of one run (upsert on (portal_id, run_id, contact_id)). */
export async function insertContactLabels(db: Db, portalId: number, runId: number, labels: readonly ContactLabelInput[]): Promise<number> {
  return insertLabels(db, 'contact', portalId, runId, labels);
}

/**
 * Bulk-writes labels of one run for a kind of customer (upsert on (portal_id, run_id, <id>));
 * `contactId` of each row is the customer's id (the company's id for kind 'company').
 */
export async function insertLabels(db: Db, kind: CustomerKind, portalId: number, runId: number, labels: readonly ContactLabelInput[]): Promise<number> {
  const t = KIND_TABLES[kind];
  return bulkUpsert(db, t.labels, portalId, labels.map((l) => ({ ...l, runId })), LABEL_COLS[kind], ['run_id', t.id], (r) => r.contactId);
}

const LABEL_SELECT = `contact_id AS "contactId", segment, rfm, r, f, m, recency_days AS "recencyDays", frequency, monetary,
  first_purchase AS "firstPurchase", last_purchase AS "lastPurchase", lifecycle, sleeping, p_alive AS "pAlive", clv,
  next_purchase AS "nextPurchase", interests, extra`;

export interface LabelFilter {
  segment?: string;
  lifecycle?: string;
  sleeping?: boolean;
  /** Keyset pagination: contact ids greater than this. */
  afterContactId?: number;
  limit?: number;
}

export async function queryContactLabels(db: Db, portalId: number, runId: number, f: LabelFilter = {}): Promise<ContactLabel[]> {
  const { rows } = await db.query<ContactLabel>(
    `SELECT ${LABEL_SELECT} FROM contact_labels
      WHERE portal_id = $1 AND run_id = $2
        AND ($3::text IS NULL OR segment = $3) AND ($4::text IS NULL OR lifecycle = $4)
        AND ($5::boolean IS NULL OR sleeping = $5) AND contact_id > $6
      ORDER BY contact_id LIMIT $7`,
    [portalId, runId, f.segment ?? null, f.lifecycle ?? null, f.sleeping ?? null, f.afterContactId ?? -1, f.limit ?? 1000],
  );
  return rows;
}

/** Contacts per segment (or lifecycle) in one run. */
export async function countLabelsBy(
  db: Db,
  portalId: number,
  runId: number,
  by: 'segment' | 'lifecycle' | 'sleeping',
): Promise<Array<{ key: string | boolean | null; count: number }>> {
  if (!['segment', 'lifecycle', 'sleeping'].includes(by)) throw new Error(`countLabelsBy: bad column ${by}`);
  const { rows } = await db.query<{ key: string | boolean | null; count: number }>(
    `SELECT ${by} AS key, count(*)::int AS count FROM contact_labels WHERE portal_id = $1 AND run_id = $2 GROUP BY ${by} ORDER BY 2 DESC`,
    [portalId, runId],
  );
  return rows;
}

/** Keeps the newest `keep` runs of the portal (labels cascade). Returns runs deleted. */
export async function pruneScoreRuns(db: Db, portalId: number, keep: number): Promise<number> {
  const r = await db.query(
    `DELETE FROM score_runs WHERE portal_id = $1 AND id NOT IN (
       SELECT id FROM score_runs WHERE portal_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)`,
    [portalId, keep],
  );
  return r.rowCount;
}

/**
 * After a full scoring run, whose finish rebuilt the portal's count tables (migration 005: a new
 * label_facts partition, filled, indexed and analyzed, its label_cube cells and, migration 030, its
 * label_company_cube rows): VACUUM the new partition (visibility map and hint bits set now, not by
 * the first counts), label_cube and label_company_cube (their rows are rewritten by every
 * rescoring) and contact_field_values (the "any field" filter reads it index-only). The partition
 * is the portal's own; the shared tables only when
 * `sharedMaintenanceDue` says so. Not inside a transaction (VACUUM cannot run in one).
 */
export async function vacuumLabelFacts(db: Db, portalId: number, customers = BIG_RUN_ROWS): Promise<void> {
  const { rows } = await db.query<{ tbl: string }>(`SELECT tbl FROM label_facts_run WHERE portal_id = $1`, [portalId]);
  const tbl = rows[0]?.tbl;
  if (tbl && /^label_facts_\d+_\d+$/.test(tbl)) await db.exec(`VACUUM ${tbl}`);
  if (await sharedMaintenanceDue(db, 'label_cube', portalId, customers)) await db.exec('VACUUM (ANALYZE) label_cube');
  // the contacts per company (migration 030), built with the partition
  if (await sharedMaintenanceDue(db, 'label_company_cube', portalId, customers)) await db.exec('VACUUM (ANALYZE) label_company_cube');
  // the field values the sync wrote before the run (migration 021): visible to index-only scans now
  if (await sharedMaintenanceDue(db, 'contact_field_values', portalId, customers)) await db.exec('VACUUM (ANALYZE) contact_field_values');
}

/**
 * Fresh planner statistics of contact_labels after a run added its `rows` rows. PostgreSQL's autovacuum
 * would get there eventually; PGlite has none, and with the statistics of an empty table the
 * planner joins two runs' labels (the dashboard's movement) or a run's labels with their own
 * aggregate (the value bands) in nested loops: seconds instead of milliseconds at a few thousand
 * contacts. ANALYZE reads a sample (30,000 rows by default) of the whole table, all portals' rows;
 * on PostgreSQL it runs only when `sharedMaintenanceDue` says so.
 */
export async function analyzeLabels(db: Db, kind: CustomerKind = 'contact', portalId?: number, rows = BIG_RUN_ROWS): Promise<void> {
  const table = KIND_TABLES[kind].labels;
  if (portalId !== undefined && !(await sharedMaintenanceDue(db, table, portalId, rows))) return;
  await db.exec(`ANALYZE ${table}`);
}

/** A run of at least this many customers gets its shared tables analyzed and vacuumed right away. */
export const BIG_RUN_ROWS = 10_000;

/**
 * Whether a run of `customers` customers should ANALYZE / VACUUM a table that all portals share,
 * now, instead of leaving it to PostgreSQL's autovacuum:
 *  - PGlite: always (it has no autovacuum; one process, few portals, small tables);
 *  - a big run (≥ BIG_RUN_ROWS): the planner's guesses about its rows matter (a second run of 100k
 *    contacts with stale statistics rebuilt its count tables in > 12 min instead of 33 s), and the
 *    maintenance is small next to the run;
 *  - a table this portal makes up a fifth or more of (statistics never taken: always).
 * Otherwise not: 1,000 portals of 1k contacts each ran a whole-table ANALYZE and two whole-table VACUUMs
 * per cycle, 2–3 s each and growing with the table, and the night grew with the square of the portals
 * (docs/benchmarks.md "portals"). A small portal's queries are fast with the average statistics
 * autovacuum keeps.
 */
export async function sharedMaintenanceDue(db: Db, table: string, portalId: number, customers: number): Promise<boolean> {
  if (db.kind === 'pglite' || customers >= BIG_RUN_ROWS) return true;
  const { rows } = await db.query<{ total: number; own: number }>(
    `SELECT (SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass($1)) AS total,
            (SELECT count(*)::float8 FROM ${table} WHERE portal_id = $2) AS own`,
    [table, portalId],
  );
  const { total, own } = rows[0] ?? { total: -1, own: 0 };
  return total === null || total < 0 || own * 5 >= total;
}

/** A portal's count-table dictionaries (label_facts_run, migration 005); the type is the filter compiler's (src/segments/facts.ts). */
export type { FactsDicts };

/**
 * A portal's count-table dictionaries, and from the statistics of its partition (pg_stats: the
 * rebuild's ANALYZE, then autovacuum's) the share of rows with each *_rest column set (facts.ts REST_COLS) (absent
 * when the column has no statistics): how a count that tests them is written (facts.ts splitsRest).
 */
export async function readFactsDicts(db: Db, portalId: number): Promise<FactsDicts | null> {
  const { rows } = await db.query<FactsDicts & { restShare: FactsDicts['restShare'] | null }>(
    `SELECT t.run_id AS "runId", t.tbl, t.itags, t.ukeys, t.uvals, t.segs, t.lcs, t.srcs, t.cities, t.posts, t.urest_n AS "urestN",
            (SELECT jsonb_object_agg(s.attname, 1 - s.null_frac) FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename
               JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname
              WHERE c.oid = to_regclass(t.tbl) AND s.attname LIKE '%\\_rest') AS "restShare"
       FROM label_facts_run t WHERE t.portal_id = $1`,
    [portalId],
  );
  const r = rows[0];
  if (!r) return null;
  const { restShare, ...rest } = r;
  return restShare ? { ...rest, restShare } : rest;
}
