/**
 * Request limits of the emulated portal, measured on the portal clock (https://apidocs.bitrix24.com/settings/performance/limits.html).
 *
 * - Leaky bucket per portal: every HTTP REST request (a batch counts once) adds 1; the
 *   counter drains continuously at `drain` per portal second. A request that would push the
 *   counter above `burst` is refused with 503 QUERY_LIMIT_EXCEEDED and is NOT counted
 *   (UNCONFIRMED: the docs do not say whether refused requests count; we chose "no", so a
 *   client that backs off recovers after (counter - burst + 1) / drain seconds).
 * - Operating budget per method × (app | webhook): the simulated server time of each call is
 *   summed into up to ten 1-minute buckets; each bucket expires 10 min after the first call
 *   recorded in it. Before a call, if the sum has reached the budget (480 s by default, the
 *   docs' worked example), the call is refused with 429 OPERATION_TIME_LIMIT.
 * - Cost model (the model until measured on a real portal; real portals ignore calls under
 *   0.1 s, this model charges every call): list 0.05 s + 0.001 s per returned row, get 0.02 s,
 *   add/update/delete 0.05 s, user-field and placement/event binding calls 0.1 s, anything
 *   else 0.01 s; `batch` itself is free, each command is charged.
 */
import type { Plan } from './portal.js';
import type { CostKind } from './types.js';

export interface BucketPlan {
  burst: number;
  /** Requests drained per portal second. */
  drain: number;
}

export const PLAN_LIMITS: Record<Plan, BucketPlan> = {
  standard: { burst: 50, drain: 2 },
  enterprise: { burst: 250, drain: 5 },
};

export interface CostModel {
  /** Seconds per cost class; `list` is the per-page base. */
  kinds: Record<CostKind, number>;
  /** Seconds per returned row of a list call. */
  perRow: number;
  /** Per-method overrides (lower-case name → seconds per call, rows ignored). */
  methods: Record<string, number>;
}

export const DEFAULT_COST_MODEL: CostModel = {
  kinds: { list: 0.05, get: 0.02, write: 0.05, bind: 0.1, other: 0.01 },
  perRow: 0.001,
  methods: {},
};

export interface LimitsOptions {
  plan?: Plan;
  /** Overrides the plan's bucket. */
  bucket?: Partial<BucketPlan>;
  /** Operating budget in seconds per 10 minutes (default 480). */
  operatingLimit?: number;
  costs?: Partial<Omit<CostModel, 'kinds'>> & { kinds?: Partial<Record<CostKind, number>> };
  /** Turns the leaky bucket off (operating budget still applies). */
  noRateLimit?: boolean;
}

const BUCKET_MS = 60_000;
const WINDOW_MS = 600_000;

interface OpBucket {
  start: number; // portal ms of the first call in it
  sum: number; // seconds
}

export interface MethodStats {
  requests: number; // top-level HTTP requests naming this method
  calls: number; // executions (batch commands included)
  operatingSeconds: number; // total charged, never reset by the window
  errors: number;
  rejected429: number;
}

export interface LimitsStats {
  requests: number;
  rejected503: number;
  rejected429: number;
  bucket: { counter: number; burst: number; drain: number };
  methods: Record<string, MethodStats>;
}

export interface OperatingInfo {
  /** Current sum in the window, seconds. */
  operating: number;
  /** Unix seconds when the oldest bucket drops (now + 600 s when none). */
  resetAt: number;
}

export class Limits {
  private counter = 0;
  private last: number | null = null;
  private readonly ops = new Map<string, OpBucket[]>();
  private stats!: { requests: number; rejected503: number; rejected429: number; methods: Map<string, MethodStats> };
  bucket: BucketPlan;
  operatingLimit: number;
  costs: CostModel;
  rateLimitEnabled: boolean;

  constructor(opts: LimitsOptions = {}) {
    const plan = PLAN_LIMITS[opts.plan ?? 'standard'];
    this.bucket = { ...plan, ...opts.bucket };
    this.operatingLimit = opts.operatingLimit ?? 480;
    this.costs = {
      kinds: { ...DEFAULT_COST_MODEL.kinds, ...opts.costs?.kinds },
      perRow: opts.costs?.perRow ?? DEFAULT_COST_MODEL.perRow,
      methods: { ...opts.costs?.methods },
    };
    this.rateLimitEnabled = !opts.noRateLimit;
    this.resetStats();
  }

  resetStats(): void {
    this.stats = { requests: 0, rejected503: 0, rejected429: 0, methods: new Map() };
  }

  /** Clears the bucket and every operating window (not the stats). */
  resetCounters(): void {
    this.counter = 0;
    this.last = null;
    this.ops.clear();
  }

  private drainTo(now: number): void {
    if (this.last !== null && now > this.last) {
      this.counter = Math.max(0, this.counter - ((now - this.last) / 1000) * this.bucket.drain);
    }
    if (this.last === null || now > this.last) this.last = now;
  }

  /** Current bucket level at `now` (portal ms). */
  level(now: number): number {
    this.drainTo(now);
    return this.counter;
  }

  /**
   * One HTTP REST request arrives. Returns false when it must be refused with 503
   * (the refused request is not counted).
   */
  admitRequest(now: number): boolean {
    this.stats.requests++;
    if (!this.rateLimitEnabled) return true;
    this.drainTo(now);
    if (this.counter + 1 > this.bucket.burst) {
      this.stats.rejected503++;
      return false;
    }
    this.counter += 1;
    return true;
  }

  private method(name: string): MethodStats {
    let m = this.stats.methods.get(name);
    if (!m) {
      m = { requests: 0, calls: 0, operatingSeconds: 0, errors: 0, rejected429: 0 };
      this.stats.methods.set(name, m);
    }
    return m;
  }

  countRequest(method: string): void {
    this.method(method).requests++;
  }

  private window(key: string, now: number): OpBucket[] {
    const list = this.ops.get(key);
    if (!list) return [];
    const live = list.filter((b) => b.start + WINDOW_MS > now);
    if (live.length !== list.length) {
      if (live.length) this.ops.set(key, live);
      else this.ops.delete(key);
    }
    return live;
  }

  operating(key: string, now: number): OperatingInfo {
    const list = this.window(key, now);
    const sum = list.reduce((s, b) => s + b.sum, 0);
    const oldest = list[0]?.start ?? now;
    return { operating: round(sum), resetAt: Math.ceil((oldest + WINDOW_MS) / 1000) };
  }

  /** True when the method × caller key may run now (budget not yet reached). */
  checkOperating(key: string, method: string, now: number): boolean {
    const { operating } = this.operating(key, now);
    if (operating >= this.operatingLimit) {
      this.stats.rejected429++;
      this.method(method).rejected429++;
      return false;
    }
    return true;
  }

  /** Simulated server time of one call, seconds. */
  cost(method: string, kind: CostKind, rows: number | undefined): number {
    const override = this.costs.methods[method];
    if (override !== undefined) return override;
    const base = this.costs.kinds[kind];
    return kind === 'list' ? base + this.costs.perRow * (rows ?? 0) : base;
  }

  /** Charges `seconds` to the method × caller key at `now`. */
  charge(key: string | null, method: string, seconds: number, now: number, failed: boolean): void {
    const m = this.method(method);
    m.calls++;
    m.operatingSeconds = round(m.operatingSeconds + seconds);
    if (failed) m.errors++;
    if (key === null || seconds <= 0) return;
    const list = this.window(key, now);
    const lastB = list[list.length - 1];
    if (lastB && lastB.start + BUCKET_MS > now) lastB.sum += seconds;
    else {
      list.push({ start: now, sum: seconds });
      if (list.length > 10) list.shift(); // cannot happen with 1-minute buckets in 10 minutes; safety
    }
    this.ops.set(key, list);
  }

  snapshot(now: number): LimitsStats {
    return {
      requests: this.stats.requests,
      rejected503: this.stats.rejected503,
      rejected429: this.stats.rejected429,
      bucket: { counter: round(this.level(now)), burst: this.bucket.burst, drain: this.bucket.drain },
      methods: Object.fromEntries([...this.stats.methods].sort(([a], [b]) => a.localeCompare(b))),
    };
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
