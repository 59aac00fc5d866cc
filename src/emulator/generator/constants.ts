/** Constants shared by the generator steps. */

export const CATALOG_ID = 25;
export const LOSS_REASON_FIELD = 'UF_CRM_LOSS_REASON';
/** The enumeration deal field of a portal generated with refusals: 'enum'. */
export const LOSS_ENUM_FIELD = 'UF_CRM_LOST_WHY';

export const DAY = 86_400_000;
export const YEAR = 365.25 * DAY;
/** Deals due in this last stretch of the history may still be open. */
export const OPEN_WINDOW = 45 * DAY;
export const MAX_EVENTS_PER_CONTACT = 400;

/** USD value of one unit, for currencies the generator knows. */
export const USD_VALUE: Record<string, [number, string]> = {
  USD: [1, 'US Dollar'],
  EUR: [1.08, 'Euro'],
  RUB: [0.011, 'Russian Ruble'],
  GBP: [1.27, 'Pound Sterling'],
};

/** Kinds of a simulated deal event. */
export const EV_WON = 0;
export const EV_LOST = 1;
export const EV_OPEN = 2;

export const round2 = (x: number): number => Math.round(x * 100) / 100;
