/**
 * The effectiveness figures as CSV (GET /api/ui/effectiveness/export): one line per run and
 * segment (the chosen run and the runs before it, oldest first), in the user's language with the
 * locale rules of csv.ts (separator, decimal comma, dates, formula neutralising). Shares are whole
 * percent with one decimal; amounts 2 decimals; an incomplete window leaves its cells empty and says
 * so in the "window" column. Figures the viewer may not see are null and stay empty.
 */
import { csvCell, csvFormat, day, num, type CsvFormat } from './csv.js';
import type { SegmentFigures } from './effectiveness-query.js';
import { segmentLabel, type UiLang } from './labels.js';

type Key = 'asOf' | 'window' | 'segment' | 'members' | 'buyers' | 'conversion' | 'winRate' | 'wonDeals' | 'lostDeals'
  | 'revenuePerMember' | 'marginPerMember' | 'retention' | 'stayed' | 'averageOrderValue' | 'meanDaysBetweenOrders' | 'complete' | 'incomplete';

const HEADERS: Record<UiLang, Record<Key, string>> = {
  en: {
    asOf: 'Run as of', window: 'Window', segment: 'Segment', members: 'Members', buyers: 'Buyers before the run', conversion: 'Conversion, %',
    winRate: 'Win rate, %', wonDeals: 'Won deals', lostDeals: 'Lost deals', revenuePerMember: 'Revenue per member', marginPerMember: 'Margin per member',
    retention: 'Bought again, %', stayed: 'Same or better segment at the next run, %', averageOrderValue: 'Average order value',
    meanDaysBetweenOrders: 'Mean days between orders', complete: 'complete', incomplete: 'not yet elapsed',
  },
  ru: {
    asOf: 'Расчёт на дату', window: 'Окно', segment: 'Сегмент', members: 'Участников', buyers: 'Покупали до расчёта', conversion: 'Конверсия, %',
    winRate: 'Доля выигранных сделок, %', wonDeals: 'Выиграно сделок', lostDeals: 'Проиграно сделок', revenuePerMember: 'Выручка на участника',
    marginPerMember: 'Маржа на участника', retention: 'Купили снова, %', stayed: 'В том же или лучшем сегменте при следующем расчёте, %',
    averageOrderValue: 'Средний чек', meanDaysBetweenOrders: 'Дней между заказами в среднем', complete: 'завершено', incomplete: 'ещё не прошло',
  },
  de: {
    asOf: 'Berechnung zum', window: 'Zeitraum', segment: 'Segment', members: 'Mitglieder', buyers: 'Käufer vor der Berechnung', conversion: 'Konversion, %',
    winRate: 'Abschlussquote, %', wonDeals: 'Gewonnene Deals', lostDeals: 'Verlorene Deals', revenuePerMember: 'Umsatz pro Mitglied',
    marginPerMember: 'Marge pro Mitglied', retention: 'Erneut gekauft, %', stayed: 'Gleiches oder besseres Segment bei der nächsten Berechnung, %',
    averageOrderValue: 'Durchschnittlicher Bestellwert', meanDaysBetweenOrders: 'Tage zwischen Bestellungen im Mittel', complete: 'abgeschlossen',
    incomplete: 'noch nicht verstrichen',
  },
  pl: {
    asOf: 'Obliczenie na dzień', window: 'Okno', segment: 'Segment', members: 'Członkowie', buyers: 'Kupujący przed obliczeniem', conversion: 'Konwersja, %',
    winRate: 'Odsetek wygranych transakcji, %', wonDeals: 'Wygrane transakcje', lostDeals: 'Przegrane transakcje', revenuePerMember: 'Przychód na członka',
    marginPerMember: 'Marża na członka', retention: 'Kupili ponownie, %', stayed: 'Ten sam lub lepszy segment przy następnym obliczeniu, %',
    averageOrderValue: 'Średnia wartość zamówienia', meanDaysBetweenOrders: 'Średnio dni między zamówieniami', complete: 'zakończone',
    incomplete: 'jeszcze nie minęło',
  },
  ua: {
    asOf: 'Розрахунок на дату', window: 'Вікно', segment: 'Сегмент', members: 'Учасників', buyers: 'Купували до розрахунку', conversion: 'Конверсія, %',
    winRate: 'Частка виграних угод, %', wonDeals: 'Виграно угод', lostDeals: 'Програно угод', revenuePerMember: 'Виручка на учасника',
    marginPerMember: 'Маржа на учасника', retention: 'Купили знову, %', stayed: 'У тому ж або кращому сегменті при наступному розрахунку, %',
    averageOrderValue: 'Середній чек', meanDaysBetweenOrders: 'Днів між замовленнями в середньому', complete: 'завершено', incomplete: 'ще не минуло',
  },
};

const COLUMNS = ['asOf', 'window', 'segment', 'members', 'buyers', 'conversion', 'winRate', 'wonDeals', 'lostDeals', 'revenuePerMember',
  'marginPerMember', 'retention', 'stayed', 'averageOrderValue', 'meanDaysBetweenOrders'] as const;

/** A segment's figures as the viewer may see them (a non-admin's small groups: members null). */
type Shown = Omit<SegmentFigures, 'members' | 'buyers'> & { members: number | null; buyers: number | null };
interface ShownEffectiveness {
  window: number;
  history: ReadonlyArray<{ asOf: string; complete: boolean; segments: readonly Shown[] }>;
}

const pct = (v: number | null, f: CsvFormat) => (v === null ? '' : num(v * 100, f, 1));

function line(s: Shown, asOf: string, windowText: string, f: CsvFormat): string {
  const cells = [
    day(asOf, f), windowText, segmentLabel(s.segment, f.lang).name, num(s.members, f, 0), num(s.buyers, f, 0), pct(s.conversion, f),
    pct(s.winRate, f), num(s.wonDeals, f, 0), num(s.lostDeals, f, 0), num(s.revenuePerMember, f, 2), num(s.marginPerMember, f, 2),
    pct(s.retention, f), pct(s.stayed, f), num(s.averageOrderValue, f, 2), num(s.meanDaysBetweenOrders, f, 1),
  ];
  return cells.map((c) => csvCell(c, f.sep)).join(f.sep);
}

/** The whole file: BOM, header, one line per run and segment, CRLF line ends. */
export function effectivenessCsv(e: ShownEffectiveness, lang: UiLang): string {
  const f = csvFormat(lang);
  const h = HEADERS[lang];
  const head = COLUMNS.map((c) => csvCell(h[c], f.sep)).join(f.sep);
  const lines = e.history.flatMap((r) => {
    const w = `${e.window} (${r.complete ? h.complete : h.incomplete})`;
    return r.segments.map((s) => line(s, r.asOf, w, f));
  });
  return `\uFEFF${[head, ...lines].join('\r\n')}\r\n`;
}
