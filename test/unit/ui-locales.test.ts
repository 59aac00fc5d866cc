/**
 * The UI's five languages (ui/src/locales: en, ru, de, pl, ua) have the same keys, each with its
 * own text: no locale falls back to English by a missing key, every placeholder ({n}, {seg}...)
 * of the English text is in the translation, and a text equal to the English one is a word the
 * language shares (RFM, Status, E-mail...), listed here.
 */
import { describe, expect, it } from 'vitest';
import { en } from '../../ui/src/locales/en.js';
import { ru } from '../../ui/src/locales/ru.js';
import { de } from '../../ui/src/locales/de.js';
import { pl } from '../../ui/src/locales/pl.js';
import { ua } from '../../ui/src/locales/ua.js';

const LOCALES = { ru, de, pl, ua } as Record<string, Record<string, string>>;
const base = en as Record<string, string>;

/** Keys whose text the language shares with English. */
const SHARED: Record<string, string[]> = {
  ru: ['colRfm', 'colClv', 'suppressedShort', 'colEmail', 'rangeBetween', 'cmpRoi'],
  ua: ['colRfm', 'colClv', 'suppressedShort', 'colEmail', 'rangeBetween', 'cmpRoi'],
  de: ['min', 'max', 'fSegment', 'colName', 'colSegment', 'colRfm', 'colClv', 'tag', 'phase', 'status', 'seconds', 'suppressedShort', 'bulkTemplate', 'phase_deals', 'effSegment', 'rangeBetween', 'cmpName', 'cmpText', 'cmpStepStart', 'cmpRoi'],
  pl: ['min', 'fSegment', 'colSegment', 'colRfm', 'colClv', 'tag', 'status', 'seconds', 'minutes', 'suppressedShort', 'colEmail', 'effSegment', 'rangeBetween', 'cmpStepStart', 'cmpRoi'],
};
const placeholders = (s: string) => [...new Set(s.match(/\{\w+\}/g) ?? [])].sort();

describe('UI locales', () => {
  for (const [lang, dict] of Object.entries(LOCALES)) {
    it(`${lang} has exactly the English keys, each a text of its own with the same placeholders`, () => {
      expect(Object.keys(dict).sort()).toEqual(Object.keys(base).sort());
      for (const [k, v] of Object.entries(dict)) {
        expect(typeof v === 'string' && v.trim().length > 0, `${lang}.${k}`).toBe(true);
        expect(placeholders(v), `${lang}.${k}`).toEqual(placeholders(base[k]!));
      }
      const same = Object.keys(base).filter((k) => dict[k] === base[k]).sort();
      expect(same, `${lang}: texts left in English`).toEqual([...SHARED[lang]!].sort());
    });
  }
  it('no locale module spreads the English one (a missing key would fall back silently)', async () => {
    const { readFileSync } = await import('node:fs');
    for (const lang of Object.keys(LOCALES)) expect(readFileSync(`ui/src/locales/${lang}.ts`, 'utf8'), lang).not.toMatch(/\.\.\.en\b/);
  });
});
