/**
 * Names and one-line descriptions of every label (the plain-language reason a customer is in a
 * segment or a lifecycle stage) in the five languages of our users: English, Russian, German,
 * Polish and Ukrainian ('ua', Bitrix24's code for Ukrainian). The one place of these words: the
 * CRM enumeration items of our fields (src/writeback/fields.ts, in the portal's language), the UI
 * API (src/server/ui-api/labels.ts) and the contact card read them from here.
 */
import type { LifecycleCode, SegmentCode } from './codes.js';

export const LOCALES = ['en', 'ru', 'de', 'pl', 'ua'] as const;
export type Locale = (typeof LOCALES)[number];

/**
 * A Bitrix24 language (portal or user LANG) → ours: 'ua' and its ISO alias 'uk' → Ukrainian,
 * 'by' and 'kz' (Belarusian and Kazakh portals, whose Bitrix24 interface is Russian) → Russian,
 * de, pl, ru as they are, anything else English.
 */
export function localeOf(language: string | null | undefined): Locale {
  const l = (language ?? '').toLowerCase().slice(0, 2);
  if (l === 'uk') return 'ua';
  if (l === 'by' || l === 'kz') return 'ru';
  return (LOCALES as readonly string[]).includes(l) ? (l as Locale) : 'en';
}
export interface LabelText {
  name: string;
  description: string;
}

export const SEGMENT_TEXT: Record<SegmentCode, Record<Locale, LabelText>> = {
  champions: {
    en: { name: 'Champions', description: 'Bought recently, buy often and spend the most.' },
    ru: { name: 'Чемпионы', description: 'Покупали недавно, покупают часто и тратят больше всех.' },
    de: { name: 'Champions', description: 'Haben kürzlich gekauft, kaufen oft und geben am meisten aus.' },
    pl: { name: 'Mistrzowie', description: 'Kupili niedawno, kupują często i wydają najwięcej.' },
    ua: { name: 'Чемпіони', description: 'Купували нещодавно, купують часто й витрачають найбільше.' },
  },
  loyal: {
    en: { name: 'Loyal', description: 'Buy regularly and fairly recently; the backbone of repeat sales.' },
    ru: { name: 'Лояльные', description: 'Покупают регулярно и сравнительно недавно; основа повторных продаж.' },
    de: { name: 'Treue Kunden', description: 'Kaufen regelmäßig und recht kürzlich; das Rückgrat der Wiederkäufe.' },
    pl: { name: 'Lojalni', description: 'Kupują regularnie i dość niedawno; podstawa powtórnej sprzedaży.' },
    ua: { name: 'Лояльні', description: 'Купують регулярно й порівняно нещодавно; основа повторних продажів.' },
  },
  potential_loyalist: {
    en: { name: 'Potential loyalist', description: 'Recent customers with a second purchase; could become loyal.' },
    ru: { name: 'Потенциально лояльные', description: 'Недавние клиенты со второй покупкой; могут стать лояльными.' },
    de: { name: 'Potenziell treu', description: 'Neue Kunden mit einem zweiten Kauf; könnten treu werden.' },
    pl: { name: 'Potencjalnie lojalni', description: 'Niedawni klienci z drugim zakupem; mogą stać się lojalni.' },
    ua: { name: 'Потенційно лояльні', description: 'Нещодавні клієнти з другою покупкою; можуть стати лояльними.' },
  },
  new: {
    en: { name: 'New', description: 'Made their first and only purchase very recently.' },
    ru: { name: 'Новые', description: 'Сделали первую и пока единственную покупку совсем недавно.' },
    de: { name: 'Neu', description: 'Erster und einziger Kauf vor sehr kurzer Zeit.' },
    pl: { name: 'Nowi', description: 'Pierwszy i jedyny zakup bardzo niedawno.' },
    ua: { name: 'Нові', description: 'Перша й поки єдина покупка зовсім нещодавно.' },
  },
  promising: {
    en: { name: 'Promising', description: 'Bought once, fairly recently; worth a nudge toward a second purchase.' },
    ru: { name: 'Перспективные', description: 'Купили один раз, довольно недавно; стоит подтолкнуть ко второй покупке.' },
    de: { name: 'Vielversprechend', description: 'Einmal gekauft, recht kürzlich; einen zweiten Kauf anstoßen.' },
    pl: { name: 'Obiecujący', description: 'Kupili raz, dość niedawno; warto zachęcić do drugiego zakupu.' },
    ua: { name: 'Перспективні', description: 'Купили один раз, досить нещодавно; варто підштовхнути до другої покупки.' },
  },
  need_attention: {
    en: { name: 'Need attention', description: 'Bought a few times, but not recently enough; are cooling down.' },
    ru: { name: 'Требуют внимания', description: 'Покупали несколько раз, но уже давненько; остывают.' },
    de: { name: 'Brauchen Aufmerksamkeit', description: 'Mehrmals gekauft, aber nicht kürzlich; kühlen ab.' },
    pl: { name: 'Wymagają uwagi', description: 'Kupili kilka razy, ale dawno; stygną.' },
    ua: { name: 'Потребують уваги', description: 'Купували кілька разів, але давненько; охолоджуються.' },
  },
  about_to_sleep: {
    en: { name: 'About to sleep', description: 'One purchase, some time ago; will be lost without contact.' },
    ru: { name: 'Засыпающие', description: 'Одна покупка некоторое время назад; без контакта будут потеряны.' },
    de: { name: 'Schlafen bald ein', description: 'Ein Kauf vor einiger Zeit; ohne Kontakt gehen sie verloren.' },
    pl: { name: 'Zasypiający', description: 'Jeden zakup jakiś czas temu; bez kontaktu zostaną utraceni.' },
    ua: { name: 'Засинають', description: 'Одна покупка деякий час тому; без контакту будуть втрачені.' },
  },
  at_risk: {
    en: { name: 'At risk', description: 'Used to buy often, but have not bought for a long time.' },
    ru: { name: 'В зоне риска', description: 'Раньше покупали часто, но давно не покупали.' },
    de: { name: 'Gefährdet', description: 'Kauften früher oft, aber seit langem nicht mehr.' },
    pl: { name: 'Zagrożeni', description: 'Kiedyś kupowali często, ale od dawna nie kupują.' },
    ua: { name: 'У зоні ризику', description: 'Раніше купували часто, але давно не купують.' },
  },
  cant_lose: {
    en: { name: "Can't lose them", description: 'Were among the best (frequent, big spenders) but have gone quiet.' },
    ru: { name: 'Нельзя потерять', description: 'Были среди лучших (часто и много), но давно затихли.' },
    de: { name: 'Nicht verlieren', description: 'Gehörten zu den Besten (oft, viel), sind aber still geworden.' },
    pl: { name: 'Nie można stracić', description: 'Byli wśród najlepszych (często i dużo), ale ucichli.' },
    ua: { name: 'Не можна втратити', description: 'Були серед найкращих (часто й багато), але давно затихли.' },
  },
  hibernating: {
    en: { name: 'Hibernating', description: 'Few purchases, long ago; low engagement.' },
    // not "Спящие": the sleeping flag is "спящий" (overdue against the customer's own rhythm), another thing
    ru: { name: 'Давно без покупок', description: 'Мало покупок, и те давно; низкая вовлечённость.' },
    // not the words of the sleeping flag (uśpiony, schlafend, сплячий): another thing
    de: { name: 'Lange ohne Kauf', description: 'Wenige Käufe, lange her; geringe Bindung.' },
    pl: { name: 'Dawno bez zakupów', description: 'Mało zakupów i dawno; niskie zaangażowanie.' },
    ua: { name: 'Давно без покупок', description: 'Мало покупок, і ті давно; низька залученість.' },
  },
  lost: {
    en: { name: 'Lost', description: 'Lowest recency and frequency; most likely gone.' },
    ru: { name: 'Потерянные', description: 'Самая давняя и редкая активность; скорее всего ушли.' },
    de: { name: 'Verloren', description: 'Älteste und seltenste Aktivität; höchstwahrscheinlich weg.' },
    pl: { name: 'Utraceni', description: 'Najdawniejsza i najrzadsza aktywność; najpewniej odeszli.' },
    ua: { name: 'Втрачені', description: 'Найдавніша й найрідша активність; найімовірніше пішли.' },
  },
  no_purchases: {
    en: { name: 'No purchases', description: 'No won deal yet, so there is nothing to score.' },
    ru: { name: 'Без покупок', description: 'Ещё нет ни одной выигранной сделки, оценивать нечего.' },
    de: { name: 'Keine Käufe', description: 'Noch kein gewonnener Deal, nichts zu bewerten.' },
    pl: { name: 'Bez zakupów', description: 'Brak wygranej transakcji, nie ma czego oceniać.' },
    ua: { name: 'Без покупок', description: 'Ще немає жодної виграної угоди, оцінювати нічого.' },
  },
};

export const LIFECYCLE_TEXT: Record<LifecycleCode, Record<Locale, LabelText>> = {
  in_negotiation: {
    en: { name: 'In negotiation', description: 'Has open deals and no won deal yet.' },
    ru: { name: 'В переговорах', description: 'Есть открытые сделки, выигранных пока нет.' },
    de: { name: 'In Verhandlung', description: 'Hat offene Deals und noch keinen gewonnenen.' },
    pl: { name: 'W negocjacjach', description: 'Ma otwarte transakcje, brak wygranych.' },
    ua: { name: 'У переговорах', description: 'Є відкриті угоди, виграних поки немає.' },
  },
  uninterested: {
    en: { name: 'Uninterested', description: 'No deals, or only deals closed because the customer never answered.' },
    ru: { name: 'Не заинтересован', description: 'Нет сделок или только сделки, закрытые из-за отсутствия ответа.' },
    de: { name: 'Nicht interessiert', description: 'Keine Deals oder nur wegen fehlender Antwort geschlossene.' },
    pl: { name: 'Niezainteresowany', description: 'Brak transakcji lub tylko zamknięte z powodu braku odpowiedzi.' },
    ua: { name: 'Не зацікавлений', description: 'Немає угод або лише закриті через відсутність відповіді.' },
  },
  refused: {
    en: { name: 'Refused', description: 'Only lost deals, at least one with a real refusal reason (kept).' },
    ru: { name: 'Отказался', description: 'Только проигранные сделки, хотя бы одна с настоящей причиной отказа (сохраняется).' },
    de: { name: 'Abgelehnt', description: 'Nur verlorene Deals, mindestens einer mit echter Absage.' },
    pl: { name: 'Odmówił', description: 'Tylko przegrane transakcje, co najmniej jedna z prawdziwą odmową.' },
    ua: { name: 'Відмовився', description: 'Лише програні угоди, хоча б одна зі справжньою причиною відмови.' },
  },
  one_time: {
    en: { name: 'One-time buyer', description: 'Exactly one purchase day.' },
    ru: { name: 'Разовый покупатель', description: 'Ровно один день покупки.' },
    de: { name: 'Einmalkäufer', description: 'Genau ein Kauftag.' },
    pl: { name: 'Jednorazowy', description: 'Dokładnie jeden dzień zakupu.' },
    ua: { name: 'Разовий покупець', description: 'Рівно один день покупки.' },
  },
  returning: {
    en: { name: 'Returning', description: 'Came back: two or more purchase days, not (yet) regular.' },
    ru: { name: 'Вернувшийся', description: 'Вернулся: два и более дня покупок, но (пока) не постоянный.' },
    de: { name: 'Wiederkehrend', description: 'Kam zurück: zwei oder mehr Kauftage, (noch) nicht regelmäßig.' },
    pl: { name: 'Powracający', description: 'Wrócił: dwa lub więcej dni zakupów, (jeszcze) nie stały.' },
    ua: { name: 'Повернувся', description: 'Повернувся: два й більше днів покупок, але (поки) не постійний.' },
  },
  regular: {
    en: { name: 'Regular', description: 'Three or more purchase days within the last 12 months (configurable).' },
    ru: { name: 'Постоянный', description: 'Три и более дня покупок за последние 12 месяцев (настраивается).' },
    de: { name: 'Stammkunde', description: 'Drei oder mehr Kauftage in den letzten 12 Monaten.' },
    pl: { name: 'Stały', description: 'Trzy lub więcej dni zakupów w ostatnich 12 miesiącach.' },
    ua: { name: 'Постійний', description: 'Три й більше днів покупок за останні 12 місяців.' },
  },
};

export function segmentText(code: SegmentCode, locale: Locale = 'en'): LabelText {
  return SEGMENT_TEXT[code][locale];
}

export function lifecycleText(code: LifecycleCode, locale: Locale = 'en'): LabelText {
  return LIFECYCLE_TEXT[code][locale];
}
