/**
 * Levels explained in the user's language (issue 14 item 5): the ranges the API sends
 * (src/scoring/rfm.ts levelRanges) worded by ui/src/levelWords.ts in en, ru, de, pl and ua;
 * every new word exists and is translated in each language.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fixedThresholds, levelRanges } from '../../src/scoring/index.js';
import { lang, MESSAGES, type Lang } from '../../ui/src/i18n.js';
import { levelText } from '../../ui/src/levelWords.js';

const LANGS: Lang[] = ['en', 'ru', 'de', 'pl', 'ua'];
const NEW_KEYS = [
  'boundsTitle', 'levelN', 'dimR', 'dimF', 'dimM', 'boundsMode_fresh', 'boundsMode_pinned', 'boundsMode_fixed', 'lvlR', 'lvlF', 'lvlFOne', 'lvlM',
  'lvlMWithheld', 'rangeUpTo', 'rangeFrom', 'rangeOver', 'rangeOverUpTo', 'rangeEmpty', 'matrixTitle', 'matrixNew', 'matrixGone', 'matrixHint',
  'matrixCell', 'matrixCellRevenue', 'daysOverdue', 'daysOverdueHint', 'trigMove', 'trigLifecycle', 'trigFrom', 'trigTo', 'anyStage', 'errSameFromTo',
] as const;

afterEach(() => {
  lang.value = 'en';
});

describe('levels in words', () => {
  const r = levelRanges(fixedThresholds([365, 180, 90, 30], 5, 'recency'));
  const f = levelRanges(fixedThresholds([1, 2, 4, 8], 5, 'frequency'));
  const m = levelRanges(fixedThresholds([10_000, 50_000, 150_000, 500_000], 5, 'monetary'));

  it('English: the default fixed bounds read as the values of each level', () => {
    lang.value = 'en';
    expect(r.map((x) => levelText('recency', x))).toEqual([
      'last purchase 365 or more days ago', 'last purchase 180–364 days ago', 'last purchase 90–179 days ago', 'last purchase 30–89 days ago', 'last purchase up to 29 days ago',
    ]);
    expect(f.map((x) => levelText('frequency', x))).toEqual(['1 purchase day', '2 purchase days', '3–4 purchase days', '5–8 purchase days', '9 or more purchase days']);
    expect(levelText('monetary', m[1]!)).toBe('revenue over 10,000, up to 50,000');
    expect(levelText('monetary', { level: 2, min: null, max: null, minExclusive: false, empty: false })).toBe('revenue band 2 (amounts for administrators)');
  });

  it('Russian and German: the same numbers in their words and number format', () => {
    lang.value = 'ru';
    expect(levelText('frequency', f[2]!)).toBe('дней с покупками: 3–4');
    expect(levelText('recency', r[4]!)).toBe('последняя покупка до 29 дн. назад');
    expect(levelText('monetary', m[1]!).replace(/\s/g, ' ')).toBe('выручка больше 10 000, до 50 000');
    lang.value = 'de';
    expect(levelText('monetary', m[1]!)).toBe('Umsatz über 10.000, bis 50.000');
  });

  it('every new word exists in all five languages, and each language has its own words', () => {
    for (const l of LANGS) for (const k of NEW_KEYS) expect([l, k, typeof MESSAGES[l][k], MESSAGES[l][k].length > 0]).toEqual([l, k, 'string', true]);
    for (const l of LANGS.filter((x) => x !== 'en')) {
      for (const k of NEW_KEYS) expect([l, k, MESSAGES[l][k] === MESSAGES.en[k]]).toEqual([l, k, false]);
    }
  });
});
