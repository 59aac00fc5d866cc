/**
 * A campaign's measurement as CSV (GET /api/ui/campaigns/:id/export): for the whole campaign and
 * each step, one line per group (treatment, holdout) with the comparison (lift and its 90 %
 * interval, incremental revenue and margin; ROI on the campaign's lines), in the user's language
 * with the locale rules of csv.ts (separator, decimal comma, formula neutralising).
 */
import type { CampaignMeasure, Comparison } from '../../campaigns/index.js';
import { csvCell, csvFormat, num, type CsvFormat } from './csv.js';
import type { UiLang } from './labels.js';

type Key = 'scope' | 'group' | 'members' | 'reached' | 'converted' | 'conversion' | 'purchases' | 'revenue' | 'margin' | 'lift' | 'ciLow' | 'ciHigh'
  | 'significant' | 'incRevenue' | 'incMargin' | 'roi' | 'campaign' | 'step' | 'treatment' | 'holdout' | 'yes' | 'no';

const HEADERS: Record<UiLang, Record<Key, string>> = {
  en: {
    scope: 'Scope', group: 'Group', members: 'Members', reached: 'Reached', converted: 'Converted', conversion: 'Conversion, %', purchases: 'Purchases per member',
    revenue: 'Revenue per member', margin: 'Margin per member', lift: 'Lift, %', ciLow: '90% interval from, %', ciHigh: '90% interval to, %', significant: 'Significant',
    incRevenue: 'Incremental revenue', incMargin: 'Incremental margin', roi: 'ROI, %', campaign: 'Campaign', step: 'Step', treatment: 'treatment', holdout: 'holdout', yes: 'yes', no: 'not yet',
  },
  ru: {
    scope: 'Часть', group: 'Группа', members: 'Участников', reached: 'Охвачено', converted: 'Купили', conversion: 'Конверсия, %', purchases: 'Покупок на участника',
    revenue: 'Выручка на участника', margin: 'Маржа на участника', lift: 'Прирост, %', ciLow: '90% интервал от, %', ciHigh: '90% интервал до, %', significant: 'Значимо',
    incRevenue: 'Дополнительная выручка', incMargin: 'Дополнительная маржа', roi: 'ROI, %', campaign: 'Кампания', step: 'Шаг', treatment: 'основная', holdout: 'контрольная', yes: 'да', no: 'пока нет',
  },
  de: {
    scope: 'Umfang', group: 'Gruppe', members: 'Mitglieder', reached: 'Erreicht', converted: 'Gekauft', conversion: 'Konversion, %', purchases: 'Käufe pro Mitglied',
    revenue: 'Umsatz pro Mitglied', margin: 'Marge pro Mitglied', lift: 'Steigerung, %', ciLow: '90%-Intervall von, %', ciHigh: '90%-Intervall bis, %', significant: 'Signifikant',
    incRevenue: 'Zusätzlicher Umsatz', incMargin: 'Zusätzliche Marge', roi: 'ROI, %', campaign: 'Kampagne', step: 'Schritt', treatment: 'Testgruppe', holdout: 'Kontrollgruppe', yes: 'ja', no: 'noch nicht',
  },
  pl: {
    scope: 'Zakres', group: 'Grupa', members: 'Członkowie', reached: 'Dotarto', converted: 'Kupili', conversion: 'Konwersja, %', purchases: 'Zakupy na członka',
    revenue: 'Przychód na członka', margin: 'Marża na członka', lift: 'Wzrost, %', ciLow: 'Przedział 90% od, %', ciHigh: 'Przedział 90% do, %', significant: 'Istotne',
    incRevenue: 'Dodatkowy przychód', incMargin: 'Dodatkowa marża', roi: 'ROI, %', campaign: 'Kampania', step: 'Krok', treatment: 'testowa', holdout: 'kontrolna', yes: 'tak', no: 'jeszcze nie',
  },
  ua: {
    scope: 'Частина', group: 'Група', members: 'Учасників', reached: 'Охоплено', converted: 'Купили', conversion: 'Конверсія, %', purchases: 'Покупок на учасника',
    revenue: 'Виручка на учасника', margin: 'Маржа на учасника', lift: 'Приріст, %', ciLow: '90% інтервал від, %', ciHigh: '90% інтервал до, %', significant: 'Значущо',
    incRevenue: 'Додаткова виручка', incMargin: 'Додаткова маржа', roi: 'ROI, %', campaign: 'Кампанія', step: 'Крок', treatment: 'основна', holdout: 'контрольна', yes: 'так', no: 'поки ні',
  },
};

const COLUMNS = ['scope', 'group', 'members', 'reached', 'converted', 'conversion', 'purchases', 'revenue', 'margin', 'lift', 'ciLow', 'ciHigh', 'significant', 'incRevenue', 'incMargin', 'roi'] as const;

const pct = (v: number | null, f: CsvFormat) => (v === null ? '' : num(v * 100, f, 1));

function lines(scope: string, c: Comparison, roi: number | null, h: Record<Key, string>, f: CsvFormat): unknown[][] {
  return (['treatment', 'holdout'] as const).map((g) => {
    const x = c.groups[g];
    return [
      scope, h[g], x.members, x.reached, x.converted, pct(x.conversionRate, f), num(x.purchasesPerMember, f, 3), num(x.revenuePerMember, f, 2), num(x.marginPerMember, f, 2),
      pct(c.lift, f), pct(c.ciLow, f), pct(c.ciHigh, f), c.lift === null ? '' : c.significant ? h.yes : h.no,
      num(c.incrementalRevenue, f, 2), num(c.incrementalMargin, f, 2), pct(roi, f),
    ];
  });
}

export function campaignCsv(m: CampaignMeasure, lang: UiLang): string {
  const f = csvFormat(lang);
  const h = HEADERS[lang];
  const rows: unknown[][] = [COLUMNS.map((k) => h[k]), ...lines(`${h.campaign} ${m.campaign.code}`, m, m.roi, h, f)];
  for (const s of m.steps) rows.push(...lines(`${h.step} ${s.step + 1} (${s.kind})`, s, null, h, f));
  return `\uFEFF${rows.map((r) => r.map((v) => csvCell(v, f.sep)).join(f.sep)).join('\r\n')}\r\n`;
}
