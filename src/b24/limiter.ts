/**
 * Per-portal limiter mirroring the two limits of a Bitrix24 portal (https://apidocs.bitrix24.com/settings/performance/limits.html):
 *
 *  1. The request-rate leaky bucket: every HTTP request (a batch counts as one) adds 1 to a
 *     counter that drains `drainPerSec` per second; a request arriving with the counter over
 *     `burst` gets 503 QUERY_LIMIT_EXCEEDED. We keep our own copy of the counter and never
 *     let it exceed `burst * (1 - safetyMargin)`, so a lone client in steady state provokes no
 *     503 (other apps on the same IP share the bucket: a 503 then resyncs our copy to "full").
 *
 *  2. The per-method operating budget (the rest module's loadlimiter.php; docs limits.md): per
 *     HTTP request, the processing time of each method's calls is summed, and only a sum above
 *     0.1 s (`minimalFixTimeSec`) is charged; charges sit in calendar-minute buckets, the window
 *     is the current minute and the 9 before; a method whose window sum is above
 *     `operatingLimitSec` (480 s on cloud) gets 429 OPERATION_TIME_LIMIT. The portal reports the
 *     current sum as `time.operating` and the expiry of the oldest minute as
 *     `time.operating_reset_at`. We mirror the charges we cause ourselves, reconcile the mirror
 *     with every reported sum (anything we cannot account for is "foreign" time that we assume
 *     leaves at `operating_reset_at`), and before sending k calls of a method we wait until
 *     `projected + charge(k) <= limit * (1 - operatingMargin)`, where charge(k) is k × the
 *     method's learned cost per call, or 0 when that is at most the floor (a free request).
 *
 *  Learning: each method's cost per call is learned from the `time.processing` the portal
 *  reports (per command in a batch's `result_time`): a rise is taken at once (the next plans
 *  must not overshoot), a fall is followed slowly (EWMA, weight `costLearningRate`). Nothing in
 *  here knows the emulator's cost table; `defaultCallCost` is only the prior before the first answer.
 *
 *  Planning (`planCalls`): for `wanted` independent calls of one method the next request carries
 *  all of them when the budget has room (a batch: one request, charged); else as many as the
 *  budget has room for; else, when the method's calls are cheap enough that a few stay under the
 *  floor (`freeCalls`), that many (free requests, which only the request bucket paces); else 0:
 *  wait for the budget (`acquireOperating`).
 *
 * Times: the limiter works on an injected local clock (`Clock`, ms) and converts to portal
 * time with an anchor taken from each response's `time.finish` (portal epoch seconds), so the
 * portal's clock skew does not matter. `timeScale` (portal seconds per local second) exists
 * ONLY for the emulator, whose clock runs faster than wall time; production leaves it at 1.
 */

export interface Clock {
  /** Local monotonic-ish time, ms. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms))),
};

export type Plan = 'standard' | 'enterprise';

export const PLAN_LIMITS: Record<Plan, { burst: number; drainPerSec: number }> = {
  standard: { burst: 50, drainPerSec: 2 },
  enterprise: { burst: 250, drainPerSec: 5 },
};

export interface LimiterOptions {
  plan?: Plan;
  /** Overrides the plan's burst threshold X. */
  burst?: number;
  /** Overrides the plan's drain rate Y (requests per portal second). */
  drainPerSec?: number;
  /** Fraction of the burst we never use (default 0.2: at most 40 of 50). */
  safetyMargin?: number;
  /** Per-method operating budget per 10 minutes, portal seconds (default 480). */
  operatingLimitSec?: number;
  /**
   * Fraction of the operating budget kept free (default 0.01). Small on purpose: the budget is
   * per app × method, so only this app's own other processes share it (their time shows up
   * in the reported sum and is mirrored as foreign); an overshoot costs a 429 on the calls
   * past the limit (not charged) and a wait for the reset that was due anyway. A big sync
   * needs nearly all of each window (bench: both product-row methods at ~95% of 2 × 480 s).
   */
  operatingMargin?: number;
  /** Operating seconds assumed per call before we have measured the method (default 0.2). */
  defaultCallCost?: number;
  /**
   * A method whose summed processing in one request is at most this is not charged (default 0.1:
   * `$minimalFixTime` of the rest module's loadlimiter.php).
   */
  minimalFixTimeSec?: number;
  /** Weight of a new measurement when a method's cost falls (EWMA, default 0.2; rises are taken at once). */
  costLearningRate?: number;
  /** Bucket size and window of the operating limiter (portal s; defaults 60 and 600). */
  operatingBucketSec?: number;
  operatingWindowSec?: number;
  /**
   * Our buckets are kept this many portal seconds past their window (default 2): their start
   * times are estimates of the portal clock, which at the emulator's high time scales jitters
   * by a few portal seconds.
   */
  expiryPadSec?: number;
  /** TEST ONLY: portal seconds per local second (the emulator's --time-scale). */
  timeScale?: number;
  clock?: Clock;
}

interface OpBucket {
  /** Calendar bucket index: floor(portal s / bucketSec). */
  minute: number;
  sum: number; // operating s
}

interface MethodState {
  buckets: OpBucket[];
  /** Reported time we cannot attribute to our buckets, assumed to expire at foreignUntil. */
  foreign: number;
  foreignUntil: number;
  /** Last reported operating_reset_at (portal s). */
  resetAt: number | null;
  /** Estimated operating seconds per call. */
  cost: number;
  costMeasured: boolean;
  /** After a 429: no calls before this portal time. */
  blockedUntil: number;
}

export interface LimiterStats {
  /** Local ms spent waiting for the bucket / for operating budgets. */
  waitedBucketMs: number;
  waitedOperatingMs: number;
  rateLimitHits: number;
  operatingLimitHits: number;
}

export class Limiter {
  readonly burst: number;
  readonly drainPerSec: number;
  readonly threshold: number;
  readonly opLimit: number;
  readonly opSafe: number;
  readonly timeScale: number;
  readonly clock: Clock;
  readonly bucketSec: number;
  readonly windowSec: number;
  readonly padSec: number;
  private readonly defaultCost: number;
  readonly floorSec: number;
  private readonly learnRate: number;

  /** Our copy of the portal's request counter, at `levelAt` (local ms). */
  private level = 0;
  private levelAt: number;
  private consecutive503 = 0;
  private penaltyUntil = 0; // local ms

  /** portal s = anchorPortal + (local - anchorLocal)/1000 * timeScale */
  private anchorPortal: number | null = null;
  private anchorLocal = 0;

  private readonly methods = new Map<string, MethodState>();
  readonly stats: LimiterStats = { waitedBucketMs: 0, waitedOperatingMs: 0, rateLimitHits: 0, operatingLimitHits: 0 };

  constructor(opts: LimiterOptions = {}) {
    const plan = PLAN_LIMITS[opts.plan ?? 'standard'];
    this.burst = opts.burst ?? plan.burst;
    this.drainPerSec = opts.drainPerSec ?? plan.drainPerSec;
    this.threshold = Math.max(1, Math.floor(this.burst * (1 - (opts.safetyMargin ?? 0.2))));
    this.opLimit = opts.operatingLimitSec ?? 480;
    this.opSafe = this.opLimit * (1 - (opts.operatingMargin ?? 0.01));
    this.defaultCost = opts.defaultCallCost ?? 0.2;
    this.floorSec = opts.minimalFixTimeSec ?? 0.1;
    this.learnRate = opts.costLearningRate ?? 0.2;
    this.bucketSec = opts.operatingBucketSec ?? 60;
    this.windowSec = opts.operatingWindowSec ?? 600;
    this.padSec = opts.expiryPadSec ?? 2;
    this.timeScale = opts.timeScale ?? 1;
    this.clock = opts.clock ?? systemClock;
    this.levelAt = this.clock.now();
  }

  // ---- portal clock ------------------------------------------------------------------

  /** True once a response has told us the portal's time. */
  get anchored(): boolean {
    return this.anchorPortal !== null;
  }

  /** Current portal time estimate, epoch seconds. */
  portalNow(): number {
    const local = this.clock.now();
    if (this.anchorPortal === null) return local / 1000;
    return this.anchorPortal + ((local - this.anchorLocal) / 1000) * this.timeScale;
  }

  /**
   * Anchors the portal clock: the portal read `portalSeconds` (a response's `time.start`) no
   * later than local time `localMs` (when we received the answer). The estimate therefore lags
   * the portal by up to one round trip, which errs on the safe side for reset waits.
   */
  syncPortalClock(portalSeconds: number, localMs = this.clock.now()): void {
    if (!Number.isFinite(portalSeconds)) return;
    if (this.anchorPortal === null) this.moveToPortalTime(portalSeconds - localMs / 1000);
    this.anchorPortal = portalSeconds;
    this.anchorLocal = localMs;
  }

  /**
   * Charges reserved before the first answer sit in minutes of the local clock; the portal's clock
   * may be far from it (skew; the emulator's clock of another day). Moves them, and every other
   * time kept, by `deltaSec` to the portal's clock, rounding up (a later expiry errs on the safe side).
   */
  private moveToPortalTime(deltaSec: number): void {
    if (!Number.isFinite(deltaSec) || deltaSec === 0) return;
    for (const s of this.methods.values()) {
      for (const b of s.buckets) b.minute = Math.ceil((b.minute * this.bucketSec + deltaSec) / this.bucketSec);
      if (s.foreignUntil > 0) s.foreignUntil += deltaSec;
      if (s.blockedUntil > 0) s.blockedUntil += deltaSec;
    }
  }

  /** Local ms that `portalSec` portal seconds take. */
  toLocalMs(portalSec: number): number {
    return (portalSec * 1000) / this.timeScale;
  }

  // ---- leaky bucket ------------------------------------------------------------------

  private drain(): void {
    const now = this.clock.now();
    const portalElapsed = ((now - this.levelAt) / 1000) * this.timeScale;
    this.level = Math.max(0, this.level - portalElapsed * this.drainPerSec);
    this.levelAt = now;
  }

  /** Our model of the portal's counter right now. */
  bucketLevel(): number {
    this.drain();
    return this.level;
  }

  /** Local ms until one more request fits under the threshold (0 = now). */
  bucketWaitMs(): number {
    this.drain();
    const now = this.clock.now();
    const over = this.level + 1 - this.threshold;
    const bucketMs = over > 0 ? this.toLocalMs(over / this.drainPerSec) : 0;
    return Math.max(bucketMs, this.penaltyUntil - now, 0);
  }

  /** Waits for room in the bucket, then takes it (one HTTP request). */
  async acquireRequest(): Promise<void> {
    for (;;) {
      const wait = this.bucketWaitMs();
      if (wait <= 0) break;
      this.stats.waitedBucketMs += wait;
      await this.clock.sleep(wait);
    }
    this.drain();
    this.level += 1;
  }

  /** A request succeeded (resets the 503 backoff). */
  onRequestOk(): void {
    this.consecutive503 = 0;
  }

  /**
   * 503 QUERY_LIMIT_EXCEEDED: the portal's counter is over `burst` (someone else shares it, or
   * our model drifted). Resync to full and add an exponential penalty for repeated hits.
   */
  onRateLimited(): void {
    this.stats.rateLimitHits++;
    this.drain();
    this.level = Math.max(this.level, this.burst + 1);
    this.consecutive503++;
    const extraPortalSec = Math.min(2 ** (this.consecutive503 - 1), 30) / this.drainPerSec;
    const jitter = 0.9 + Math.random() * 0.2;
    this.penaltyUntil = Math.max(this.penaltyUntil, this.clock.now() + this.toLocalMs(extraPortalSec) * jitter);
  }

  // ---- operating budget --------------------------------------------------------------

  private state(method: string): MethodState {
    const m = method.toLowerCase();
    let s = this.methods.get(m);
    if (!s) {
      s = { buckets: [], foreign: 0, foreignUntil: 0, resetAt: null, cost: this.defaultCost, costMeasured: false, blockedUntil: 0 };
      this.methods.set(m, s);
    }
    return s;
  }

  /** Portal time at which a bucket leaves the window: the start of the 10th minute after its own. */
  private expiry(b: OpBucket): number {
    return b.minute * this.bucketSec + this.windowSec;
  }

  private ownSum(s: MethodState, at: number): number {
    let sum = 0;
    for (const b of s.buckets) if (this.expiry(b) > at) sum += b.sum;
    return sum;
  }

  private prune(s: MethodState, at: number): void {
    s.buckets = s.buckets.filter((b) => this.expiry(b) > at);
  }

  /** Projected operating seconds of `method` at portal time `at` (default now). */
  projected(method: string, at = this.portalNow()): number {
    const s = this.state(method);
    return this.ownSum(s, at) + (s.foreignUntil > at ? s.foreign : 0);
  }

  /**
   * When the operating time `method` has spent in the window frees up (portal s, ascending): our own
   * buckets (+ the expiry pad) and the reported part we cannot attribute. The write-back's ETA
   * (src/writeback/eta.ts) plays the window rules forward from these.
   */
  releases(method: string, at = this.portalNow()): Array<{ at: number; sum: number }> {
    const s = this.state(method);
    const out = s.buckets.filter((b) => this.expiry(b) > at && b.sum > 0).map((b) => ({ at: this.expiry(b) + this.padSec, sum: b.sum }));
    if (s.foreignUntil > at && s.foreign > 0) out.push({ at: s.foreignUntil, sum: s.foreign });
    return out.sort((a, b) => a.at - b.at);
  }

  /** Estimated operating seconds of one call of `method`. */
  costPerCall(method: string): number {
    return this.state(method).cost;
  }

  /** True once an answer has told us the method's processing. */
  costLearned(method: string): boolean {
    return this.state(method).costMeasured;
  }

  /** What `calls` calls of `method` in one request will be charged: 0 at or under the floor. */
  chargeFor(method: string, calls: number): number {
    const est = calls * this.state(method).cost;
    return est > this.floorSec ? est : 0;
  }

  /** How many calls of `method` one request can carry free of charge (0 until measured, or when one call is above the floor). */
  freeCalls(method: string): number {
    const s = this.state(method);
    if (!s.costMeasured) return 0;
    return Math.floor(this.floorSec / Math.max(s.cost, 1e-6));
  }

  /**
   * How many of `wanted` independent calls of `method` the next request should carry (0 = wait
   * for the budget): all when the budget has room, else as many as it has room for, else as many
   * as stay free under the floor.
   */
  planCalls(method: string, wanted: number): number {
    if (wanted <= 0) return 0;
    const s = this.state(method);
    const now = this.portalNow();
    if (s.blockedUntil > now || this.projected(method, now) > this.opSafe) return 0;
    const fit = Math.min(wanted, this.capacity(method));
    return Math.max(fit, Math.min(wanted, this.freeCalls(method)));
  }

  /** How many calls of `method` fit in the budget right now (0 = must wait). */
  capacity(method: string): number {
    const s = this.state(method);
    const now = this.portalNow();
    if (s.blockedUntil > now) return 0;
    const room = this.opSafe - this.projected(method, now);
    return room <= 0 ? 0 : Math.floor(room / Math.max(s.cost, 1e-6));
  }

  /**
   * Portal time at which `calls` more calls of `method` fit (now if they already do). Walks
   * the mirrored buckets in expiry order.
   */
  operatingReadyAt(method: string, calls: number, now = this.portalNow()): number {
    const s = this.state(method);
    const need = this.chargeFor(method, calls);
    const start = Math.max(now, s.blockedUntil);
    if (this.projected(method, start) + need <= this.opSafe) return start;
    const events = [...s.buckets.map((b) => this.expiry(b)), s.foreignUntil].filter((t) => t > start).sort((a, b) => a - b);
    for (const t of events) if (this.projected(method, t) + need <= this.opSafe) return t;
    return events.at(-1) ?? start;
  }

  /** Waits until every method of the planned request has operating budget for its calls. */
  async acquireOperating(calls: Record<string, number>): Promise<void> {
    for (;;) {
      const now = this.portalNow();
      let readyAt = now;
      // one reading of the clock for every method: a second, later reading would never be "ready now"
      for (const [m, n] of Object.entries(calls)) readyAt = Math.max(readyAt, this.operatingReadyAt(m, n, now));
      if (readyAt <= now) return;
      const ms = this.toLocalMs(readyAt - now) + 1;
      this.stats.waitedOperatingMs += ms;
      await this.clock.sleep(ms);
    }
  }

  /** Reserves the estimated cost of calls about to be sent (so concurrent planners see it). */
  chargeEstimate(method: string, calls: number): number {
    const s = this.state(method);
    const est = this.chargeFor(method, calls);
    if (est > 0) this.addOwn(s, est, this.portalNow());
    return est;
  }

  /** Takes back an estimate charged for calls that never ran. */
  refund(method: string, seconds: number): void {
    this.takeBack(this.state(method), seconds);
  }

  /** Removes `seconds` from our newest charges. */
  private takeBack(s: MethodState, seconds: number): void {
    if (seconds <= 0) return;
    let left = seconds;
    for (let i = s.buckets.length - 1; i >= 0 && left > 0; i--) {
      const b = s.buckets[i]!;
      const take = Math.min(b.sum, left);
      b.sum -= take;
      left -= take;
    }
  }

  /**
   * Adds a charge to the minute it lands in on the portal. Our portal clock lags the portal by up
   * to a round trip, so the charge goes to the minute of `at + pad`: never an earlier minute than
   * the portal's, so our copy never expires before the portal's does.
   */
  private addOwn(s: MethodState, seconds: number, at: number): void {
    this.prune(s, at);
    if (seconds < 0) {
      // a correction downwards (we reserved more than was charged): take it from our newest charges,
      // which may sit in another minute than `at` (e.g. reserved before the clock was anchored)
      this.takeBack(s, -seconds);
      return;
    }
    const minute = Math.floor((at + this.padSec) / this.bucketSec);
    const last = s.buckets.at(-1);
    if (last && last.minute >= minute) last.sum += seconds;
    else s.buckets.push({ minute, sum: seconds });
  }

  /**
   * Learns from a response: `calls` calls of `method` ran; the portal now reports `operating`
   * (sum incl. these calls) and `resetAt`. `estimated` is what chargeEstimate reserved for them.
   */
  observeOperating(method: string, r: { calls: number; estimated: number; operating?: number; resetAt?: number; measuredCost?: number }): void {
    const s = this.state(method);
    const now = this.portalNow();
    this.prune(s, now);
    // Per-call cost: the server time the portal reports for the calls (`time.processing`, per
    // command in a batch's result_time) — what the operating budget sums. Without it the
    // estimate stays and the reconcile below still corrects the total. (Learning the cost from
    // deltas of the reported sum is unreliable: foreign time and bucket expiry hide in them.)
    const cost = r.measuredCost !== undefined && r.calls > 0 ? r.measuredCost / r.calls : undefined;
    if (cost !== undefined && Number.isFinite(cost)) {
      // what the portal charged for these calls: their sum, or nothing at or under the floor
      const charged = r.measuredCost! > this.floorSec ? r.measuredCost! : 0;
      this.addOwn(s, charged - r.estimated, now);
      s.cost = s.costMeasured ? Math.max(cost, s.cost * (1 - this.learnRate) + cost * this.learnRate) : Math.max(cost, 1e-3);
      s.costMeasured = true;
    }
    if (r.resetAt !== undefined && Number.isFinite(r.resetAt)) s.resetAt = r.resetAt;
    if (r.operating !== undefined && Number.isFinite(r.operating)) this.reconcile(s, r.operating, now);
    for (const b of s.buckets) if (b.sum < 0) b.sum = 0;
  }

  /** Makes the mirror agree with a reported sum (and our oldest bucket with the reported reset). */
  private reconcile(s: MethodState, reported: number, now: number): void {
    // Our bucket starts are portal-time estimates; the portal's operating_reset_at is the truth
    // for the oldest one. Never let ours expire earlier than the portal says.
    const oldest = s.buckets[0];
    if (oldest && s.resetAt !== null && this.expiry(oldest) < s.resetAt && s.resetAt <= now + this.windowSec + 60) {
      oldest.minute = Math.min(Math.ceil((s.resetAt - this.windowSec) / this.bucketSec), s.buckets[1]?.minute ?? Infinity);
    }
    const own = this.ownSum(s, now);
    if (reported >= own) {
      s.foreign = reported - own;
      s.foreignUntil = s.resetAt !== null && s.resetAt > now ? s.resetAt : now + this.bucketSec;
    } else {
      // We over-count (e.g. calls under 0.1 s are free): scale our buckets down.
      const k = own > 0 ? reported / own : 0;
      for (const b of s.buckets) b.sum *= k;
      s.foreign = 0;
      s.foreignUntil = 0;
    }
  }

  /** 429 OPERATION_TIME_LIMIT for `method`: block it until the last known reset (or one bucket). */
  onOperatingLimited(method: string, resetAt?: number): void {
    this.stats.operatingLimitHits++;
    const s = this.state(method);
    const now = this.portalNow();
    const until = resetAt !== undefined && resetAt > now ? resetAt : s.resetAt !== null && s.resetAt > now ? s.resetAt : now + this.bucketSec;
    s.blockedUntil = Math.max(s.blockedUntil, until);
    // The budget is full: make the mirror say so until then.
    const own = this.ownSum(s, now);
    s.foreign = Math.max(0, this.opLimit - own);
    s.foreignUntil = Math.max(s.foreignUntil, until);
  }

  /** Snapshot for diagnostics / the sync run record. */
  snapshot(): { bucketLevel: number; methods: Record<string, { projected: number; cost: number; resetAt: number | null }> } {
    const methods: Record<string, { projected: number; cost: number; resetAt: number | null }> = {};
    for (const [m, s] of this.methods) methods[m] = { projected: this.projected(m), cost: s.cost, resetAt: s.resetAt };
    return { bucketLevel: this.bucketLevel(), methods };
  }
}
