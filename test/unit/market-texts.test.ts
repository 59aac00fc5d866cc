/**
 * The Market texts (manifest/market/<lang>.md) in the five languages of our users: each has the
 * same six parts (the scopes explained one by one, the privacy and terms links among them), and names the segments with the very words the CRM items of that language
 * carry (src/scoring/i18n.ts), so what the Market promises is what a user then filters on.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LOCALES, SEGMENT_TEXT } from '../../src/scoring/index.js';
import { loadManifest } from '../../manifest/index.js';

const PARTS: Record<string, string[]> = {
  en: ['Short description.', 'Full description.', 'Installation.', 'Permissions.', 'Privacy and terms.', 'Support.'],
  ru: ['Краткое описание.', 'Полное описание.', 'Установка.', 'Права доступа.', 'Конфиденциальность и условия.', 'Поддержка.'],
  de: ['Kurzbeschreibung.', 'Ausführliche Beschreibung.', 'Installation.', 'Berechtigungen.', 'Datenschutz und Nutzungsbedingungen.', 'Support.'],
  pl: ['Krótki opis.', 'Pełny opis.', 'Instalacja.', 'Uprawnienia.', 'Prywatność i warunki.', 'Wsparcie.'],
  ua: ['Короткий опис.', 'Повний опис.', 'Встановлення.', 'Права доступу.', 'Конфіденційність і умови.', 'Підтримка.'],
};
const NAMED = ['champions', 'loyal', 'at_risk', 'cant_lose', 'hibernating'] as const;

describe('market texts', () => {
  for (const lang of LOCALES) {
    it(`${lang}: four parts, the segments by their CRM names`, () => {
      const text = readFileSync(`manifest/market/${lang}.md`, 'utf8');
      expect(text.match(/^# .+/m), lang).not.toBeNull();
      expect([...text.matchAll(/\*\*([^*]+)\*\*/g)].map((m) => m[1]), lang).toEqual(PARTS[lang]);
      for (const code of NAMED) expect(text, `${lang} ${code}`).toContain(SEGMENT_TEXT[code][lang].name);
      expect(text).toContain('support@b24-segments.example');
      // every scope the app asks for (manifest/app.json) is explained, and no other
      const explained = [...text.matchAll(/^- `([a-z_.]+)`: .{20,}$/gm)].map((m) => m[1]);
      expect(explained, lang).toEqual(loadManifest().app.scopes);
      expect(text).toContain('https://b24-segments.example/privacy');
      expect(text).toContain('https://b24-segments.example/terms');
    });
  }
  it('every text is its own language, not a copy of another', () => {
    const texts = LOCALES.map((l) => readFileSync(`manifest/market/${l}.md`, 'utf8'));
    expect(new Set(texts).size).toBe(LOCALES.length);
  });
});
