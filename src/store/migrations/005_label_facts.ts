/**
 * 005: fast segment counts (issue 5: "counts over 1M contacts under 100 ms p95").
 *
 * The UI's live count (POST /api/ui/segments/count) runs over the latest score run's labels. Over
 * contact_labels it read the run's rows out of a table holding every run, did numeric arithmetic,
 * and joined contacts for contact-own fields. Two derived tables answer it instead. Both hold only
 * the portal's latest done run (the one the UI counts) and triggers keep them in step, so every
 * writer (full scoring run, event rescoring, sync, raw SQL) keeps them right:
 *
 *  - label_facts_run (portal_id → run_id, partition, dictionaries): which run label_facts and
 *    label_cube hold. A run is tracked when it becomes the portal's latest 'done' run (created
 *    done, or finished as done): label_facts_rebuild() then builds the portal's rows from
 *    contact_labels. Deleting the run (cascade) or moving it out of 'done' drops them.
 *  - label_facts, partitioned by portal: one narrow row per labelled contact with the label
 *    columns the filters use (monetary and clv as float8: the filters compare them as float8
 *    anyway) and the contact's own filter columns (source, responsible, lower(city), has
 *    email/phone, its UF_CRM_* values without empty ones), plus has_contact (false when the
 *    contact row is gone: filters on contact fields then skip the label, as the join did).
 *    Interests and UF values are also bits: label_facts_run.itags / ukeys / uvals list the
 *    portal's (up to) 63 most common interest tags, non-empty UF_CRM_* keys and UF values (key and
 *    value text), bit i = element i + 1. imask holds a contact's tags that have a bit
 *    (interests_rest the others), ukeys its non-empty keys that have one, uvals its values that
 *    have one (uf_rest the others). A filter on those is an integer test instead of an array or
 *    jsonb operator per row (those copy and parse every value); the dictionaries themselves are
 *    searched once per query (e.g. which values contain "ilv"). Tags and values met after the
 *    rebuild have no bit and are tested on interests_rest / uf_rest, so the answer is exact.
 *    Triggers on contact_labels write the label part, triggers on contacts the contact part. A
 *    rebuild fills a new table in segment order (with an index on seg: a filter naming a few
 *    segments reads only their rows), analyzes it and swaps it in for the portal's old partition
 *    (dropped): the table is always exactly the run's size (deleting and re-inserting a million
 *    rows in place leaves the table half empty pages, and a scan reads them all), and a count
 *    scans its portal's partition only.
 *  - label_cube: count and revenue (sum of monetary, numeric, exact) per combination of segment,
 *    lifecycle, RFM cell, R, F, M and sleeping: filters on those alone (and the run totals) are
 *    sums over at most a few thousand rows. Kept by the contact_labels triggers (deltas).
 *
 * A count checks label_facts_run in the same query; for a run that is not the tracked one it
 * falls back to contact_labels joined to contacts (src/server/ui-api/queries.ts).
 */
export const name = 'label_facts';

/** label_facts columns, in table order: fixed-width NOT NULL first (cheap to read in a scan). */
const FACT_COLS = [
  'contact_id', 'portal_id', 'sleeping', 'has_contact', 'has_email', 'has_phone', 'imask', 'ukeys', 'uvals', 'urest',
  'seg', 'lc', 'src', 'city',
  'monetary', 'p_alive', 'clv', 'assigned_by_id', 'recency_days', 'frequency', 'last_purchase', 'r', 'f', 'm',
  'rfm', 'seg_rest', 'lc_rest', 'src_rest', 'city_rest', 'interests_rest', 'uf_rest',
];

/** SQL expressions of a portal's dictionaries (label_facts_run columns) where the facts are written. */
interface Dicts { itags: string; ukeys: string; uvals: string; segs: string; lcs: string; srcs: string; cities: string; posts: string }
const DICT_NAMES = ['itags', 'ukeys', 'uvals', 'segs', 'lcs', 'srcs', 'cities'] as const;
/** every dictionary a version of the writers can use: the job titles (`posts`, migration 028) last */
const ALL_DICTS = [...DICT_NAMES, 'posts'] as const;
/** the dictionaries the writers of options `o` read and write (FieldBits) */
const dictNames = (o: FieldBits): readonly string[] => (o.posts ? ALL_DICTS : DICT_NAMES);
const dictsOf = (prefix: string): Dicts => Object.fromEntries(ALL_DICTS.map((n) => [n, `${prefix}${n}`])) as unknown as Dicts;

/**
 * The code of a value (position in its dictionary, at most 63 so a filter tests a code as a bit;
 * 0 when absent or NULL) found by the join `alias` (see codeJoin), and the value when it has none.
 */
const coded = (alias: string, v: string): [string, string] => [`COALESCE(${alias}.o, 0)::smallint`, `CASE WHEN ${alias}.o IS NULL THEN ${v} END`];
/** a hash join from a value to its code: alias(v, o) */
const codeJoin = (dict: string, alias: string, v: string) => `LEFT JOIN unnest(${dict}) WITH ORDINALITY ${alias}(v, o) ON ${alias}.v = ${v}`;
/** the joins of the label part: the codes of segment and lifecycle */
const labelJoins = (d: Dicts) => `${codeJoin(d.segs, 'sg', 'l.segment')}
      ${codeJoin(d.lcs, 'lg', 'l.lifecycle')}`;

/** The label part, from a contact_labels row l and the interests' bits ib (see ibits). */
const labelPart = (): Record<string, string> => {
  const [seg, segRest] = coded('sg', 'l.segment');
  const [lc, lcRest] = coded('lg', 'l.lifecycle');
  return {
    contact_id: 'l.contact_id', portal_id: 'l.portal_id', sleeping: 'l.sleeping', imask: 'COALESCE(ib.imask, 0)',
    seg, lc, monetary: 'l.monetary::float8', p_alive: 'l.p_alive', clv: 'l.clv::float8', recency_days: 'l.recency_days',
    frequency: 'l.frequency', last_purchase: 'l.last_purchase', r: 'l.r', f: 'l.f', m: 'l.m', rfm: 'l.rfm',
    seg_rest: segRest, lc_rest: lcRest, interests_rest: 'ib.rest',
  };
};
/**
 * Further contact columns a later migration adds to label_facts (012: birth date, job title,
 * created day, company): column → SQL over the contacts row c. Empty here: migration 005's own SQL.
 */
export type ExtraFacts = Readonly<Record<string, string>>;
const NONE: ExtraFacts = {};
/** label_facts columns with the extra ones (at the end). */
const factCols = (x: ExtraFacts) => [...FACT_COLS, ...Object.keys(x)];
/** The contact part, from a contacts row c (NULL when none), its UF values u and codes (see contactJoins). */
const contactPart = (x: ExtraFacts = NONE): Record<string, string> => {
  const [src, srcRest] = coded('sr', 'c.source_id');
  const [city, cityRest] = coded('ct', 'ct.lc');
  return {
    has_contact: 'c.id IS NOT NULL', has_email: 'COALESCE(c.has_email, false)', has_phone: 'COALESCE(c.has_phone, false)',
    ukeys: 'COALESCE(u.ukeys, 0)', uvals: 'COALESCE(u.uvals, 0)', urest: 'COALESCE(u.urest, 0)', src, city, assigned_by_id: 'c.assigned_by_id',
    src_rest: srcRest, city_rest: cityRest, uf_rest: 'u.rest', ...x,
  };
};
const factSelect = (x: ExtraFacts = NONE) => {
  const lp = labelPart();
  const cp = contactPart(x);
  return factCols(x).map((c) => lp[c] ?? cp[c]!).join(', ');
};
const labelCols = Object.keys(labelPart()).filter((c) => !['contact_id', 'portal_id'].includes(c));
const contactColsOf = (x: ExtraFacts) => Object.keys(contactPart(x));

/** A UF value as a dictionary entry: key, U+001F, the value's text (what ->> gives). */
const pair = (k: string, v: string) => `${k} || chr(31) || (${v} #>> '{}')`;
/** A UF value a pair bit can stand for: a string, number or boolean. */
const scalar = (v: string) => `jsonb_typeof(${v}) IN ('string', 'number', 'boolean')`;
/** Non-empty UF_CRM_* values only (null, "" and [] never match a filter the way they are kept). */
const KEEP = `left(e.key, 7) = 'UF_CRM_' AND e.value NOT IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb)`;
/**
 * Which of a contact's fields the key and value bits (ukeys, uvals, urest, uf_rest) code: its
 * UF_CRM_* values (this migration), or with `std` also its standard fields kept in contacts.std
 * (migration 012's column; migration 023 codes them, so a count on *any field* is a bit test in
 * the same scan). Standard and custom keys never collide (std keys do not start with UF_).
 */
export interface FieldBits {
  std?: boolean;
  /**
   * The job title coded too (migration 028): a dictionary of the 63 most common lower-cased titles
   * (label_facts_run.posts), and in the contact joins pt(o) = the title's position in it (NULL when
   * it has none), for the extra columns that hold the code and the rest.
   */
  posts?: boolean;
  /**
   * The writers and the rebuild take the portal's LABEL_FACTS_LOCK (migration 031): each trigger
   * function shared, for the portals of its transition table, before it reads label_facts_run;
   * the rebuild exclusive, before it reads anything. A write then either commits before the
   * rebuild reads (which sees it) or runs its trigger after the rebuild commits (on the new
   * partition, with the new dictionaries); without it a write that committed while a rebuild ran
   * was missing from the new partition.
   * One transaction should write one portal's count tables and run at most one rebuild: a writer
   * that already holds label_facts for another portal, or a transaction that rebuilds several
   * portals one after the other, can meet a rebuild in a deadlock (its DETACH waits for the table,
   * the other side for the portal's lock; PostgreSQL then aborts one, and a writer's statement
   * fails). The app's writers (sync, events, scoring, write-back) each write one portal per
   * transaction. A migration that rebuilds every portal takes all their locks first, in portal id
   * order (`SELECT pg_advisory_xact_lock(5005, portal_id) FROM (SELECT portal_id FROM
   * label_facts_run ORDER BY 1) t`): then a writer is either done before it starts, or waits
   * holding nothing it needs.
   */
  lock?: boolean;
  /**
   * SQL the rebuild runs around the swap of partitions (migration 031: label_company_cube, counted
   * from the new table `tbl` before the swap): `before` after the new table is analyzed, before the
   * old one is untracked (whose DETACH locks label_facts for every portal until the rebuild
   * commits); `after` once label_facts_run holds the new one.
   */
  aroundSwap?: { before: string; after: string };
}
/**
 * The advisory lock of a portal's count tables: pg_advisory_xact_lock(LABEL_FACTS_LOCK, portal id)
 * (the two-key form; the migrations' own lock is a single key, a different lock).
 */
export const LABEL_FACTS_LOCK = 5005;
/** The contact c's coded (key, value) pairs as e(key, value), and the condition that keeps them. */
const fieldsOf = (c: string, o: FieldBits) => o.std
  ? `LATERAL (SELECT s.key, s.value FROM jsonb_each(CASE WHEN jsonb_typeof(${c}.std) = 'object' THEN ${c}.std END) s WHERE left(s.key, 3) <> 'UF_'
                 UNION ALL
                 SELECT u.key, u.value FROM jsonb_each(CASE WHEN jsonb_typeof(${c}.uf) = 'object' THEN ${c}.uf END) u WHERE left(u.key, 7) = 'UF_CRM_') e`
  : `jsonb_each(CASE WHEN jsonb_typeof(${c}.uf) = 'object' THEN ${c}.uf END) e`;
const keepOf = (o: FieldBits) => (o.std ? `e.value NOT IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb)` : KEEP);
/**
 * With `std`, the key dictionary lists UF keys first (their bits as migration 005 gave them while
 * a portal has fewer than 63), then the standard ones; values stay the most common of both kinds
 * (a value many contacts hold is where a bit saves most). ORDER BY prefix for a key expression `e`.
 */
const ufFirst = (o: FieldBits, e: string) => (o.std ? `(left(${e}, 3) = 'UF_') DESC, ` : '');
/**
 * With `std`: how many contacts of the new partition have each key's urest bit (a value without a
 * value bit), per key bit: field-bits.ts reads contact_field_values for those contacts one by one,
 * so a key with many of them keeps the semi-join instead.
 */
const URESTN_SQL = `EXECUTE format($q$SELECT COALESCE(array_agg(COALESCE(r.n, 0)::int ORDER BY b.b), '{}') FROM generate_series(0, cardinality($1::text[]) - 1) b(b)
    LEFT JOIN (SELECT k.b, count(*) AS n FROM %I f, LATERAL (SELECT g FROM generate_series(0, 62) g WHERE (f.urest & (1::bigint << g)) <> 0) k(b)
                WHERE f.urest <> 0 GROUP BY k.b) r ON r.b = b.b$q$, tbl) INTO urest_n USING ukeys;
  `;
/**
 * The joins for the contact part of contact c: u(ukeys, uvals, urest, rest) = the bits of its
 * non-empty UF keys, of its UF values that are dictionary pairs, of the keys whose value is not,
 * and those values (NULL when none); sr = the code of its source; ct(lc, o) = lower(city) and its code. lower() follows the
 * collation and is dear on a million rows: the rebuild joins ct from its distinct cities instead.
 */
const contactJoins = (d: Dicts, cityJoin = `LEFT JOIN LATERAL (SELECT lower(c.city) AS lc, array_position(${d.cities}, lower(c.city)) AS o) ct ON true`, o: FieldBits = {},
  postJoin = `LEFT JOIN LATERAL (SELECT array_position(${d.posts}, lower(c.post)) AS o) pt ON true`) => `LEFT JOIN LATERAL (
      SELECT COALESCE(bit_or(1::bigint << (x.kp - 1)) FILTER (WHERE x.kp IS NOT NULL), 0) AS ukeys,
             COALESCE(bit_or(1::bigint << (x.vp - 1)) FILTER (WHERE x.vp IS NOT NULL), 0) AS uvals,
             COALESCE(bit_or(1::bigint << (x.kp - 1)) FILTER (WHERE x.kp IS NOT NULL AND x.vp IS NULL), 0) AS urest,
             jsonb_object_agg(x.key, x.value) FILTER (WHERE x.vp IS NULL${o.std ? " AND left(x.key, 3) = 'UF_'" : ''}) AS rest
        FROM (SELECT e.key, e.value, array_position(${d.ukeys}, e.key) AS kp,
                     CASE WHEN ${scalar('e.value')} THEN array_position(${d.uvals}, ${pair('e.key', 'e.value')}) END AS vp
                FROM ${fieldsOf('c', o)}
               WHERE ${keepOf(o)}) x) u ON true
      ${codeJoin(d.srcs, 'sr', 'c.source_id')}
      ${cityJoin}${o.posts ? `\n      ${postJoin}` : ''}`;
/** The bits and the rest of l.interests in the dictionary, as ib(imask, rest). */
const ibits = (d: Dicts) => `LATERAL (SELECT label_facts_bits(${d.itags}, l.interests) AS imask, label_facts_rest(${d.itags}, l.interests) AS rest) ib`;
const TR = dictsOf('tr.');
/** in label_facts_rebuild's INSERT: EXECUTE ... USING portal, run, then the dictionaries in dictNames order (posts last) */
const REBUILD = Object.fromEntries(ALL_DICTS.map((n, i) => [n, `$${i + 3}`])) as unknown as Dicts;

const CUBE_DIMS = ['portal_id', 'run_id', 'segment', 'lifecycle', 'rfm', 'r', 'f', 'm', 'sleeping'];
const dims = (alias: string) => CUBE_DIMS.map((d) => `${alias}.${d}`).join(', ');
/** cube deltas of a transition table (sign +1 / -1) for one tracked portal and run */
const cubeRows = (table: string, sign: string) =>
  `SELECT ${dims('x')}, ${sign} AS dn, ${sign} * COALESCE(x.monetary, 0) AS drev
         FROM ${table} x WHERE x.portal_id = tr.portal_id AND x.run_id = tr.run_id`;
const cubeApply = (parts: string[]) => `INSERT INTO label_cube (${CUBE_DIMS.join(', ')}, n, revenue)
      SELECT ${CUBE_DIMS.join(', ')}, sum(dn), sum(drev) FROM (
        ${parts.join('\n        UNION ALL ')}) d
       GROUP BY ${CUBE_DIMS.join(', ')} HAVING sum(dn) <> 0 OR sum(drev) <> 0
      ON CONFLICT (${CUBE_DIMS.join(', ')}) DO UPDATE SET n = label_cube.n + EXCLUDED.n, revenue = label_cube.revenue + EXCLUDED.revenue;
      DELETE FROM label_cube WHERE portal_id = tr.portal_id AND n = 0`;
/** the tracked (portal, run) pairs a transition table touches, with the portal's dictionaries */
const trackedIn = (table: string, o: FieldBits = {}) =>
  `SELECT t.portal_id, t.run_id, ${dictNames(o).map((n) => `t.${n}`).join(', ')} FROM label_facts_run t
          WHERE (t.portal_id, t.run_id) IN (SELECT DISTINCT portal_id, run_id FROM ${table})`;

/** FieldBits.lock: the portals of the transition table `rows`, each locked shared, in id order. */
const lockShared = (rows: string) => `
  PERFORM pg_advisory_xact_lock_shared(${LABEL_FACTS_LOCK}, x.portal_id) FROM (SELECT DISTINCT r.portal_id FROM ${rows} r ORDER BY 1) x;`;

/**
 * A statement-level trigger function: for each tracked portal the transition table touches
 * (`loop`, the FOR query; the loop variable is `tr` record or `p` portal id), run `body`; an
 * error gives the portal up (label_facts_giveup) instead of failing the write. With `lockFrom`
 * (FieldBits.lock) the portals' locks are taken first, outside that handler: a deadlock there
 * (see FieldBits.lock) fails the statement.
 */
const perTrackedPortal = (fn: string, v: 'tr' | 'p', loop: string, body: string, create = 'CREATE FUNCTION', lockFrom?: string) => `${create} ${fn}() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE ${v === 'tr' ? 'tr record' : 'p integer'};
BEGIN${lockFrom ? lockShared(lockFrom) : ''}
  FOR ${v} IN ${loop} LOOP
    BEGIN
      ${body}
    EXCEPTION WHEN OTHERS THEN
      PERFORM label_facts_giveup(${v === 'tr' ? 'tr.portal_id' : 'p'}, SQLERRM);
    END;
  END LOOP;
  RETURN NULL;
END
$f$;`;

// ---- the functions that write the contact part (012 replaces them with more columns) --------

type Create = 'CREATE FUNCTION' | 'CREATE OR REPLACE FUNCTION';

/**
 * With `posts`: the 63 most common job titles, lower-cased (grouped as stored first: lower()
 * follows the collation and is dear on a million rows), and pmap(post, o) = each distinct title's
 * code, for the rebuild's join.
 */
const POSTS_SQL = `
  SELECT COALESCE(array_agg(v ORDER BY n DESC, v), '{}') INTO posts FROM (
    SELECT lower(p.post) AS v, sum(p.n) AS n FROM (SELECT c.post, count(*) AS n FROM contacts c WHERE c.portal_id = rebuild_portal AND c.post <> '' GROUP BY 1) p
     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 63) s;`;
const PMAP_SQL = `
         pmap AS (SELECT x.post, array_position(${REBUILD.posts}, lower(x.post)) AS o
                    FROM (SELECT DISTINCT c.post FROM contacts c WHERE c.portal_id = $1 AND c.post <> '') x),`;

/** label_facts_rebuild(portal, run): see its comment in the SQL. */
const rebuildFn = (x: ExtraFacts, create: Create = 'CREATE FUNCTION', o: FieldBits = {}) => `${create} label_facts_rebuild(rebuild_portal integer, rebuild_run bigint) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  tbl text := format('label_facts_%s_%s', rebuild_portal, nextval('label_facts_seq'));
  itags text[];
  ukeys text[];
  uvals text[];
  segs text[];
  lcs text[];
  srcs text[];
  cities text[];${o.posts ? '\n  posts text[];' : ''}
  stale text;${o.std ? '\n  urest_n integer[];' : ''}
BEGIN${o.lock ? `
  -- the portal's writers wait from here (FieldBits.lock); every later statement sees what they committed
  PERFORM pg_advisory_xact_lock(${LABEL_FACTS_LOCK}, rebuild_portal);` : ''}
  -- one pass over a million rows: compiling it (JIT) costs more than it saves; the contacts join
  -- hashes the portal's contacts in memory
  PERFORM set_config('jit', 'off', true);
  PERFORM set_config('work_mem', '256MB', true);
  -- the 63 most common interest tags of the run, and non-empty UF_CRM_* keys of (a sample of) its contacts
  SELECT COALESCE(array_agg(tag ORDER BY n DESC, tag), '{}') INTO itags FROM (
    SELECT t.tag, count(*) AS n FROM contact_labels l, unnest(l.interests) t(tag)
     WHERE l.portal_id = rebuild_portal AND l.run_id = rebuild_run GROUP BY t.tag ORDER BY n DESC, t.tag LIMIT 63) s;
  SELECT COALESCE(array_agg(key ORDER BY ${ufFirst(o, 'key')}n DESC, key), '{}') INTO ukeys FROM (
    SELECT e.key, count(*) AS n FROM (SELECT ${o.std ? 'c.uf, c.std' : 'c.uf'} FROM contacts c WHERE c.portal_id = rebuild_portal LIMIT 50000) c${o.std ? '\n           CROSS JOIN' : ','}
           ${fieldsOf('c', o)}
     WHERE ${keepOf(o)} GROUP BY e.key ORDER BY ${ufFirst(o, 'e.key')}n DESC, e.key LIMIT 63) s;
  -- the 63 most common values of those keys
  SELECT COALESCE(array_agg(p ORDER BY n DESC, p), '{}') INTO uvals FROM (
    SELECT ${pair('e.key', 'e.value')} AS p, count(*) AS n FROM (SELECT ${o.std ? 'c.uf, c.std' : 'c.uf'} FROM contacts c WHERE c.portal_id = rebuild_portal LIMIT 50000) c${o.std ? '\n           CROSS JOIN' : ','}
           ${fieldsOf('c', o)}
     WHERE ${keepOf(o)} AND e.key = ANY(ukeys) AND ${scalar('e.value')} GROUP BY 1 ORDER BY n DESC, 1 LIMIT 63) s;
  -- the 63 most common segments, lifecycles, sources and cities, most common first (rarer ones
  -- stay text in *_rest)
  SELECT COALESCE(array_agg(v ORDER BY n DESC, v), '{}') INTO segs FROM (
    SELECT l.segment AS v, count(*) AS n FROM contact_labels l WHERE l.portal_id = rebuild_portal AND l.run_id = rebuild_run
       AND l.segment IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 63) s;
  SELECT COALESCE(array_agg(v ORDER BY n DESC, v), '{}') INTO lcs FROM (
    SELECT l.lifecycle AS v, count(*) AS n FROM contact_labels l WHERE l.portal_id = rebuild_portal AND l.run_id = rebuild_run
       AND l.lifecycle IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 63) s;
  SELECT COALESCE(array_agg(v ORDER BY n DESC, v), '{}') INTO srcs FROM (
    SELECT c.source_id AS v, count(*) AS n FROM contacts c WHERE c.portal_id = rebuild_portal AND c.source_id IS NOT NULL
     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 63) s;
  SELECT COALESCE(array_agg(v ORDER BY n DESC, v), '{}') INTO cities FROM (
    SELECT lower(c.city) AS v, count(*) AS n FROM contacts c WHERE c.portal_id = rebuild_portal AND c.city IS NOT NULL
     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 63) s;${o.posts ? POSTS_SQL : ''}
  EXECUTE format('CREATE TABLE %I (LIKE label_facts INCLUDING DEFAULTS)', tbl);
  -- interests' bits once per distinct set (a few thousand), not once per contact
  EXECUTE format($q$INSERT INTO %I (${factCols(x).join(', ')})
    WITH sets AS (SELECT DISTINCT l.interests FROM contact_labels l WHERE l.portal_id = $1 AND l.run_id = $2),
         cmap AS (SELECT x.city, lower(x.city) AS lc, array_position(${REBUILD.cities}, lower(x.city)) AS o
                    FROM (SELECT DISTINCT c.city FROM contacts c WHERE c.portal_id = $1) x),${o.posts ? PMAP_SQL : ''}
         bits AS (SELECT s.interests, label_facts_bits(${REBUILD.itags}, s.interests) AS imask, label_facts_rest(${REBUILD.itags}, s.interests) AS rest FROM sets s)
    SELECT ${factSelect(x)}
      FROM contact_labels l
      JOIN bits ib ON ib.interests = l.interests
      ${labelJoins(REBUILD)}
      LEFT JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
      ${contactJoins(REBUILD, 'LEFT JOIN cmap ct ON ct.city = c.city', o, 'LEFT JOIN pmap pt ON pt.post = c.post')}
     WHERE l.portal_id = $1 AND l.run_id = $2
     ORDER BY COALESCE(sg.o, 0), l.contact_id$q$, tbl) USING rebuild_portal, rebuild_run, ${dictNames(o).join(', ')};
  EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (portal_id, contact_id), ADD CHECK (portal_id = %s)', tbl, rebuild_portal);
  EXECUTE format('CREATE INDEX ON %I (seg)', tbl);
  EXECUTE format('ANALYZE %I', tbl);${o.aroundSwap ? o.aroundSwap.before : ''}
  DELETE FROM label_facts_run WHERE portal_id = rebuild_portal;
  -- a partition left without its label_facts_run row (TRUNCATE skips triggers) goes too
  FOR stale IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'label_facts'::regclass AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%s)', rebuild_portal) LOOP
    EXECUTE format('ALTER TABLE label_facts DETACH PARTITION %I', stale);
    EXECUTE format('DROP TABLE %I', stale);
  END LOOP;
  EXECUTE format('ALTER TABLE label_facts ATTACH PARTITION %I FOR VALUES IN (%s)', tbl, rebuild_portal);
  ${o.std ? URESTN_SQL : ''}INSERT INTO label_facts_run (portal_id, run_id, tbl, ${dictNames(o).join(', ')}${o.std ? ', urest_n' : ''}) VALUES (rebuild_portal, rebuild_run, tbl, ${dictNames(o).join(', ')}${o.std ? ', urest_n' : ''});${o.aroundSwap ? o.aroundSwap.after : ''}
  DELETE FROM label_cube WHERE portal_id = rebuild_portal;
  INSERT INTO label_cube (${CUBE_DIMS.join(', ')}, n, revenue)
  SELECT ${dims('l')}, count(*), sum(COALESCE(l.monetary, 0))
    FROM contact_labels l WHERE l.portal_id = rebuild_portal AND l.run_id = rebuild_run
   GROUP BY ${dims('l')};
END
$f$;`;

/** contact_labels → label_facts inserts (label and contact part) and the cube. */
const labelsInsFn = (x: ExtraFacts, create: Create = 'CREATE FUNCTION', o: FieldBits = {}) => perTrackedPortal('label_facts_labels_ins', 'tr', trackedIn('new_rows', o), `INSERT INTO label_facts (${factCols(x).join(', ')})
      SELECT ${factSelect(x)}
        FROM new_rows l
        CROSS JOIN ${ibits(TR)}
        ${labelJoins(TR)}
        LEFT JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        ${contactJoins(TR, undefined, o)}
       WHERE l.portal_id = tr.portal_id AND l.run_id = tr.run_id
      ON CONFLICT (portal_id, contact_id) DO UPDATE SET ${factCols(x).filter((c) => !['portal_id', 'contact_id'].includes(c)).map((c) => `${c} = EXCLUDED.${c}`).join(', ')};
      ${cubeApply([cubeRows('new_rows', '1')])};`, create, o.lock ? 'new_rows' : undefined);

/** contacts → label_facts: the contact part of changed contacts. */
const contactsSetFn = (x: ExtraFacts, create: Create = 'CREATE FUNCTION', o: FieldBits = {}) => perTrackedPortal('label_facts_contacts_set', 'tr', `SELECT t.portal_id, ${dictNames(o).map((n) => `t.${n}`).join(', ')} FROM label_facts_run t
             WHERE t.portal_id IN (SELECT DISTINCT portal_id FROM new_rows)`, `UPDATE label_facts l0 SET ${contactColsOf(x).map((c) => `${c} = ${contactPart(x)[c]}`).join(', ')}
        FROM new_rows c ${contactJoins(TR, undefined, o)}
       WHERE l0.portal_id = tr.portal_id AND c.portal_id = tr.portal_id AND l0.contact_id = c.id
         AND (${contactColsOf(x).map((c) => `l0.${c}`).join(', ')}) IS DISTINCT FROM (${contactColsOf(x).map((c) => contactPart(x)[c]).join(', ')});`, create, o.lock ? 'new_rows' : undefined);

/** contacts deleted → label_facts: the contact part emptied (an extra column to NULL, or to its value in `empty`). */
const contactsDelFn = (x: ExtraFacts, create: Create = 'CREATE FUNCTION', empty: ExtraFacts = NONE, o: FieldBits = {}) => perTrackedPortal('label_facts_contacts_del', 'p', `SELECT t.portal_id FROM label_facts_run t WHERE t.portal_id IN (SELECT DISTINCT portal_id FROM old_rows)`, `UPDATE label_facts l0 SET has_contact = false, has_email = false, has_phone = false, ukeys = 0, uvals = 0, urest = 0, src = 0, city = 0,
             assigned_by_id = NULL, src_rest = NULL, city_rest = NULL, uf_rest = NULL${Object.keys(x).map((c) => `, ${c} = ${empty[c] ?? 'NULL'}`).join('')}
        FROM old_rows c
       WHERE l0.portal_id = p AND c.portal_id = p AND l0.contact_id = c.id AND l0.has_contact;`, create, o.lock ? 'old_rows' : undefined);

/** contact_labels updated → label_facts' label part and the cube (deltas). */
const labelsUpdFn = (create: Create = 'CREATE FUNCTION', o: FieldBits = {}) => perTrackedPortal('label_facts_labels_upd', 'tr', trackedIn('new_rows'), `UPDATE label_facts l0 SET ${labelCols.map((c) => `${c} = ${labelPart()[c]}`).join(', ')}
        FROM new_rows l CROSS JOIN ${ibits(TR)}
        ${labelJoins(TR)}
       WHERE l0.portal_id = tr.portal_id AND l.portal_id = tr.portal_id AND l.run_id = tr.run_id AND l0.contact_id = l.contact_id;
      ${cubeApply([cubeRows('new_rows', '1'), cubeRows('old_rows', '-1')])};`, create, o.lock ? 'new_rows' : undefined);

/** contact_labels deleted → label_facts rows and the cube (deltas). */
const labelsDelFn = (create: Create = 'CREATE FUNCTION', o: FieldBits = {}) => perTrackedPortal('label_facts_labels_del', 'tr', trackedIn('old_rows'), `DELETE FROM label_facts l0 USING old_rows l
       WHERE l0.portal_id = tr.portal_id AND l.portal_id = tr.portal_id AND l.run_id = tr.run_id AND l0.contact_id = l.contact_id;
      ${cubeApply([cubeRows('old_rows', '-1')])};`, create, o.lock ? 'old_rows' : undefined);

/**
 * The functions that write label_facts' contact part, replaced to also write the extra columns `x`
 * (which the caller adds to label_facts first), and with `o.std` the standard fields coded too:
 * rebuild, the label inserts, contact updates and deletes (which empty an extra column to NULL, or
 * to its value in `empty`). Migrations 012, 023, 027 and 028 use it. With `o.lock` (migration 031)
 * the label updates and deletes are replaced too, so every writer takes the lock.
 */
export const labelFactsWriters = (x: ExtraFacts, o: FieldBits = {}, empty: ExtraFacts = NONE): string =>
  [rebuildFn(x, 'CREATE OR REPLACE FUNCTION', o), labelsInsFn(x, 'CREATE OR REPLACE FUNCTION', o), contactsSetFn(x, 'CREATE OR REPLACE FUNCTION', o),
    contactsDelFn(x, 'CREATE OR REPLACE FUNCTION', empty, o),
    ...(o.lock ? [labelsUpdFn('CREATE OR REPLACE FUNCTION', o), labelsDelFn('CREATE OR REPLACE FUNCTION', o)] : [])].join('\n');

export const sql = /* sql */ `
CREATE TABLE label_facts_run (
  portal_id  integer PRIMARY KEY,
  run_id     bigint NOT NULL,
  -- the portal's partition of label_facts
  tbl        text NOT NULL,
  -- bit dictionaries (bit i = element i + 1, at most 63 each): interest tags, UF_CRM_* keys, and
  -- UF values as key || chr(31) || value text
  itags      text[] NOT NULL DEFAULT '{}',
  ukeys      text[] NOT NULL DEFAULT '{}',
  uvals      text[] NOT NULL DEFAULT '{}',
  -- code dictionaries (code = position, at most 63 each): segments, lifecycles, sources, lower(city)
  segs       text[] NOT NULL DEFAULT '{}',
  lcs        text[] NOT NULL DEFAULT '{}',
  srcs       text[] NOT NULL DEFAULT '{}',
  cities     text[] NOT NULL DEFAULT '{}',
  built_at   timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (portal_id, run_id) REFERENCES score_runs (portal_id, id) ON DELETE CASCADE
);
CREATE INDEX label_facts_run_run ON label_facts_run (portal_id, run_id);
CREATE SEQUENCE label_facts_seq;

CREATE TABLE label_facts (
  contact_id      bigint NOT NULL,
  portal_id       integer NOT NULL,
  sleeping        boolean NOT NULL,
  has_contact     boolean NOT NULL,
  has_email       boolean NOT NULL,
  has_phone       boolean NOT NULL,
  -- interests with a bit in label_facts_run.itags
  imask           bigint NOT NULL,
  -- non-empty UF_CRM_* keys with a bit in label_facts_run.ukeys
  ukeys           bigint NOT NULL,
  -- UF values with a bit in label_facts_run.uvals
  uvals           bigint NOT NULL,
  -- keys (ukeys bits) whose value is in uf_rest (it has no bit in uvals)
  urest           bigint NOT NULL,
  -- codes in label_facts_run.segs / lcs / srcs / cities; 0: none, or the value in *_rest
  seg             smallint NOT NULL,
  lc              smallint NOT NULL,
  src             smallint NOT NULL,
  city            smallint NOT NULL,
  monetary        double precision,
  p_alive         double precision,
  clv             double precision,
  assigned_by_id  bigint,
  recency_days    integer,
  frequency       integer,
  last_purchase   date,
  r               smallint,
  f               smallint,
  m               smallint,
  rfm             text,
  -- segment, lifecycle, source, lower(city) when they have no code (met after the rebuild)
  seg_rest        text,
  lc_rest         text,
  src_rest        text,
  city_rest       text,
  -- interests without a bit; NULL when none
  interests_rest  text[],
  -- the contact's non-empty UF_CRM_* values that have no bit in uvals; NULL when none
  uf_rest         jsonb,
  PRIMARY KEY (portal_id, contact_id)
) PARTITION BY LIST (portal_id);
-- a rebuild writes the rows in segment order: a filter naming segments reads only theirs
CREATE INDEX label_facts_seg ON label_facts (seg);

CREATE TABLE label_cube (
  portal_id  integer NOT NULL,
  run_id     bigint NOT NULL,
  segment    text,
  lifecycle  text,
  rfm        text,
  r          smallint,
  f          smallint,
  m          smallint,
  sleeping   boolean NOT NULL,
  n          integer NOT NULL,
  revenue    numeric NOT NULL
);
CREATE UNIQUE INDEX label_cube_cell ON label_cube (${CUBE_DIMS.join(', ')}) NULLS NOT DISTINCT;

-- the bits of the names found in dict (bit i = element i + 1); 0 when none
CREATE FUNCTION label_facts_bits(dict text[], names text[]) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT COALESCE(bit_or(1::bigint << (array_position(dict, n) - 1)), 0) FROM unnest(names) n WHERE n = ANY(dict)
$f$;
-- the names not in dict; NULL when none
CREATE FUNCTION label_facts_rest(dict text[], names text[]) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT NULLIF(ARRAY(SELECT n FROM unnest(names) n WHERE NOT (n = ANY(COALESCE(dict, '{}')))), '{}')
$f$;

-- Builds the portal's facts of run rebuild_run in a new table (dictionaries, fill, analyze), swaps
-- it in for the old partition, tracks the run and rebuilds its cube.
${rebuildFn(NONE)}

-- Keeping the count tables in step failed (a bug, a lock timeout...): the portal is untracked, so
-- its counts come from the join over contact_labels until the next full run rebuilds them. The
-- write that fired the trigger (scoring, rescoring, sync) goes on; a warning is logged.
CREATE FUNCTION label_facts_giveup(p integer, why text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  RAISE WARNING 'label_facts: portal % counts fall back to contact_labels: %', p, why;
  DELETE FROM label_facts_run WHERE portal_id = p;
END
$f$;

-- score_runs: a run that becomes the portal's latest 'done' run is tracked (rebuild); a tracked
-- run that leaves 'done' is untracked.
CREATE FUNCTION label_facts_track() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE latest bigint;
BEGIN
  IF NEW.status <> 'done' THEN
    DELETE FROM label_facts_run WHERE portal_id = NEW.portal_id AND run_id = NEW.id;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.status = 'done' THEN RETURN NULL; END IF;
  SELECT id INTO latest FROM score_runs WHERE portal_id = NEW.portal_id AND status = 'done'
   ORDER BY created_at DESC, id DESC LIMIT 1;
  IF latest = NEW.id THEN
    BEGIN
      PERFORM label_facts_rebuild(NEW.portal_id, NEW.id);
    EXCEPTION WHEN OTHERS THEN
      PERFORM label_facts_giveup(NEW.portal_id, SQLERRM);
    END;
  END IF;
  RETURN NULL;
END
$f$;
CREATE TRIGGER label_facts_track AFTER INSERT OR UPDATE OF status ON score_runs
  FOR EACH ROW EXECUTE FUNCTION label_facts_track();

-- untracked (rebuilt, run deleted, left 'done', portal deleted): its partition and cells go
CREATE FUNCTION label_facts_untrack() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF to_regclass(quote_ident(OLD.tbl)) IS NOT NULL THEN
    EXECUTE format('ALTER TABLE label_facts DETACH PARTITION %I', OLD.tbl);
    EXECUTE format('DROP TABLE %I', OLD.tbl);
  END IF;
  DELETE FROM label_cube WHERE portal_id = OLD.portal_id AND run_id = OLD.run_id;
  RETURN NULL;
END
$f$;
CREATE TRIGGER label_facts_untrack AFTER DELETE ON label_facts_run
  FOR EACH ROW EXECUTE FUNCTION label_facts_untrack();

-- contact_labels → label_facts (label part) and label_cube, for tracked runs only.
${labelsInsFn(NONE)}
${labelsUpdFn()}
${labelsDelFn()}
CREATE TRIGGER label_facts_labels_ins AFTER INSERT ON contact_labels
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION label_facts_labels_ins();
CREATE TRIGGER label_facts_labels_upd AFTER UPDATE ON contact_labels
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION label_facts_labels_upd();
CREATE TRIGGER label_facts_labels_del AFTER DELETE ON contact_labels
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION label_facts_labels_del();

-- contacts → label_facts (contact part) of tracked portals. Only rows whose values differ are written.
${contactsSetFn(NONE)}
${contactsDelFn(NONE)}
CREATE TRIGGER label_facts_contacts_ins AFTER INSERT ON contacts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION label_facts_contacts_set();
CREATE TRIGGER label_facts_contacts_upd AFTER UPDATE ON contacts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION label_facts_contacts_set();
CREATE TRIGGER label_facts_contacts_del AFTER DELETE ON contacts
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION label_facts_contacts_del();

-- existing installs: track each portal's latest done run
SELECT label_facts_rebuild(s.portal_id, s.id)
  FROM (SELECT DISTINCT ON (portal_id) portal_id, id FROM score_runs WHERE status = 'done'
         ORDER BY portal_id, created_at DESC, id DESC) s;
ANALYZE label_cube;
`;
