/**
 * The portal's backtest in a scoring run: the run's own customers, fitted as if it were `horizon` days
 * ago and compared with what they bought since (src/scoring/backtest.ts). Stored with the run's fits
 * (score_runs.fits.backtest) for the dashboard's calibration chart (GET /api/ui/dashboard/backtest).
 *
 * Skipped (with the reason) when the models are off, or when nobody had bought before the cut. A
 * failure is caught and stored as the reason: the backtest never fails a scoring run.
 */
import { backtest, type StoredBacktest } from '../scoring/backtest.js';
import { parseIsoDay } from '../scoring/dates.js';
import type { CustomerInput, ScoringSettings } from '../scoring/index.js';

export type { StoredBacktest };

export function portalBacktest(customers: Iterable<CustomerInput>, asOfDay: string, settings: ScoringSettings): StoredBacktest {
  const horizonDays = settings.models.horizonDays;
  const end = parseIsoDay(asOfDay);
  const cut = end - horizonDays;
  const fitUntil = new Date(cut * 86_400_000).toISOString().slice(0, 10);
  if (!settings.models.enabled) return { status: 'skipped', reason: 'models are off in the settings', fitUntil, horizonDays };
  try {
    const result = backtest(customers, cut, horizonDays, settings);
    if (result.customers === 0) return { status: 'skipped', reason: `no customer bought on or before ${fitUntil} (the history is shorter than the horizon)`, fitUntil, horizonDays };
    return { status: 'done', ...result };
  } catch (err) {
    return { status: 'failed', reason: (err as Error).message, fitUntil, horizonDays };
  }
}
