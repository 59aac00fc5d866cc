/**
 * 021: the "any field" filter (`crm`, src/segments/customer.ts) at 1M contacts (issue 14 item 7).
 * Through the GIN indexes of migration 013 a count still read every matching contact's row (wide,
 * jsonb) from the heap and joined it to the count table: 0.5–0.75 s p95 at 1M. contact_field_values
 * holds each non-empty value of every field a contact keeps in std (standard fields) or uf
 * (UF_CRM_* custom fields), one row per value (each element of a multiple field), narrow and in
 * btree indexes, so a condition is a semi-join (or anti-join) over an index-only scan:
 *  - value_text: the value's text exactly as the filter reads it (`#>> '{}'`, or each element's
 *    text of an array; '' and null left out). A value longer than LONG_BYTES (a btree entry holds
 *    at most ~2.7 kB) is kept as overlapping parts (chunk true) of PART_CHARS characters every
 *    PART_STEP: any text of at most PART_CHARS − PART_STEP = 200 characters (the longest value a
 *    filter takes, src/settings/segment-filter.ts) inside the value lies whole inside one part, so
 *    `contains` is exact over the parts; equality operators skip parts (no value a filter takes is
 *    that long);
 *  - value_num: the value as a number ('1500', '1500.5', money '1500|EUR'), else NULL;
 *  - value_day: the value as a day ('2024-05-01', '2024-05-01T10:00:00+03:00'), else NULL (also
 *    for a text that only looks like one, 2024-02-30: the filter's own to_date would fail on it).
 * The two conversions are the filter's own (customer.ts asNumber / asDay), of the whole value, so
 * a count is the same as over the jsonb. Triggers on contacts keep the rows in step with every
 * writer (the sync's upserts, deletes and sweeps, portal deletion's cascade, raw SQL), in the
 * writer's transaction: only contacts whose std or uf changed are rewritten.
 */
export const name = 'contact_field_values';

/** Values longer than this (bytes) are kept as parts (see above). */
export const LONG_BYTES = 2000;
/** A part's length and the step between parts, in characters: they overlap by 200. */
export const PART_CHARS = 500;
export const PART_STEP = 300;

/** The rows of the contacts in transition table / relation `src` (alias c), in COLS order. */
export const valuesOf = (src: string, where = 'true') => `
  SELECT c.portal_id, e.key, p.part,
         CASE WHEN split_part(x.t, '|', 1) ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$' THEN split_part(x.t, '|', 1)::numeric END,
         CASE WHEN x.t ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' THEN contact_field_values_day(x.t) END,
         p.chunk, c.id
    FROM ${src} c
   CROSS JOIN LATERAL (
     SELECT s.key, s.value FROM jsonb_each(CASE WHEN jsonb_typeof(c.std) = 'object' THEN c.std END) s WHERE left(s.key, 3) <> 'UF_'
     UNION ALL
     SELECT u.key, u.value FROM jsonb_each(CASE WHEN jsonb_typeof(c.uf) = 'object' THEN c.uf END) u WHERE left(u.key, 7) = 'UF_CRM_') e
   CROSS JOIN LATERAL (
     SELECT a.t FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.value) = 'array' THEN e.value END) a(t)
     UNION ALL
     SELECT e.value #>> '{}' WHERE jsonb_typeof(e.value) <> 'array') x(t)
   CROSS JOIN LATERAL (
     SELECT x.t AS part, false AS chunk WHERE octet_length(x.t) <= ${LONG_BYTES}
     UNION ALL
     SELECT substr(x.t, 1 + k * ${PART_STEP}, ${PART_CHARS}), true
       FROM generate_series(0, ceil((char_length(x.t) - ${PART_CHARS}) / ${PART_STEP}.0)::int) k WHERE octet_length(x.t) > ${LONG_BYTES}) p
   WHERE x.t <> '' AND ${where}`;

/** An updated contact (alias c in `new_rows`) whose std or uf changed, or whose key did: its values are written again. */
export const CHANGED = 'NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.portal_id = c.portal_id AND o.id = c.id AND o.std = c.std AND o.uf = c.uf)';

export const COLS = 'portal_id, field, value_text, value_num, value_day, chunk, contact_id';

/** The update trigger's delete: the old values of the contacts whose std or uf changed (or whose key did). */
export const DELETE_CHANGED = `DELETE FROM contact_field_values v USING old_rows o
   WHERE v.portal_id = o.portal_id AND v.contact_id = o.id
     AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.portal_id = o.portal_id AND n.id = o.id AND n.std = o.std AND n.uf = o.uf)`;

export const sql = /* sql */ `
CREATE TABLE contact_field_values (
  portal_id   integer NOT NULL,
  field       text NOT NULL,
  value_text  text,
  value_num   numeric,
  value_day   date,
  chunk       boolean NOT NULL,
  contact_id  bigint NOT NULL
);
-- in, equals, contains, is yes, filled / empty, dates: the field's values (index-only)
CREATE INDEX contact_field_values_text ON contact_field_values (portal_id, field, value_text, contact_id) INCLUDE (value_day, chunk);
-- is between (numbers)
CREATE INDEX contact_field_values_num ON contact_field_values (portal_id, field, value_num, contact_id) WHERE value_num IS NOT NULL;
-- a value implies its field: without these the planner multiplies the two and guesses a value's
-- contacts several times too few
CREATE STATISTICS contact_field_values_field_value (dependencies, mcv) ON field, value_text FROM contact_field_values;
-- the triggers' rewrites of a contact
CREATE INDEX contact_field_values_contact ON contact_field_values (portal_id, contact_id);

-- the day of a value that starts like one; NULL when it is none (2024-02-30): a contact's write never fails on it
CREATE FUNCTION contact_field_values_day(t text) RETURNS date LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
  RETURN to_date(left(t, 10), 'YYYY-MM-DD');
EXCEPTION WHEN OTHERS THEN
  RETURN NULL;
END
$f$;
CREATE FUNCTION contact_field_values_ins() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO contact_field_values (${COLS}) ${valuesOf('new_rows')};
  RETURN NULL;
END
$f$;
-- an update rewrites the contacts whose std or uf changed (or whose key did)
CREATE FUNCTION contact_field_values_upd() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  ${DELETE_CHANGED};
  INSERT INTO contact_field_values (${COLS}) ${valuesOf('new_rows', CHANGED)};
  RETURN NULL;
END
$f$;
CREATE FUNCTION contact_field_values_del() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  DELETE FROM contact_field_values v USING old_rows o WHERE v.portal_id = o.portal_id AND v.contact_id = o.id;
  RETURN NULL;
END
$f$;
CREATE TRIGGER contact_field_values_ins AFTER INSERT ON contacts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_field_values_ins();
CREATE TRIGGER contact_field_values_upd AFTER UPDATE ON contacts
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_field_values_upd();
CREATE TRIGGER contact_field_values_del AFTER DELETE ON contacts
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_field_values_del();

-- existing installs: every contact's values
INSERT INTO contact_field_values (${COLS}) ${valuesOf('contacts')};
ANALYZE contact_field_values;
`;
