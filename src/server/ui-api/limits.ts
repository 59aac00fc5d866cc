/**
 * Bounds on the work one UI API request can make the server do, beyond the filter's own bounds
 * (src/segments/limits.ts: conditions, values, depth, saved segments). The router, the routes and
 * the tests read them from here.
 *
 * Why these numbers (docs/security.md):
 *  - UI_STATEMENT_TIMEOUT_MS: on PostgreSQL every statement of the UI API is cancelled by the
 *    server after this long (503 QUERY_TIMEOUT). The live count over 1M contacts has p95 < 100 ms;
 *    a page, a quality figure or a CSV batch takes well under a second. 5 s is far above what a
 *    legitimate request needs and short enough that a pathological one cannot hold a core for
 *    long. PGlite cannot cancel a statement (store/db.ts, withStatementTimeout).
 *  - UI_PORTAL_RUNNING / UI_PORTAL_WAITING: the heavy requests (filters, dashboard, preview) one
 *    portal may have doing database work at once, and queued behind them; more are 429. The UI
 *    sends one count, one page and one quality request per filter change, and a second tab
 *    doubles that. 8 waiting absorb a burst of clicks. A request keeps its slot until its
 *    statements have ended, even when the client went away (portal-gate.ts).
 *  - UI_PORTAL_STATEMENTS: statements of one portal's heavy requests running at once. A count runs
 *    its run totals beside it and the dashboard's figures run side by side (up to 9 statements),
 *    so 2 requests alone do not bound the connections: 4 lanes keep one portal to 4 of the
 *    bounded pool's 10 connections (two counts at full speed), and other portals' requests find a
 *    free one.
 *  - UI_BODY_LIMIT: request bodies of /api/ui (a filter, a saved segment, settings) are a few KB;
 *    a larger body is refused with 413 before it is parsed.
 */

/** PostgreSQL statement_timeout for the UI API's database work, ms. */
export const UI_STATEMENT_TIMEOUT_MS = 5_000;
/** Heavy UI requests of one portal running at once (portal-gate.ts). */
export const UI_PORTAL_RUNNING = 2;
/** ... and queued behind them before further ones are answered 429. */
export const UI_PORTAL_WAITING = 8;
/** Statements of one portal's heavy requests running at once (portal-gate.ts lanedDb). */
export const UI_PORTAL_STATEMENTS = 4;
/** Largest /api/ui request body (express.json limit). */
export const UI_BODY_LIMIT = '256kb';
export const UI_BODY_LIMIT_BYTES = 256 * 1024;
