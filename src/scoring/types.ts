/** Input and output shapes of the scoring core. Dates are 'YYYY-MM-DD' strings or UTC day numbers. */
import type { LifecycleCode, Scale, SegmentCode } from './codes.js';
import type { DimensionThresholds } from './rfm.js';
import type { ActiveInterest } from './interests.js';
import type { BgNbdParams } from './bgnbd.js';
import type { GammaGammaParams } from './gammagamma.js';
import type { ScoringSettings } from './settings.js';
import type { CustomerIntervals, SpendModel } from './value-distribution.js';

export type DayInput = string | number;

export interface WonDeal {
  /** the CRM deal's id, when known (the data-quality counterfactuals leave out given deals) */
  id?: number;
  date: DayInput;
  /** amount in the portal's base currency; negative = refund (reduces that day's value) */
  amount: number;
  /** product section ids of the deal's products */
  sectionIds?: readonly number[];
}

export interface LostDeal {
  date?: DayInput;
  /** lost-stage / reason id (e.g. the stage's STATUS_ID or a reason list value) */
  reasonId?: string | null;
  /** human-readable reason text */
  reason?: string | null;
}

export interface CustomerInput {
  id: string;
  /** contacts always; companies too when B2B is on */
  kind?: 'contact' | 'company';
  createdAt?: DayInput | null;
  won: readonly WonDeal[];
  lost?: readonly LostDeal[];
  /** number of open (in-progress) deals */
  openDeals?: number;
}

export interface SectionNode {
  id: number;
  parentId: number | null;
  name: string;
}

export interface PortalScoringInput {
  asOf: DayInput;
  /**
   * any iterable: a generator lets the caller stream customers so deals never pile up in memory;
   * one that tells its `length` (an array, pipeline/compact-input.ts) gets its columns sized at once
   */
  customers: Iterable<CustomerInput> & { readonly length?: number };
  sections?: readonly SectionNode[];
}

export type FitStatus = 'ok' | 'insufficient_data' | 'failed' | 'disabled';

export interface BgNbdReport {
  status: FitStatus;
  reason: string | null;
  timeUnit: 'day' | 'week';
  params: BgNbdParams | null;
  ll: number | null;
  customers: number;
  repeatCustomers: number;
  uniqueTriples: number;
  gridStep: number;
  evaluations: number;
}

export interface GammaGammaReport {
  status: FitStatus;
  reason: string | null;
  params: GammaGammaParams | null;
  ll: number | null;
  customers: number;
  evaluations: number;
}

export interface CustomerScore {
  id: string;
  kind: 'contact' | 'company';
  /** days since the last purchase day; null without purchases */
  recencyDays: number | null;
  frequency: number;
  monetary: number;
  r: number | null;
  f: number | null;
  m: number | null;
  /** cell label, e.g. "BCC" (3 levels) or "545" (5 levels); null without purchases */
  rfm: string | null;
  segment: SegmentCode;
  lifecycle: LifecycleCode;
  /** the refusal reason kept for lifecycle = refused */
  refusalReason: string | null;
  /** null without purchases */
  sleeping: boolean | null;
  medianGapDays: number | null;
  expectedNextPurchase: string | null;
  daysOverdue: number | null;
  /** tags whose window is still open on the as-of day */
  interests: ActiveInterest[];
  /** every tag ever bought (active ones and those whose window has passed: expiresOn < as-of) */
  interestsEver?: ActiveInterest[];
  historicValue: number;
  pAlive: number;
  /** expected repeat purchase days over the horizon */
  expectedPurchases: number;
  /** expected value of one future purchase day */
  expectedValue: number;
  predictedClv: number;
  /** 'models' when BG/NBD supplied P(alive) and the purchases, 'rules' otherwise */
  valueSource: 'models' | 'rules';
  /**
   * 80 % predictive intervals over the horizon (value-distribution.ts): repeat purchase days and CLV
   * (same money units as predictedClv); null without purchases
   */
  intervals: CustomerIntervals | null;
  /** with scorePortal's keepForecasts: the distributions behind the intervals (money = S × moneyScale) */
  forecast?: { pmf: Float64Array; spend: SpendModel; moneyScale: number };
}

export interface ScoringRun {
  asOf: string;
  scale: Scale;
  settings: ScoringSettings;
  /** the thresholds actually used, so every level can be explained; null when nobody bought */
  thresholds: { recency: DimensionThresholds; frequency: DimensionThresholds; monetary: DimensionThresholds } | null;
  models: { bgnbd: BgNbdReport; gammagamma: GammaGammaReport };
  customers: CustomerScore[];
  segmentSizes: Record<SegmentCode, number>;
  lifecycleSizes: Record<LifecycleCode, number>;
  warnings: string[];
}
