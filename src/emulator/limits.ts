/**
 * Request limits of the emulated portal, measured on the portal clock
 * (https://apidocs.bitrix24.com/limits.html; the rest module's lib/engine/access/loadlimiter.php).
 *
 * - Leaky bucket per portal: every HTTP REST request (a batch counts once) adds 1; the
 *   counter drains continuously at `drain` per portal second. A request that would push the
 *   counter above `burst` is refused with 503 QUERY_LIMIT_EXCEEDED and is NOT counted
 *   (UNCONFIRMED: the docs do not say whether refused requests count; we chose "no", so a
 *   client that backs off recovers after (counter - burst + 1) / drain seconds).
 * - Operating budget per method × (app | webhook), the cost model of `costs.ts`: each call's
 *   processing is computed by the model; per HTTP request the calls of one method are summed
 *   (`RequestTally`; batch commands of the same method together, `batch` itself never) and the
 *   sum is charged only when it is above `minimalFixTime` (0.1 s). Charges land in buckets of
 *   calendar minutes of the portal clock; the window is the current minute and the 9 before it.
 *   Before each call (each batch command too) the window's sum is compared with the limit
 *   (480 s cloud, 420 s self-hosted): "sum > limit" refuses the call with 429
 *   OPERATION_TIME_LIMIT. A request's own charges land when it finishes, so a batch is checked
 *   against the window as it was when the batch arrived.
 */
import {
  applyCostPatch, costModel, OPERATING_LIMITS, processingOf, type CallShape, type CostModel, type CostModelPatch,
} from './costs.js';
import type { Plan } from './portal.js';
import type { CostKind } from './types.js';

export { DEFAULT_COST_MODEL, type CostModel, type CostModelPatch } from './costs.js';

export interface BucketPlan {
  burst: number;
  /** Requests drained per portal second. */
  drain: number;
}

export const PLAN_LIMITS: Record<Plan, BucketPlan> = {
  standard: { burst: 50, drain: 2 },
  enterprise: { burst: 250, drain: 5 },
};

export interface LimitsOptions {
  plan?: Plan;
  /** Overrides the plan's bucket. */
  bucket?: Partial<BucketPlan>;
  /** Self-hosted portal: the operating limit defaults to 420 s instead of the cloud's 480 s. */
  selfHosted?: boolean;
  /** Operating budget in seconds per 10 minutes (default 480, or 420 with `selfHosted`). */
  operatingLimit?: number;
  costs?: CostModelPatch;
  /** Turns the leaky bucket off (operating budget still applies). */
  noRateLimit?: boolean;
}

const BUCKET_MS = 60_000;
const BUCKETS = 10;

/** One calendar minute of one method × caller key. */
interface OpBucket {
  minute: number; // floor(portal ms / 60 000)
  sum: number; // seconds
}

export interface MethodStats {
  requests: number; // top-level HTTP requests naming this method
  calls: number; // executions (batch commands included)
  /** Seconds charged to the operating budget (after the 0.1 s floor), never reset by the window. */
  operatingSeconds: number;
  /** Seconds of processing of every call, charged or not. */
  processingSeconds: number;
  /** Requests whose calls of this method stayed under the floor (not charged). */
  uncharged: number;
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
  /** Unix seconds when the oldest bucket drops out of the window (with none: the end of the current minute's life). */
  resetAt: number;
}

/** Processing summed per method × caller key within one HTTP request. */
export class RequestTally {
  readonly sums = new Map<string, { key: string | null; method: string; sum: number }>();

  add(key: string | null, method: string, seconds: number): void {
    const id = `${key ?? ''}|${method}`;
    const e = this.sums.get(id);
    if (e) e.sum += seconds;
    else this.sums.set(id, { key, method, sum: seconds });
  }

  /** The request's running sum for the method × key. */
  of(key: string | null, method: string): number {
    return this.sums.get(`${key ?? ''}|${method}`)?.sum ?? 0;
  }
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
    this.operatingLimit = opts.operatingLimit ?? (opts.selfHosted ? OPERATING_LIMITS.selfHosted : OPERATING_LIMITS.cloud);
    this.costs = costModel(opts.costs);
    this.rateLimitEnabled = !opts.noRateLimit;
    this.resetStats();
  }

  /** Changes the cost model at runtime (POST /_emulator/limits). */
  patchCosts(p: CostModelPatch): void {
    applyCostPatch(this.costs, p);
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
      m = { requests: 0, calls: 0, operatingSeconds: 0, processingSeconds: 0, uncharged: 0, errors: 0, rejected429: 0 };
      this.stats.methods.set(name, m);
    }
    return m;
  }

  countRequest(method: string): void {
    this.method(method).requests++;
  }

  /** Live buckets of a key: the current calendar minute and the 9 before it. */
  private window(key: string, now: number): OpBucket[] {
    const list = this.ops.get(key);
    if (!list) return [];
    const oldest = Math.floor(now / BUCKET_MS) - (BUCKETS - 1);
    const live = list.filter((b) => b.minute >= oldest);
    if (live.length !== list.length) {
      if (live.length) this.ops.set(key, live);
      else this.ops.delete(key);
    }
    return live;
  }

  operating(key: string, now: number): OperatingInfo {
    const list = this.window(key, now);
    const sum = list.reduce((s, b) => s + b.sum, 0);
    const oldest = list[0]?.minute ?? Math.floor(now / BUCKET_MS);
    return { operating: round(sum), resetAt: ((oldest + BUCKETS) * BUCKET_MS) / 1000 };
  }

  /** What the request will charge for the key so far: its running sum when above the floor, else 0. */
  pending(tally: RequestTally, key: string | null, method: string): number {
    const s = tally.of(key, method);
    return s > this.costs.minimalFixTime ? s : 0;
  }

  /** True when the method × caller key may run now: refused only when the window's sum is above the limit. */
  checkOperating(key: string, method: string, now: number): boolean {
    const { operating } = this.operating(key, now);
    if (operating > this.operatingLimit) {
      this.stats.rejected429++;
      this.method(method).rejected429++;
      return false;
    }
    return true;
  }

  /** Processing of one call under the current model, seconds. */
  cost(method: string, kind: CostKind, shape: CallShape = {}): number {
    return processingOf(this.costs, method, kind, shape);
  }

  /** One executed call: its processing joins the request's tally (charged at `commit`). */
  record(tally: RequestTally, key: string | null, method: string, seconds: number, failed: boolean): void {
    const m = this.method(method);
    m.calls++;
    m.processingSeconds = round(m.processingSeconds + seconds);
    if (failed) m.errors++;
    tally.add(key, method, seconds);
  }

  /** The request is over: each method × key whose summed processing is above the floor is charged. */
  commit(tally: RequestTally, now: number): void {
    const minute = Math.floor(now / BUCKET_MS);
    for (const { key, method, sum } of tally.sums.values()) {
      const m = this.method(method);
      if (!(sum > this.costs.minimalFixTime)) {
        m.uncharged++;
        continue;
      }
      m.operatingSeconds = round(m.operatingSeconds + sum);
      if (key === null) continue;
      const list = this.window(key, now);
      const lastB = list[list.length - 1];
      if (lastB && lastB.minute === minute) lastB.sum += sum;
      else list.push({ minute, sum });
      this.ops.set(key, list);
    }
    tally.sums.clear();
  }

  /** Every live window: key (`app:<id>|method` or `hook:…|method`) → sum and reset time. */
  windows(now: number): Record<string, OperatingInfo & { buckets: Array<{ minute: string; seconds: number }> }> {
    const out: Record<string, OperatingInfo & { buckets: Array<{ minute: string; seconds: number }> }> = {};
    for (const key of [...this.ops.keys()].sort()) {
      const list = this.window(key, now);
      if (!list.length) continue;
      out[key] = {
        ...this.operating(key, now),
        buckets: list.map((b) => ({ minute: new Date(b.minute * BUCKET_MS).toISOString(), seconds: round(b.sum) })),
      };
    }
    return out;
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
