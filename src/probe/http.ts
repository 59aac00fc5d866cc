/** One REST call through an incoming webhook, as the probe sees it: HTTP status and parsed body. */

export interface Answer {
  status: number;
  /** Parsed JSON, or null when the body is not JSON. */
  body: Record<string, unknown> | null;
  /** The raw body when it is not JSON (e.g. a web server's HTML error page). */
  text: string | null;
}

export class Unreachable extends Error {}

export type Caller = (method: string, params?: Record<string, unknown>) => Promise<Answer>;

/** POSTs JSON to `<webhook base><method>`; network failures throw Unreachable. */
export function webhookCaller(base: string, timeoutMs = 30_000): Caller {
  return async (method, params = {}) => {
    let r: Response;
    try {
      r = await fetch(`${base}${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': 'b24-segments-probe' },
        body: JSON.stringify(params),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new Unreachable(`${base}${method}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`);
    }
    const text = await r.text();
    try {
      const body = JSON.parse(text) as unknown;
      return { status: r.status, body: body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : null, text: null };
    } catch {
      return { status: r.status, body: null, text };
    }
  };
}
