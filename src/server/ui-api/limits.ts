/**
 * Bounds on the work one UI API request can make the server do. All in one place; the filter
 * compiler (filter.ts), the router (router.ts) and the tests read them from here.
 *
 * Why these numbers (docs/security-ui.md):
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
 *  - MAX_FILTER_DEPTH: one level per `exclude` and per saved reference followed. The UI builds
 *    depth 1 or 2 ("A minus saved B", B referring to C); 8 keeps a generous margin. The same
 *    constant bounds the compiler and the join decision (needsContacts), so every filter within
 *    it compiles to valid SQL. The raw request is checked before the recursive schema runs.
 *  - MAX_SAVED_SEGMENTS: the saved segments are read, validated and (for the CRM field) compiled
 *    into one CASE on every write-back; each is an item of an enumeration field in the portal.
 *    100 is far more than a sales team keeps and keeps the settings row small.
 *  - UI_STATEMENT_TIMEOUT_MS: on PostgreSQL every statement of the UI API is cancelled by the
 *    server after this long (503 QUERY_TIMEOUT). The live count over 1M contacts has p95 < 100 ms;
 *    a page, a quality figure or a CSV batch takes well under a second. 5 s is far above what a
 *    legitimate request needs and short enough that a pathological one cannot hold a core for
 *    long. PGlite cannot cancel a statement (store/db.ts, withStatementTimeout).
 *  - UI_PORTAL_RUNNING / UI_PORTAL_WAITING: the heavy requests (filters, dashboard, preview) one
 *    portal may have doing database work at once, and queued behind them; more are 429. The UI
 *    sends one count, one page and one quality request per filter change, and a second tab
 *    doubles that; 2 running keep one portal to 2 of the bounded pool's connections (10), so
 *    other portals' requests find a free one. 8 waiting absorb a burst of clicks.
 *  - UI_BODY_LIMIT: request bodies of /api/ui (a filter, a saved segment, settings) are a few KB;
 *    a larger body is refused with 413 before it is parsed.
 */

/** Conditions in a filter after inlining its saved-segment references (references count too). */
export const MAX_FILTER_CONDITIONS = 400;
/** Values in a filter after inlining: the entries of list conditions; any other condition counts 1. */
export const MAX_FILTER_VALUES = 1000;
/** Nesting: `exclude` levels plus saved references followed, on any path from the top filter. */
export const MAX_FILTER_DEPTH = 8;
/** Saved segments one portal can keep. */
export const MAX_SAVED_SEGMENTS = 100;
/** PostgreSQL statement_timeout for the UI API's database work, ms. */
export const UI_STATEMENT_TIMEOUT_MS = 5_000;
/** Heavy UI requests of one portal running at once (portal-gate.ts). */
export const UI_PORTAL_RUNNING = 2;
/** ... and queued behind them before further ones are answered 429. */
export const UI_PORTAL_WAITING = 8;
/** Largest /api/ui request body (express.json limit). */
export const UI_BODY_LIMIT = '256kb';
export const UI_BODY_LIMIT_BYTES = 256 * 1024;
