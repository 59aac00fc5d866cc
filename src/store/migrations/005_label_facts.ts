/**
 * 005: fast segment counts (issue 5: "counts over 1M contacts under 100 ms p95").
 *
 * The UI's live count (POST /api/ui/segments/count) runs over the latest score run's labels. Over
 * contact_labels it read the run's rows out of a table holding every run, did numeric arithmetic,
 * and joined contacts for contact-own fields. Two derived tables answer it instead. Both hold only
 * the portal's latest done run (the one the UI counts) and triggers keep them in step, so every
 * writer (full scoring run, event rescoring, sync, raw SQL) keeps them right:
 *
 *  - label_facts_run (portal_id → run_id, partition): which run label_facts / label_cube hold.
 *    A run is tracked when it becomes the portal's latest 'done' run (created done, or finished
 *    as done): label_facts_rebuild() then builds the portal's rows from contact_labels. Deleting
 *    the run (cascade) or moving it out of 'done' drops them.
 *  - label_facts, partitioned by portal: one narrow row per labelled contact with the label
 *    columns the filters use (monetary and clv as float8: the filters compare them as float8
 *    anyway) and the contact's own filter columns (source, responsible, lower(city), has
 *    email/phone, its UF_CRM_* values without empty ones), plus has_contact (false when the
 *    contact row is gone: filters on contact fields then skip the label, as the join did).
 *    Triggers on contact_labels write the label part, triggers on contacts the contact part.
 *    A rebuild fills a new table, indexes and analyzes it, then swaps it in for the portal's old
 *    partition (dropped): the table is always exactly the run's size (deleting and re-inserting a
 *    million rows in place would leave the table half empty pages, and a scan reads them all) and
 *    a count scans its portal's partition only.
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
  'contact_id', 'portal_id', 'sleeping', 'has_contact', 'has_email', 'has_phone',
  'monetary', 'p_alive', 'clv', 'assigned_by_id', 'recency_days', 'frequency', 'last_purchase', 'r', 'f', 'm',
  'segment', 'lifecycle', 'rfm', 'source_id', 'city_lc', 'interests', 'uf',
];
/** The label part (from a contact_labels row aliased l). */
const LABEL_PART: Record<string, string> = {
  contact_id: 'l.contact_id', portal_id: 'l.portal_id', sleeping: 'l.sleeping',
  monetary: 'l.monetary::float8', p_alive: 'l.p_alive', clv: 'l.clv::float8', recency_days: 'l.recency_days',
  frequency: 'l.frequency', last_purchase: 'l.last_purchase', r: 'l.r', f: 'l.f', m: 'l.m', segment: 'l.segment',
  lifecycle: 'l.lifecycle', rfm: 'l.rfm', interests: `NULLIF(l.interests, '{}')`,
};
/** The contact part (from a contacts row aliased c; NULL / false when there is none). */
const CONTACT_PART: Record<string, string> = {
  has_contact: 'c.id IS NOT NULL', has_email: 'COALESCE(c.has_email, false)', has_phone: 'COALESCE(c.has_phone, false)',
  assigned_by_id: 'c.assigned_by_id', source_id: 'c.source_id', city_lc: 'lower(c.city)', uf: 'label_facts_uf(c.uf)',
};
const factSelect = FACT_COLS.map((c) => LABEL_PART[c] ?? CONTACT_PART[c]!).join(', ');
const labelCols = Object.keys(LABEL_PART).filter((c) => !['contact_id', 'portal_id'].includes(c));
const contactCols = Object.keys(CONTACT_PART);
/** Secondary indexes of every partition (built after the fill; ATTACH adopts them). */
const FACT_INDEXES = [
  ['interests', 'USING gin (interests)'],
  ['uf', 'USING gin (uf)'],
];

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
/** the tracked (portal, run) pairs a transition table touches */
const trackedIn = (table: string) =>
  `SELECT t.portal_id, t.run_id FROM label_facts_run t WHERE (t.portal_id, t.run_id) IN (SELECT DISTINCT portal_id, run_id FROM ${table})`;

export const sql = /* sql */ `
CREATE TABLE label_facts_run (
  portal_id  integer PRIMARY KEY,
  run_id     bigint NOT NULL,
  -- the portal's partition of label_facts
  tbl        text NOT NULL,
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
  segment         text,
  lifecycle       text,
  rfm             text,
  source_id       text,
  -- lower(contacts.city)
  city_lc         text,
  -- NULL when empty
  interests       text[],
  -- the contact's UF_CRM_* values without null, "" and []; NULL when none (label_facts_uf)
  uf              jsonb,
  PRIMARY KEY (portal_id, contact_id)
) PARTITION BY LIST (portal_id);
${FACT_INDEXES.map(([n, def]) => `CREATE INDEX label_facts_${n} ON label_facts ${def};`).join('\n')}

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

-- UF_CRM_* values that are not empty (null, "" and [] dropped); NULL when none is left. The
-- filters' empty / not_empty / eq / contains answer the same on this as on contacts.uf, except eq
-- "" or "[]" and contains a part of "[]", which the compiler sends to contacts.uf.
CREATE FUNCTION label_facts_uf(u jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN u IS NULL OR jsonb_typeof(u) <> 'object' OR u = '{}'::jsonb THEN NULL ELSE
    (SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(u) e
      WHERE e.key LIKE 'UF\\_CRM\\_%' AND e.value NOT IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb)) END
$f$;

-- Builds the portal's facts of run r in a new table (filled, indexed, analyzed), swaps it in for
-- the old partition, tracks r and rebuilds the cube.
CREATE FUNCTION label_facts_rebuild(rebuild_portal integer, rebuild_run bigint) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  tbl text := format('label_facts_%s_%s', rebuild_portal, nextval('label_facts_seq'));
  stale text;
BEGIN
  EXECUTE format('CREATE TABLE %I (LIKE label_facts INCLUDING DEFAULTS)', tbl);
  EXECUTE format($q$INSERT INTO %I (${FACT_COLS.join(', ')})
    SELECT ${factSelect}
      FROM contact_labels l LEFT JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
     WHERE l.portal_id = $1 AND l.run_id = $2$q$, tbl) USING rebuild_portal, rebuild_run;
  EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (portal_id, contact_id), ADD CHECK (portal_id = %s)', tbl, rebuild_portal);
${FACT_INDEXES.map(([, def]) => `  EXECUTE format('CREATE INDEX ON %I ${def}', tbl);`).join('\n')}
  EXECUTE format('ANALYZE %I', tbl);
  DELETE FROM label_facts_run WHERE portal_id = rebuild_portal;
  -- a partition left without its label_facts_run row (TRUNCATE skips triggers) goes too
  FOR stale IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'label_facts'::regclass AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%s)', rebuild_portal) LOOP
    EXECUTE format('ALTER TABLE label_facts DETACH PARTITION %I', stale);
    EXECUTE format('DROP TABLE %I', stale);
  END LOOP;
  EXECUTE format('ALTER TABLE label_facts ATTACH PARTITION %I FOR VALUES IN (%s)', tbl, rebuild_portal);
  INSERT INTO label_facts_run (portal_id, run_id, tbl) VALUES (rebuild_portal, rebuild_run, tbl);
  DELETE FROM label_cube WHERE portal_id = rebuild_portal;
  INSERT INTO label_cube (${CUBE_DIMS.join(', ')}, n, revenue)
  SELECT ${dims('l')}, count(*), sum(COALESCE(l.monetary, 0))
    FROM contact_labels l WHERE l.portal_id = rebuild_portal AND l.run_id = rebuild_run
   GROUP BY ${dims('l')};
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
  IF latest = NEW.id THEN PERFORM label_facts_rebuild(NEW.portal_id, NEW.id); END IF;
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
CREATE FUNCTION label_facts_labels_ins() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE tr record;
BEGIN
  FOR tr IN ${trackedIn('new_rows')} LOOP
    INSERT INTO label_facts (${FACT_COLS.join(', ')})
    SELECT ${factSelect}
      FROM new_rows l LEFT JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
     WHERE l.portal_id = tr.portal_id AND l.run_id = tr.run_id
    ON CONFLICT (portal_id, contact_id) DO UPDATE SET ${FACT_COLS.filter((c) => !['portal_id', 'contact_id'].includes(c)).map((c) => `${c} = EXCLUDED.${c}`).join(', ')};
    ${cubeApply([cubeRows('new_rows', '1')])};
  END LOOP;
  RETURN NULL;
END
$f$;
CREATE FUNCTION label_facts_labels_upd() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE tr record;
BEGIN
  FOR tr IN ${trackedIn('new_rows')} LOOP
    UPDATE label_facts l0 SET ${labelCols.map((c) => `${c} = ${LABEL_PART[c]}`).join(', ')}
      FROM new_rows l
     WHERE l0.portal_id = tr.portal_id AND l.portal_id = tr.portal_id AND l.run_id = tr.run_id AND l0.contact_id = l.contact_id;
    ${cubeApply([cubeRows('new_rows', '1'), cubeRows('old_rows', '-1')])};
  END LOOP;
  RETURN NULL;
END
$f$;
CREATE FUNCTION label_facts_labels_del() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE tr record;
BEGIN
  FOR tr IN ${trackedIn('old_rows')} LOOP
    DELETE FROM label_facts l0 USING old_rows l
     WHERE l0.portal_id = tr.portal_id AND l.portal_id = tr.portal_id AND l.run_id = tr.run_id AND l0.contact_id = l.contact_id;
    ${cubeApply([cubeRows('old_rows', '-1')])};
  END LOOP;
  RETURN NULL;
END
$f$;
CREATE TRIGGER label_facts_labels_ins AFTER INSERT ON contact_labels
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION label_facts_labels_ins();
CREATE TRIGGER label_facts_labels_upd AFTER UPDATE ON contact_labels
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION label_facts_labels_upd();
CREATE TRIGGER label_facts_labels_del AFTER DELETE ON contact_labels
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION label_facts_labels_del();

-- contacts → label_facts (contact part) of tracked portals. Only rows whose values differ are written.
CREATE FUNCTION label_facts_contacts_set() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE p integer;
BEGIN
  FOR p IN SELECT t.portal_id FROM label_facts_run t WHERE t.portal_id IN (SELECT DISTINCT portal_id FROM new_rows) LOOP
    UPDATE label_facts l0 SET ${contactCols.map((c) => `${c} = ${CONTACT_PART[c]}`).join(', ')}
      FROM new_rows c
     WHERE l0.portal_id = p AND c.portal_id = p AND l0.contact_id = c.id
       AND (${contactCols.map((c) => `l0.${c}`).join(', ')}) IS DISTINCT FROM (${contactCols.map((c) => CONTACT_PART[c]).join(', ')});
  END LOOP;
  RETURN NULL;
END
$f$;
CREATE FUNCTION label_facts_contacts_del() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE p integer;
BEGIN
  FOR p IN SELECT t.portal_id FROM label_facts_run t WHERE t.portal_id IN (SELECT DISTINCT portal_id FROM old_rows) LOOP
    UPDATE label_facts l0 SET has_contact = false, has_email = false, has_phone = false, assigned_by_id = NULL,
           source_id = NULL, city_lc = NULL, uf = NULL
      FROM old_rows c
     WHERE l0.portal_id = p AND c.portal_id = p AND l0.contact_id = c.id AND l0.has_contact;
  END LOOP;
  RETURN NULL;
END
$f$;
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
