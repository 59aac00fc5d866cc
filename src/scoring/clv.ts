/**
 * Predicted customer value over a horizon H (days), discounted monthly:
 *
 *   CLV = margin × E[value per purchase] × Σ_{k=1..K} (E[Y(t_k)] − E[Y(t_{k−1})]) / (1 + d)^k
 *
 * where t_k = min(k × 30.4375, H) days, K = ⌈H / 30.4375⌉, d = (1 + annual rate)^(1/12) − 1 (the
 * monthly rate equivalent to the annual one) and E[Y(t)] is the expected number of repeat purchase
 * days in (now, now + t]:
 *   - models: the BG/NBD conditional expectation E[Y(t) | x, t_x, T] (it already contains
 *     P(alive)), and the Gamma-Gamma conditional mean spend E[M | x, z̄];
 *   - rules (fallback): E[Y(t)] = rate × t × P_alive(rule) with the customer's repeat rate shrunk
 *     toward the portal's average rate ρ by one year of pseudo-observation (a gamma-Poisson
 *     posterior mean): rate = (x + ρ·365) / (T + 365), x = repeat purchase days, T = days since the
 *     first purchase; and the customer's historic average purchase-day value.
 */

export const DAYS_PER_MONTH = 365.25 / 12;
export const PRIOR_DAYS = 365;

/** (x + ρ·365) / (T + 365): the customer's repeat rate per day, shrunk toward the portal rate ρ. */
export function shrunkRepeatRate(repeatPurchases: number, observedDays: number, portalRate: number): number {
  return (repeatPurchases + portalRate * PRIOR_DAYS) / (Math.max(0, observedDays) + PRIOR_DAYS);
}

export function monthlyDiscountRate(annualRate: number): number {
  return Math.pow(1 + annualRate, 1 / 12) - 1;
}

export interface DiscountedPurchases {
  /** E[Y(H)] */
  expected: number;
  /** Σ ΔE_k / (1+d)^k */
  discounted: number;
}

/** Monthly increments of a cumulative expectation, discounted. */
export function discountedPurchases(expectedBy: (tDays: number) => number, horizonDays: number, annualRate: number): DiscountedPurchases {
  const d = monthlyDiscountRate(annualRate);
  const months = Math.ceil(horizonDays / DAYS_PER_MONTH - 1e-9);
  let prev = 0;
  let discounted = 0;
  for (let k = 1; k <= months; k++) {
    const e = expectedBy(Math.min(k * DAYS_PER_MONTH, horizonDays));
    discounted += Math.max(0, e - prev) / Math.pow(1 + d, k);
    prev = Math.max(prev, e);
  }
  return { expected: prev, discounted };
}

export function predictedClv(margin: number, valuePerPurchase: number, discountedPurchaseCount: number): number {
  const v = margin * valuePerPurchase * discountedPurchaseCount;
  return Number.isFinite(v) ? v : 0;
}
