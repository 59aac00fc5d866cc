/** English and Russian names and one-line descriptions of every label. */
import type { LifecycleCode, SegmentCode } from './codes.js';

export type Locale = 'en' | 'ru';
export interface LabelText {
  name: string;
  description: string;
}

export const SEGMENT_TEXT: Record<SegmentCode, Record<Locale, LabelText>> = {
  champions: {
    en: { name: 'Champions', description: 'Bought recently, buy often and spend the most.' },
    ru: { name: 'Чемпионы', description: 'Покупали недавно, покупают часто и тратят больше всех.' },
  },
  loyal: {
    en: { name: 'Loyal', description: 'Buy regularly and fairly recently; the backbone of repeat sales.' },
    ru: { name: 'Лояльные', description: 'Покупают регулярно и сравнительно недавно; основа повторных продаж.' },
  },
  potential_loyalist: {
    en: { name: 'Potential loyalist', description: 'Recent customers with a second purchase; could become loyal.' },
    ru: { name: 'Потенциально лояльные', description: 'Недавние клиенты со второй покупкой; могут стать лояльными.' },
  },
  new: {
    en: { name: 'New', description: 'Made their first and only purchase very recently.' },
    ru: { name: 'Новые', description: 'Сделали первую и пока единственную покупку совсем недавно.' },
  },
  promising: {
    en: { name: 'Promising', description: 'Bought once, fairly recently; worth a nudge toward a second purchase.' },
    ru: { name: 'Перспективные', description: 'Купили один раз, довольно недавно; стоит подтолкнуть ко второй покупке.' },
  },
  need_attention: {
    en: { name: 'Need attention', description: 'Bought a few times, but not recently enough; are cooling down.' },
    ru: { name: 'Требуют внимания', description: 'Покупали несколько раз, но уже давненько; остывают.' },
  },
  about_to_sleep: {
    en: { name: 'About to sleep', description: 'One purchase, some time ago; will be lost without contact.' },
    ru: { name: 'Засыпающие', description: 'Одна покупка некоторое время назад; без контакта будут потеряны.' },
  },
  at_risk: {
    en: { name: 'At risk', description: 'Used to buy often, but have not bought for a long time.' },
    ru: { name: 'В зоне риска', description: 'Раньше покупали часто, но давно не покупали.' },
  },
  cant_lose: {
    en: { name: "Can't lose them", description: 'Were among the best (frequent, big spenders) but have gone quiet.' },
    ru: { name: 'Нельзя потерять', description: 'Были среди лучших (часто и много), но давно затихли.' },
  },
  hibernating: {
    en: { name: 'Hibernating', description: 'Few purchases, long ago; low engagement.' },
    // not "Спящие": the sleeping flag is "спящий" (overdue against the customer's own rhythm), another thing
    ru: { name: 'Давно без покупок', description: 'Мало покупок, и те давно; низкая вовлечённость.' },
  },
  lost: {
    en: { name: 'Lost', description: 'Lowest recency and frequency; most likely gone.' },
    ru: { name: 'Потерянные', description: 'Самая давняя и редкая активность; скорее всего ушли.' },
  },
  no_purchases: {
    en: { name: 'No purchases', description: 'No won deal yet, so there is nothing to score.' },
    ru: { name: 'Без покупок', description: 'Ещё нет ни одной выигранной сделки, оценивать нечего.' },
  },
};

export const LIFECYCLE_TEXT: Record<LifecycleCode, Record<Locale, LabelText>> = {
  in_negotiation: {
    en: { name: 'In negotiation', description: 'Has open deals and no won deal yet.' },
    ru: { name: 'В переговорах', description: 'Есть открытые сделки, выигранных пока нет.' },
  },
  uninterested: {
    en: { name: 'Uninterested', description: 'No deals, or only deals closed because the customer never answered.' },
    ru: { name: 'Не заинтересован', description: 'Нет сделок или только сделки, закрытые из-за отсутствия ответа.' },
  },
  refused: {
    en: { name: 'Refused', description: 'Only lost deals, at least one with a real refusal reason (kept).' },
    ru: { name: 'Отказался', description: 'Только проигранные сделки, хотя бы одна с настоящей причиной отказа (сохраняется).' },
  },
  one_time: {
    en: { name: 'One-time buyer', description: 'Exactly one purchase day.' },
    ru: { name: 'Разовый покупатель', description: 'Ровно один день покупки.' },
  },
  returning: {
    en: { name: 'Returning', description: 'Came back: two or more purchase days, not (yet) regular.' },
    ru: { name: 'Вернувшийся', description: 'Вернулся: два и более дня покупок, но (пока) не постоянный.' },
  },
  regular: {
    en: { name: 'Regular', description: 'Three or more purchase days within the last 12 months (configurable).' },
    ru: { name: 'Постоянный', description: 'Три и более дня покупок за последние 12 месяцев (настраивается).' },
  },
};

export function segmentText(code: SegmentCode, locale: Locale = 'en'): LabelText {
  return SEGMENT_TEXT[code][locale];
}

export function lifecycleText(code: LifecycleCode, locale: Locale = 'en'): LabelText {
  return LIFECYCLE_TEXT[code][locale];
}
