/** The retention variables of src/config.ts: defaults, bounds, and the startup error naming the variable. */
import { expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

it('defaults: 10 latest runs + 12 monthly, inbox 7 days, job history 7 days, housekeeping at 03:17 UTC', () => {
  expect(loadConfig({}).retention).toEqual({ scoreRuns: 10, scoreMonths: 12, inboxDays: 7, jobsDays: 7, cron: '17 3 * * *' });
  expect(loadConfig({ RETAIN_SCORE_RUNS: '30', RETAIN_SCORE_MONTHS: '36', RETAIN_INBOX_DAYS: '3', RETAIN_JOBS_DAYS: '14', HOUSEKEEPING_CRON: '0 4 * * 0' }).retention)
    .toEqual({ scoreRuns: 30, scoreMonths: 36, inboxDays: 3, jobsDays: 14, cron: '0 4 * * 0' });
});

it('refuses values that would break a reader or are not numbers, naming the variable', () => {
  for (const [k, v, why] of [
    ['RETAIN_SCORE_RUNS', '1', /RETAIN_SCORE_RUNS: must be at least 2/],
    ['RETAIN_SCORE_RUNS', 'ten', /RETAIN_SCORE_RUNS/],
    ['RETAIN_SCORE_MONTHS', '0', /RETAIN_SCORE_MONTHS/],
    ['RETAIN_INBOX_DAYS', '0', /RETAIN_INBOX_DAYS/],
    ['RETAIN_JOBS_DAYS', '-1', /RETAIN_JOBS_DAYS/],
    ['HOUSEKEEPING_CRON', '* * *', /HOUSEKEEPING_CRON: must be a 5-field cron expression/],
    ['HOUSEKEEPING_CRON', '0 0 3 * * *', /HOUSEKEEPING_CRON/],
  ] as const) {
    expect(() => loadConfig({ [k]: v }), `${k}=${v}`).toThrow(ConfigError);
    expect(() => loadConfig({ [k]: v }), `${k}=${v}`).toThrow(why);
  }
});
