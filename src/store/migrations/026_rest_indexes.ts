/**
 * 026: a partial index over the rows of label_facts that have a *_rest value (issue 14 item 7:
 * "counts stay within the list's speed target").
 *
 * label_facts (migration 005) codes a contact's segment, lifecycle, source, city, interest tags and
 * UF values; a value without a code or bit (met after the rebuild, or rarer than the 63 a
 * dictionary holds) stays text in seg_rest, lc_rest, src_rest, city_rest, interests_rest or
 * uf_rest, NULL on most rows. A count whose filter has a test on one of them counts every row
 * without those tests and corrects the count over the rows that have the column set
 * (src/segments/facts.ts RestTests, compile.ts compileCount): these indexes find those rows. Each
 * holds only the rows with its column set; a partition gets them when the rebuild attaches it.
 */
export const name = 'rest_indexes';

/** the columns, as src/segments/facts.ts REST_COLS lists them */
const COLS = ['seg_rest', 'lc_rest', 'src_rest', 'city_rest', 'interests_rest', 'uf_rest'];

export const sql = COLS.map((c) => `CREATE INDEX label_facts_${c} ON label_facts (contact_id) WHERE ${c} IS NOT NULL;`).join('\n');
