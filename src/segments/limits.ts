/**
 * Bounds on a segment filter's expansion (saved segments inlined) and on the saved segments a
 * portal keeps. The compiler (compile.ts), the bounds walk (bounds.ts), the saved-segment checks
 * (saved.ts), the UI API and the tests read them from here. The UI API's own request bounds
 * (statement timeout, admission, body size) are src/server/ui-api/limits.ts.
 *
 * Why these numbers (docs/security.md):
 *  - MAX_FILTER_CONDITIONS: the filter builder adds one row per condition and a person builds a
 *    few dozen at most; saved segments are inlined where they are referenced, so a filter's cost
 *    is the size of its expansion. 400 is ten full `all` lists (40 each) and leaves room for
 *    saved segments built from saved segments, while three segments that reference the next 40
 *    times (40³ = 64,000 conditions, ~9 s to compile and plan) are refused at once.
 *  - MAX_FILTER_VALUES: the values inside the conditions (list entries, text patterns), after
 *    inlining. The condition cap alone still let 396 conditions of 100 `city contains` patterns
 *    each through: 38,700 LIKE / ILIKE per row, 11.7 s for PostgreSQL just to plan it over the
 *    count tables, and a count over 2,000 contacts ran 102 s (measured on PostgreSQL 15, 2 cores).
 *    Per-row work and planning grow with the number of values, not of conditions. 1000 still takes a full filter
 *    the builder can make (RFM cells 125, responsibles 200, sources 100, cities 100, interests 50)
 *    with room for saved segments.
 *  - MAX_FILTER_DEPTH (defined with the filter AST, src/settings/segment-filter.ts, whose schema
 *    checks it on the raw value): one level per `exclude` and per saved reference followed. The
 *    UI builds depth 1 or 2 ("A minus saved B", B referring to C); 8 keeps a generous margin. The
 *    same constant bounds the compiler and the join decision (needsContacts), so every filter
 *    within it compiles to valid SQL. The raw request is checked before the recursive schema runs.
 *  - MAX_SAVED_SEGMENTS: the saved segments are read, validated and (for the CRM field) compiled
 *    into one CASE on every write-back; each is an item of an enumeration field in the portal.
 *    100 is far more than a sales team keeps and keeps the settings row small.
 */
export { MAX_FILTER_DEPTH } from '../settings/segment-filter.js';

/** Conditions in a filter after inlining its saved-segment references (references count too). */
export const MAX_FILTER_CONDITIONS = 400;
/** Values in a filter after inlining: the entries of list conditions; any other condition counts 1. */
export const MAX_FILTER_VALUES = 1000;
/** Saved segments one portal can keep. */
export const MAX_SAVED_SEGMENTS = 100;
/**
 * Saved views of the segment list (src/store/views.ts): personal ones per user, and shared ones
 * per portal, each as many as saved segments. A view is a filter with the list's sort and columns;
 * it is read when the user opens the list, never compiled in bulk, so the bound only keeps a
 * person's list short and the table small.
 */
export const MAX_PERSONAL_VIEWS = MAX_SAVED_SEGMENTS;
export const MAX_SHARED_VIEWS = MAX_SAVED_SEGMENTS;
