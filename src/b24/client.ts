/**
 * B24Client: one per portal. REST calls and batches with the portal's limits mirrored by a
 * `Limiter`, typed errors, bounded retries and token refresh (https://apidocs.bitrix24.com/settings/oauth/index.html, https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html).
 *
 *  - `call(method, params, schema?)`: POST JSON to `client_endpoint + method`, `auth` in the body.
 *  - `batch(commands, {halt})`: ≤50 commands per HTTP request (auto-split), each encoded as a
 *    `method?query` string (PHP bracket encoding); per-command results and errors.
 *  - Retries: 503 → wait for our bucket copy to drain (+ exponential penalty); 429 → wait until
 *    the method's budget frees; 5xx/network → exponential backoff with jitter, bounded. Writes
 *    (non-idempotent methods) are NOT retried after a network error once the request may have
 *    been sent, nor after a 500 (the portal may have applied it).
 *  - 401 expired_token/invalid_token → one refresh through the TokenSource, one retry; a token
 *    about to expire (portal clock) is refreshed before the call. A source that cannot refresh
 *    (`refreshable: false`, e.g. a user's token: src/b24/user-token.ts) gets the 401 as is.
 *  - `withTokens(source)`: a client for other tokens of the same portal (a user's) over the SAME
 *    Limiter, so every call to the portal counts against one mirror of its limits.
 *  - The HTTP request itself goes through a `Transport` (default: axios with keep-alive); tests
 *    may inject one that plays a portal.
 *  - Tokens never reach logs or error messages.
 */
import type { z } from 'zod';
import type { AccessToken, TokenSource } from './auth.js';
import { axiosTransport, type Transport } from './transport.js';
import {
  type BatchCommand, type BatchCommands, type Params, MAX_BATCH, commandEntries, commandMethod, commandParams, encodeCommand,
} from './batch-encoding.js';
import { B24Error, B24NetworkError } from './errors.js';
import { Limiter, type LimiterOptions, type Clock } from './limiter.js';

export interface B24Time {
  start?: number;
  finish?: number;
  duration?: number;
  processing?: number;
  date_start?: string;
  date_finish?: string;
  operating?: number;
  operating_reset_at?: number;
}

export interface CallResult<T> {
  result: T;
  total?: number;
  next?: number;
  time?: B24Time;
}

export interface BatchResult {
  /** Results by command key (array input → "0", "1", ...). */
  results: Record<string, unknown>;
  errors: Record<string, B24Error>;
  totals: Record<string, number>;
  nexts: Record<string, number>;
  times: Record<string, B24Time>;
  /** Keys in the order they were given. */
  keys: string[];
}

export interface MethodCounters {
  calls: number;
  /** Operating seconds the portal charged (from reported deltas; else sum of durations). */
  operatingSec: number;
}

export interface ClientCounters {
  /** HTTP requests sent (a batch = 1). */
  requests: number;
  /** REST methods executed (each batch command counts). */
  calls: number;
  batches: number;
  retries: number;
  rateLimited503: number;
  operatingLimited429: number;
  serverErrors: number;
  networkErrors: number;
  tokenRefreshes: number;
  byMethod: Record<string, MethodCounters>;
}

export interface B24ClientOptions {
  tokens: TokenSource;
  /** A shared Limiter (one per portal per process) or options for a new one. */
  limiter?: Limiter | LimiterOptions;
  /** Retries for 5xx/network errors (default 4). */
  maxRetries?: number;
  /** Retries after 503 (default 10) and 429 (default 3). */
  maxRateLimitRetries?: number;
  maxOperatingRetries?: number;
  /** Base backoff for 5xx/network, ms (default 500), doubled per attempt, ±25% jitter. */
  retryBaseMs?: number;
  /** Per-request timeout, ms (default 60 000: the portal cuts requests at 60 s). */
  timeoutMs?: number;
  /** Refresh proactively when the token has less than this many portal seconds left (default 60). */
  refreshLeadSec?: number;
  /** Extra methods to treat as non-idempotent (default: *.add/update/delete/set/bind/... ). */
  isIdempotent?: (method: string) => boolean;
  /** Diagnostics sink: method names, statuses, timings; never params or tokens. */
  log?: (event: string, data: Record<string, unknown>) => void;
  /** Clock for backoff sleeps (defaults to the limiter's clock / system clock). */
  clock?: Clock;
  userAgent?: string;
  /** How a request is sent (default: axios POST with keep-alive agents, see transport.ts). */
  transport?: Transport;
  /** Told about every HTTP answer and every rate-limit refusal (the process's metrics). */
  observer?: RestObserver;
}

/**
 * What a client reports to whoever watches it (metrics): injected, so the b24 layer imports
 * nothing of the server. `method` is the REST method (`batch` for a batch request).
 */
export interface RestObserver {
  /** One HTTP answer from the portal (status 0: no answer, a network error). */
  response(method: string, status: number): void;
  /** A refusal by the portal's limits: 503 QUERY_LIMIT_EXCEEDED, or 429 OPERATION_TIME_LIMIT (also per batch command). */
  limited(kind: 429 | 503, method: string): void;
}

export interface BatchOptions {
  /** A failing command stops its chunk and no further chunks are sent (portal semantics). */
  halt?: boolean;
  /**
   * The caller vouches that the commands are safe to repeat (e.g. setting field values): the batch
   * is then retried after a network error or a 5xx like a read, even when it writes.
   */
  idempotent?: boolean;
}

const WRITE_RE = /\.(add|update|delete|set|bind|unbind|send|start|execute|import|batchimport|clear|trigger|move|upload|register|unregister|complete|attach|detach)$/i;

export function defaultIsIdempotent(method: string): boolean {
  const m = method.toLowerCase();
  if (m === 'batch') return true;
  return !WRITE_RE.test(m) && !/\.(add|update|delete|set)\./.test(m);
}

export class B24Client {
  readonly limiter: Limiter;
  readonly counters: ClientCounters = {
    requests: 0, calls: 0, batches: 0, retries: 0, rateLimited503: 0, operatingLimited429: 0,
    serverErrors: 0, networkErrors: 0, tokenRefreshes: 0, byMethod: {},
  };
  private readonly tokens: TokenSource;
  private readonly transport: Transport;
  private readonly opts: B24ClientOptions;
  private readonly o: Required<Pick<B24ClientOptions, 'maxRetries' | 'maxRateLimitRetries' | 'maxOperatingRetries' | 'retryBaseMs' | 'refreshLeadSec'>>;
  private readonly isIdempotent: (m: string) => boolean;
  private readonly log: (event: string, data: Record<string, unknown>) => void;
  private readonly clock: Clock;

  constructor(opts: B24ClientOptions) {
    this.opts = opts;
    this.tokens = opts.tokens;
    this.limiter = opts.limiter instanceof Limiter ? opts.limiter : new Limiter(opts.limiter ?? {});
    this.o = {
      maxRetries: opts.maxRetries ?? 4,
      maxRateLimitRetries: opts.maxRateLimitRetries ?? 10,
      maxOperatingRetries: opts.maxOperatingRetries ?? 3,
      retryBaseMs: opts.retryBaseMs ?? 500,
      refreshLeadSec: opts.refreshLeadSec ?? 60,
    };
    this.isIdempotent = opts.isIdempotent ?? defaultIsIdempotent;
    this.log = opts.log ?? (() => {});
    this.clock = opts.clock ?? this.limiter.clock;
    this.transport = opts.transport ?? axiosTransport({ timeoutMs: opts.timeoutMs, userAgent: opts.userAgent });
  }

  /**
   * A client for other tokens of the same portal (a user's token: user-token.ts) over this
   * client's Limiter, so both count against one mirror of the portal's limits. Options are this
   * client's (an injected transport, retries, timeout, log), with `overrides` on top; the default
   * transport shares the process's keep-alive agents.
   */
  withTokens(tokens: TokenSource, overrides: Omit<B24ClientOptions, 'tokens' | 'limiter'> = {}): B24Client {
    return new B24Client({ ...this.opts, ...overrides, tokens, limiter: this.limiter });
  }

  /** Calls a method and returns its `result` (validated by `schema` when given). */
  async call<T = unknown>(method: string, params: Params = {}, schema?: z.ZodType<T>): Promise<T> {
    return (await this.callRaw(method, params, schema)).result;
  }

  /** Calls a method and returns the whole envelope (result, total, next, time). */
  async callRaw<T = unknown>(method: string, params: Params = {}, schema?: z.ZodType<T>): Promise<CallResult<T>> {
    const env = await this.send(method, params, { [method.toLowerCase()]: 1 }, this.isIdempotent(method));
    const time = env.time;
    this.countCall(method, 1);
    const est = this.pendingEstimates.get(env) ?? 0;
    const measured = time?.processing ?? time?.duration;
    this.observe(method, 1, est, measured, time?.operating, time?.operating_reset_at);
    this.addOperating(method, measured ?? 0);
    let result = env.result as T;
    if (schema) {
      const p = schema.safeParse(env.result);
      if (!p.success) throw new B24Error('BAD_RESULT', `result of ${method} failed validation: ${p.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 200, method);
      result = p.data;
    }
    return { result, total: num(env.total), next: num(env.next), time };
  }

  /**
   * Runs commands through `batch`, ≤50 per HTTP request. `$result[...]` references work only
   * within one chunk of 50 (chunks are cut in the given order). With `halt`, a failing command
   * stops its chunk (portal semantics) and no further chunks are sent. Commands that failed with
   * OPERATION_TIME_LIMIT and reference no other command are retried after the budget frees.
   * Independent commands of one method are sized by the limiter's plan (`Limiter.planCalls`):
   * a full batch while the method's operating budget has room, smaller or free requests when not.
   */
  async batch(commands: BatchCommands, opts: BatchOptions = {}): Promise<BatchResult> {
    const entries = commandEntries(commands);
    const out: BatchResult = { results: {}, errors: {}, totals: {}, nexts: {}, times: {}, keys: entries.map(([k]) => k) };
    for (let rest = entries; rest.length > 0;) {
      const part = await this.nextPart(rest);
      rest = rest.slice(part.length);
      let pending = part;
      for (let attempt = 0; pending.length > 0; attempt++) {
        const r = await this.batchOnce(pending, !!opts.halt, !!opts.idempotent);
        Object.assign(out.results, r.results);
        Object.assign(out.totals, r.totals);
        Object.assign(out.nexts, r.nexts);
        Object.assign(out.times, r.times);
        const retry: typeof pending = [];
        for (const [k, c] of pending) {
          const e = r.errors[k];
          if (!e) { delete out.errors[k]; continue; }
          out.errors[k] = e;
          const refs = JSON.stringify(commandParams(c)).includes('$result[');
          if (e.isOperatingLimit && !opts.halt && !refs && attempt < this.o.maxOperatingRetries) retry.push([k, c]);
        }
        pending = retry;
        if (pending.length) {
          this.counters.retries++;
          this.log('batch.retry-operating', { commands: pending.length, attempt });
        }
      }
      if (opts.halt && Object.keys(out.errors).length > 0) break;
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------

  /**
   * The commands of the next request: the next ≤ 50; when they are independent calls of one
   * method, as many as the limiter plans for that method (waiting while it plans none).
   */
  private async nextPart(rest: Array<[string, BatchCommand]>): Promise<Array<[string, BatchCommand]>> {
    const head = rest.slice(0, MAX_BATCH);
    const methods = new Set(head.map(([, c]) => commandMethod(c).toLowerCase()));
    const independent = !head.some(([, c]) => JSON.stringify(commandParams(c)).includes('$result['));
    if (methods.size !== 1 || !independent) return head;
    const m = [...methods][0]!;
    for (;;) {
      const k = this.limiter.planCalls(m, head.length);
      if (k > 0) {
        if (k < head.length) this.log('batch.plan', { method: m, calls: k, of: head.length });
        return head.slice(0, k);
      }
      await this.limiter.acquireOperating({ [m]: 1 });
    }
  }

  private pendingEstimates = new WeakMap<object, number>();

  private async batchOnce(entries: Array<[string, ReturnType<typeof commandEntries>[number][1]]>, halt: boolean, repeatable: boolean): Promise<Omit<BatchResult, 'keys'>> {
    const cmd: Record<string, string> = {};
    const perMethod: Record<string, number> = {};
    let idempotent = true;
    for (const [k, c] of entries) {
      const m = commandMethod(c);
      cmd[k] = encodeCommand(m, commandParams(c));
      perMethod[m.toLowerCase()] = (perMethod[m.toLowerCase()] ?? 0) + 1;
      if (!this.isIdempotent(m)) idempotent = false;
    }
    this.counters.batches++;
    const env = await this.send('batch', { halt: halt ? 1 : 0, cmd }, perMethod, idempotent || repeatable);
    const estimates = this.batchEstimates.get(env) ?? {};
    const body = (env.result ?? {}) as Record<string, unknown>;
    const results = asRecord(body.result);
    const rawErrors = asRecord(body.result_error);
    const totals = asRecord(body.result_total) as Record<string, number>;
    const nexts = asRecord(body.result_next) as Record<string, number>;
    const times = asRecord(body.result_time) as Record<string, B24Time>;
    const errors: Record<string, B24Error> = {};
    for (const [k, c] of entries) {
      const e = rawErrors[k] as { error?: string; error_description?: string } | undefined;
      if (e && typeof e === 'object') {
        const err = new B24Error(String(e.error ?? ''), String(e.error_description ?? ''), 200, commandMethod(c));
        errors[k] = err;
        if (err.isOperatingLimit) {
          this.countLimited(429, commandMethod(c));
          this.limiter.onOperatingLimited(commandMethod(c));
        }
      }
    }
    // Operating: per method, the portal's sum after its last command (result_time[k].operating).
    // A command that failed inside its method (e.g. "Contact is not found") ran: the portal gives
    // it no result_time, but its time may be charged (docs/rest-client.md "Failing calls"), so it
    // keeps its estimate. Only commands that never ran (halt, refused by the budget) are refunded.
    const executed: Record<string, Executed> = {};
    for (const [k, c] of entries) {
      const m = commandMethod(c).toLowerCase();
      const t = times[k];
      const e = errors[k];
      const ranAndFailed = !!e && !e.isOperatingLimit && e.code !== 'ERROR_METHOD_NOT_FOUND' && !e.code.startsWith('ERROR_BATCH_');
      if (!(k in results) && !t && !ranAndFailed) continue; // not executed (halt / refused)
      const x = (executed[m] ??= { calls: 0, dur: 0, untimed: 0 });
      x.calls++;
      const d = t?.processing ?? t?.duration;
      if (d === undefined) x.untimed++;
      x.dur += d ?? 0;
      if (t && t.operating !== undefined) x.last = t;
    }
    attributeUntimed(executed, env.time);
    for (const [m, x] of Object.entries(executed)) {
      this.countCall(m, x.calls);
      this.observe(m, x.calls, estimates[m] ?? 0, x.untimed === 0 ? x.dur : undefined, x.last?.operating, x.last?.operating_reset_at);
      this.addOperating(m, x.dur);
    }
    // estimates for commands that never ran (halt, refused) are taken back
    for (const [m, n] of Object.entries(perMethod)) {
      const ran = executed[m]?.calls ?? 0;
      if (ran < n && estimates[m]) this.limiter.refund(m, (estimates[m] * (n - ran)) / n);
    }
    return { results, errors, totals, nexts, times };
  }

  private batchEstimates = new WeakMap<object, Record<string, number>>();

  /** Feeds the limiter; returns the operating seconds the portal charged (reported processing). */
  private observe(method: string, calls: number, estimated: number, measured: number | undefined, operating?: number, resetAt?: number): number | undefined {
    this.limiter.observeOperating(method, { calls, estimated, operating, resetAt, measuredCost: measured });
    return measured;
  }

  private countCall(method: string, n: number): void {
    const m = method.toLowerCase();
    this.counters.calls += n;
    const c = (this.counters.byMethod[m] ??= { calls: 0, operatingSec: 0 });
    c.calls += n;
  }

  private addOperating(method: string, sec: number): void {
    const c = (this.counters.byMethod[method.toLowerCase()] ??= { calls: 0, operatingSec: 0 });
    c.operatingSec += sec;
  }

  private seenToken = '';
  private seenAt = 0;

  /**
   * The current token; refreshed first when it has less than the lead time left. The lead is
   * capped at a quarter of the lifetime we observed for this token, so a short-lived token
   * is not refreshed on every call.
   */
  private async token(): Promise<AccessToken> {
    let t = await this.tokens.get();
    // Until a response told us the portal's time we cannot compare expiries: rely on 401.
    if (!this.limiter.anchored) return t;
    const now = this.limiter.portalNow() * 1000;
    if (t.accessToken !== this.seenToken) {
      this.seenToken = t.accessToken;
      this.seenAt = now;
    }
    const lead = Math.min(this.o.refreshLeadSec * 1000, Math.max(0, (t.expiresAt - this.seenAt) / 4));
    if (t.accessToken && Number.isFinite(t.expiresAt) && t.expiresAt - now < lead) {
      this.log('token.refresh-proactive', {});
      this.counters.tokenRefreshes++;
      t = await this.tokens.refresh(t.accessToken);
    }
    return t;
  }

  /**
   * One logical request with all retry policies. Returns the success envelope
   * (`{result, total?, next?, time?}`) or throws B24Error.
   */
  private async send(method: string, params: Params, calls: Record<string, number>, idempotent: boolean): Promise<Record<string, unknown> & { time?: B24Time; result?: unknown }> {
    let refreshed = false;
    let n503 = 0;
    let n429 = 0;
    let nErr = 0;
    for (;;) {
      const tok = await this.token();
      await this.limiter.acquireOperating(calls);
      const estimates: Record<string, number> = {};
      for (const [m, n] of Object.entries(calls)) estimates[m] = this.limiter.chargeEstimate(m, n);
      await this.limiter.acquireRequest();
      const url = `${tok.clientEndpoint.replace(/\/?$/, '/')}${method}`;
      const body = tok.accessToken ? { ...params, auth: tok.accessToken } : params;
      this.counters.requests++;
      const started = this.clock.now();
      let status = 0;
      let data: unknown;
      try {
        const res = await this.transport({ url, body });
        status = res.status;
        data = res.data;
      } catch (e) {
        this.refund(estimates);
        const code = (e as { code?: string }).code ?? 'ERR_NETWORK';
        const maybeSent = code !== 'ECONNREFUSED' && code !== 'ENOTFOUND' && code !== 'EAI_AGAIN';
        this.counters.networkErrors++;
        this.opts.observer?.response(method, 0);
        this.log('http.network-error', { method, code, maybeSent });
        if ((idempotent || !maybeSent) && nErr < this.o.maxRetries) {
          await this.backoff(nErr++);
          continue;
        }
        throw new B24NetworkError(method, code, maybeSent);
      }
      const env = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown> & { time?: B24Time; result?: unknown };
      const time = env.time;
      // anchored at the local RECEIVE time: the estimate lags the portal by ≤ one round trip,
      // so waits for operating_reset_at end late rather than early
      if (time?.start !== undefined) this.limiter.syncPortalClock(Number(time.start), this.clock.now());
      this.log('http.response', { method, status, ms: this.clock.now() - started });
      this.opts.observer?.response(method, status);
      if (status >= 200 && status < 300 && 'result' in env) {
        this.limiter.onRequestOk();
        if (method === 'batch') this.batchEstimates.set(env, estimates);
        else this.pendingEstimates.set(env, estimates[method.toLowerCase()] ?? 0);
        return env;
      }
      const err = typeof env.error === 'string'
        ? new B24Error(env.error, String(env.error_description ?? ''), status, method)
        : new B24Error(`HTTP_${status}`, typeof data === 'string' ? data.slice(0, 200) : 'unexpected response', status, method);
      // a call refused before it ran (limits, token, unknown method, server fault) is not charged;
      // one that failed inside its method (400 "Contact is not found") may be: it keeps its estimate
      if (!failedInsideMethod(status, err)) this.refund(estimates);
      if (status === 401 && err.isExpiredToken && !refreshed && this.tokens.refreshable !== false) {
        refreshed = true;
        this.counters.tokenRefreshes++;
        this.log('token.refresh-reactive', { method, code: err.code });
        await this.tokens.refresh(tok.accessToken);
        continue;
      }
      if (err.code === 'QUERY_LIMIT_EXCEEDED' || (status === 503 && err.code !== 'OVERLOAD_LIMIT')) {
        this.countLimited(503, method);
        this.limiter.onRateLimited();
        if (n503++ < this.o.maxRateLimitRetries) { this.counters.retries++; continue; }
        throw err;
      }
      if (err.isOperatingLimit) {
        this.countLimited(429, method);
        for (const m of Object.keys(calls)) this.limiter.onOperatingLimited(m, time?.operating_reset_at);
        if (n429++ < this.o.maxOperatingRetries) { this.counters.retries++; continue; }
        throw err;
      }
      if (status >= 500 && err.code !== 'OVERLOAD_LIMIT') {
        this.counters.serverErrors++;
        const gateway = status === 502 || status === 504;
        if ((idempotent || gateway) && nErr < this.o.maxRetries) {
          await this.backoff(nErr++);
          continue;
        }
      }
      throw err;
    }
  }

  private countLimited(kind: 429 | 503, method: string): void {
    if (kind === 503) this.counters.rateLimited503++;
    else this.counters.operatingLimited429++;
    this.opts.observer?.limited(kind, method);
  }

  private refund(estimates: Record<string, number>): void {
    for (const [m, est] of Object.entries(estimates)) this.limiter.refund(m, est);
  }

  private async backoff(attempt: number): Promise<void> {
    this.counters.retries++;
    const ms = this.o.retryBaseMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
    await this.clock.sleep(Math.min(ms, 30_000));
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : Array.isArray(v) ? Object.fromEntries(v.map((x, i) => [String(i), x])) : {};
}

function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** A 4xx answer of the method itself (not the limits, the token or an unknown method): the call ran. */
function failedInsideMethod(status: number, err: B24Error): boolean {
  return status >= 400 && status < 500 && status !== 401 && !err.isOperatingLimit && err.code !== 'QUERY_LIMIT_EXCEEDED' && err.code !== 'ERROR_METHOD_NOT_FOUND';
}

interface Executed { calls: number; last?: B24Time; dur: number; untimed: number }

/**
 * Commands that ran without a `result_time` (they failed inside their method) have no processing
 * of their own. When they are all of one method, the batch's own `time.processing` less the timed
 * commands' is theirs: the method's cost is then still learned (the batch's overhead included,
 * which errs high, on the safe side). Otherwise their estimate stands.
 */
function attributeUntimed(executed: Record<string, Executed>, batchTime: B24Time | undefined): void {
  const withUntimed = Object.values(executed).filter((x) => x.untimed > 0);
  const total = batchTime?.processing;
  if (withUntimed.length !== 1 || total === undefined || !Number.isFinite(total)) return;
  const timed = Object.values(executed).reduce((a, x) => a + x.dur, 0);
  const x = withUntimed[0]!;
  x.dur += Math.max(0, total - timed);
  x.untimed = 0;
}
