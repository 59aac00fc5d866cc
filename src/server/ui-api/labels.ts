/**
 * Names and descriptions of segments and lifecycle stages in the five UI languages.
 * English and Russian come from the scoring module (src/scoring/i18n.ts); Polish, German and
 * Ukrainian are kept here. `ua` is Bitrix24's code for Ukrainian.
 */
import { LIFECYCLE_TEXT, SEGMENT_TEXT, type LabelText, type LifecycleCode, type SegmentCode } from '../../scoring/index.js';

export const UI_LANGS = ['en', 'ru', 'pl', 'de', 'ua'] as const;
export type UiLang = (typeof UI_LANGS)[number];

/** Bitrix24 LANG → UI language ('uk' accepted as an alias of 'ua'; 'by'/'kz' fall back to ru). */
export function uiLang(lang: string | null | undefined): UiLang {
  const l = (lang ?? '').toLowerCase().slice(0, 2);
  if (l === 'uk') return 'ua';
  if (l === 'by' || l === 'kz') return 'ru';
  return (UI_LANGS as readonly string[]).includes(l) ? (l as UiLang) : 'en';
}

type Extra = Record<'pl' | 'de' | 'ua', LabelText>;

const SEGMENT_EXTRA: Record<SegmentCode, Extra> = {
  champions: {
    pl: { name: 'Mistrzowie', description: 'Kupili niedawno, kupują często i wydają najwięcej.' },
    de: { name: 'Champions', description: 'Haben kürzlich gekauft, kaufen oft und geben am meisten aus.' },
    ua: { name: 'Чемпіони', description: 'Купували нещодавно, купують часто й витрачають найбільше.' },
  },
  loyal: {
    pl: { name: 'Lojalni', description: 'Kupują regularnie i dość niedawno; podstawa powtórnej sprzedaży.' },
    de: { name: 'Treue Kunden', description: 'Kaufen regelmäßig und recht kürzlich; das Rückgrat der Wiederkäufe.' },
    ua: { name: 'Лояльні', description: 'Купують регулярно й порівняно нещодавно; основа повторних продажів.' },
  },
  potential_loyalist: {
    pl: { name: 'Potencjalnie lojalni', description: 'Niedawni klienci z drugim zakupem; mogą stać się lojalni.' },
    de: { name: 'Potenziell treu', description: 'Neue Kunden mit einem zweiten Kauf; könnten treu werden.' },
    ua: { name: 'Потенційно лояльні', description: 'Нещодавні клієнти з другою покупкою; можуть стати лояльними.' },
  },
  new: {
    pl: { name: 'Nowi', description: 'Pierwszy i jedyny zakup bardzo niedawno.' },
    de: { name: 'Neu', description: 'Erster und einziger Kauf vor sehr kurzer Zeit.' },
    ua: { name: 'Нові', description: 'Перша й поки єдина покупка зовсім нещодавно.' },
  },
  promising: {
    pl: { name: 'Obiecujący', description: 'Kupili raz, dość niedawno; warto zachęcić do drugiego zakupu.' },
    de: { name: 'Vielversprechend', description: 'Einmal gekauft, recht kürzlich; einen zweiten Kauf anstoßen.' },
    ua: { name: 'Перспективні', description: 'Купили один раз, досить нещодавно; варто підштовхнути до другої покупки.' },
  },
  need_attention: {
    pl: { name: 'Wymagają uwagi', description: 'Kupili kilka razy, ale dawno; stygną.' },
    de: { name: 'Brauchen Aufmerksamkeit', description: 'Mehrmals gekauft, aber nicht kürzlich; kühlen ab.' },
    ua: { name: 'Потребують уваги', description: 'Купували кілька разів, але давненько; охолоджуються.' },
  },
  about_to_sleep: {
    pl: { name: 'Zasypiający', description: 'Jeden zakup jakiś czas temu; bez kontaktu zostaną utraceni.' },
    de: { name: 'Schlafen bald ein', description: 'Ein Kauf vor einiger Zeit; ohne Kontakt gehen sie verloren.' },
    ua: { name: 'Засинають', description: 'Одна покупка деякий час тому; без контакту будуть втрачені.' },
  },
  at_risk: {
    pl: { name: 'Zagrożeni', description: 'Kiedyś kupowali często, ale od dawna nie kupują.' },
    de: { name: 'Gefährdet', description: 'Kauften früher oft, aber seit langem nicht mehr.' },
    ua: { name: 'У зоні ризику', description: 'Раніше купували часто, але давно не купують.' },
  },
  cant_lose: {
    pl: { name: 'Nie można stracić', description: 'Byli wśród najlepszych (często i dużo), ale ucichli.' },
    de: { name: 'Nicht verlieren', description: 'Gehörten zu den Besten (oft, viel), sind aber still geworden.' },
    ua: { name: 'Не можна втратити', description: 'Були серед найкращих (часто й багато), але давно затихли.' },
  },
  hibernating: {
    // not the words of the sleeping flag (uśpiony, schlafend, сплячий): another thing
    pl: { name: 'Dawno bez zakupów', description: 'Mało zakupów i dawno; niskie zaangażowanie.' },
    de: { name: 'Lange ohne Kauf', description: 'Wenige Käufe, lange her; geringe Bindung.' },
    ua: { name: 'Давно без покупок', description: 'Мало покупок, і ті давно; низька залученість.' },
  },
  lost: {
    pl: { name: 'Utraceni', description: 'Najdawniejsza i najrzadsza aktywność; najpewniej odeszli.' },
    de: { name: 'Verloren', description: 'Älteste und seltenste Aktivität; höchstwahrscheinlich weg.' },
    ua: { name: 'Втрачені', description: 'Найдавніша й найрідша активність; найімовірніше пішли.' },
  },
  no_purchases: {
    pl: { name: 'Bez zakupów', description: 'Brak wygranej transakcji, nie ma czego oceniać.' },
    de: { name: 'Keine Käufe', description: 'Noch kein gewonnener Deal, nichts zu bewerten.' },
    ua: { name: 'Без покупок', description: 'Ще немає жодної виграної угоди, оцінювати нічого.' },
  },
};

const LIFECYCLE_EXTRA: Record<LifecycleCode, Extra> = {
  in_negotiation: {
    pl: { name: 'W negocjacjach', description: 'Ma otwarte transakcje, brak wygranych.' },
    de: { name: 'In Verhandlung', description: 'Hat offene Deals und noch keinen gewonnenen.' },
    ua: { name: 'У переговорах', description: 'Є відкриті угоди, виграних поки немає.' },
  },
  uninterested: {
    pl: { name: 'Niezainteresowany', description: 'Brak transakcji lub tylko zamknięte z powodu braku odpowiedzi.' },
    de: { name: 'Nicht interessiert', description: 'Keine Deals oder nur wegen fehlender Antwort geschlossene.' },
    ua: { name: 'Не зацікавлений', description: 'Немає угод або лише закриті через відсутність відповіді.' },
  },
  refused: {
    pl: { name: 'Odmówił', description: 'Tylko przegrane transakcje, co najmniej jedna z prawdziwą odmową.' },
    de: { name: 'Abgelehnt', description: 'Nur verlorene Deals, mindestens einer mit echter Absage.' },
    ua: { name: 'Відмовився', description: 'Лише програні угоди, хоча б одна зі справжньою причиною відмови.' },
  },
  one_time: {
    pl: { name: 'Jednorazowy', description: 'Dokładnie jeden dzień zakupu.' },
    de: { name: 'Einmalkäufer', description: 'Genau ein Kauftag.' },
    ua: { name: 'Разовий покупець', description: 'Рівно один день покупки.' },
  },
  returning: {
    pl: { name: 'Powracający', description: 'Wrócił: dwa lub więcej dni zakupów, (jeszcze) nie stały.' },
    de: { name: 'Wiederkehrend', description: 'Kam zurück: zwei oder mehr Kauftage, (noch) nicht regelmäßig.' },
    ua: { name: 'Повернувся', description: 'Повернувся: два й більше днів покупок, але (поки) не постійний.' },
  },
  regular: {
    pl: { name: 'Stały', description: 'Trzy lub więcej dni zakupów w ostatnich 12 miesiącach.' },
    de: { name: 'Stammkunde', description: 'Drei oder mehr Kauftage in den letzten 12 Monaten.' },
    ua: { name: 'Постійний', description: 'Три й більше днів покупок за останні 12 місяців.' },
  },
};

export function segmentLabel(code: string, lang: UiLang): LabelText {
  const c = code as SegmentCode;
  if (!SEGMENT_TEXT[c]) return { name: code, description: '' };
  return lang === 'en' || lang === 'ru' ? SEGMENT_TEXT[c][lang] : SEGMENT_EXTRA[c][lang];
}

export function lifecycleLabel(code: string, lang: UiLang): LabelText {
  const c = code as LifecycleCode;
  if (!LIFECYCLE_TEXT[c]) return { name: code, description: '' };
  return lang === 'en' || lang === 'ru' ? LIFECYCLE_TEXT[c][lang] : LIFECYCLE_EXTRA[c][lang];
}
