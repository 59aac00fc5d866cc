/** CRM reference lists of the generated portal: deal funnels and their stages, sources, types, honorifics. */

export interface StageDef { id: string; name: string; sem: 'S' | 'F' | null; color: string; system: boolean }

/** Stages of the general funnel (category 0). */
export const FUNNEL0: StageDef[] = [
  { id: 'NEW', name: 'New', sem: null, color: '#39A8EF', system: true },
  { id: 'PREPARATION', name: 'Preparing documents', sem: null, color: '#2FC6F6', system: false },
  { id: 'PREPAYMENT_INVOICE', name: 'Invoice', sem: null, color: '#55D0E0', system: false },
  { id: 'EXECUTING', name: 'In progress', sem: null, color: '#47E4C2', system: false },
  { id: 'FINAL_INVOICE', name: 'Final invoice', sem: null, color: '#FFA900', system: false },
  { id: 'WON', name: 'Deal won', sem: 'S', color: '#7BD500', system: true },
  { id: 'LOSE', name: 'Deal lost', sem: 'F', color: '#FF5752', system: true },
  { id: 'APOLOGY', name: 'Analyze failure', sem: 'F', color: '#FF5752', system: false },
];
/** Stages of the wholesale funnel (category 1). */
export const FUNNEL1: StageDef[] = [
  { id: 'C1:NEW', name: 'Request', sem: null, color: '#39A8EF', system: true },
  { id: 'C1:PREPARATION', name: 'Price offer', sem: null, color: '#2FC6F6', system: false },
  { id: 'C1:EXECUTING', name: 'Shipment', sem: null, color: '#47E4C2', system: false },
  { id: 'C1:FINAL_INVOICE', name: 'Payment', sem: null, color: '#FFA900', system: false },
  { id: 'C1:WON', name: 'Deal won', sem: 'S', color: '#7BD500', system: true },
  { id: 'C1:LOSE', name: 'Deal lost', sem: 'F', color: '#FF5752', system: true },
];
/** Open stages of each funnel with their probabilities, %. */
export const OPEN0 = ['NEW', 'PREPARATION', 'PREPAYMENT_INVOICE', 'EXECUTING', 'FINAL_INVOICE'];
export const OPEN0_PROB = [10, 30, 50, 70, 90];
export const OPEN1 = ['C1:NEW', 'C1:PREPARATION', 'C1:EXECUTING', 'C1:FINAL_INVOICE'];
export const OPEN1_PROB = [10, 40, 70, 90];

/** Sources: [STATUS_ID, name, weight among new contacts and companies]. */
export const SOURCES: Array<[string, string, number]> = [
  ['CALL', 'Call', 14], ['EMAIL', 'E-Mail', 8], ['WEB', 'Website', 30], ['ADVERTISING', 'Advertising', 14],
  ['PARTNER', 'Existing client', 6], ['RECOMMENDATION', 'By recommendation', 12], ['TRADE_SHOW', 'Show/Exhibition', 3],
  ['WEBFORM', 'CRM form', 8], ['CALLBACK', 'Callback', 3], ['STORE', 'Online store', 10], ['REPEAT_SALE', 'Repeat sales', 0],
  ['OTHER', 'Other', 2],
];
/**
 * The sources' names as a portal of each language creates them (Bitrix24 writes the default
 * statuses in the portal's language at setup; crm.status.list answers with the stored names).
 * English: SOURCES above.
 */
export const SOURCE_NAMES: Record<string, Record<string, string>> = {
  ru: { CALL: 'Звонок', EMAIL: 'Электронная почта', WEB: 'Веб-сайт', ADVERTISING: 'Реклама', PARTNER: 'Существующий клиент',
    RECOMMENDATION: 'По рекомендации', TRADE_SHOW: 'Выставка', WEBFORM: 'CRM-форма', CALLBACK: 'Обратный звонок',
    STORE: 'Интернет-магазин', REPEAT_SALE: 'Повторные продажи', OTHER: 'Другое' },
  ua: { CALL: 'Дзвінок', EMAIL: 'Електронна пошта', WEB: 'Веб-сайт', ADVERTISING: 'Реклама', PARTNER: 'Існуючий клієнт',
    RECOMMENDATION: 'За рекомендацією', TRADE_SHOW: 'Виставка', WEBFORM: 'CRM-форма', CALLBACK: 'Зворотний дзвінок',
    STORE: 'Інтернет-магазин', REPEAT_SALE: 'Повторні продажі', OTHER: 'Інше' },
  de: { CALL: 'Anruf', EMAIL: 'E-Mail', WEB: 'Website', ADVERTISING: 'Werbung', PARTNER: 'Bestandskunde',
    RECOMMENDATION: 'Empfehlung', TRADE_SHOW: 'Messe/Ausstellung', WEBFORM: 'CRM-Formular', CALLBACK: 'Rückruf',
    STORE: 'Onlineshop', REPEAT_SALE: 'Wiederholungsverkauf', OTHER: 'Sonstiges' },
  pl: { CALL: 'Połączenie', EMAIL: 'E-mail', WEB: 'Strona internetowa', ADVERTISING: 'Reklama', PARTNER: 'Obecny klient',
    RECOMMENDATION: 'Z polecenia', TRADE_SHOW: 'Targi/Wystawa', WEBFORM: 'Formularz CRM', CALLBACK: 'Oddzwonienie',
    STORE: 'Sklep internetowy', REPEAT_SALE: 'Sprzedaż powtórna', OTHER: 'Inne' },
};

/** Lead statuses (ENTITY_ID STATUS): [STATUS_ID, name, semantics]. */
export const LEAD_STATUSES: Array<[string, string, 'S' | 'F' | null]> = [
  ['NEW', 'Unassigned', null], ['IN_PROCESS', 'In progress', null], ['PROCESSED', 'Processed', null],
  ['CONVERTED', 'Good lead', 'S'], ['JUNK', 'Junk lead', 'F'],
];

/**
 * The custom lost stages of a portal that records the loss reason as the stage (generator option
 * refusals: 'stages'), and which stage each of pools.ts LOSS_REASONS lands in per funnel (the
 * others go to the system LOSE / C1:LOSE stage).
 */
export const LOST_STAGES0: StageDef[] = [
  { id: 'UC_PRICE', name: 'Lost: price', sem: 'F', color: '#FF5752', system: false },
  { id: 'UC_COMPETITOR', name: 'Lost: competitor', sem: 'F', color: '#FF5752', system: false },
  { id: 'UC_NORESPONSE', name: 'Lost: no response', sem: 'F', color: '#FF5752', system: false },
  { id: 'UC_STOCK', name: 'Lost: out of stock', sem: 'F', color: '#FF5752', system: false },
];
export const LOST_STAGES1: StageDef[] = [
  { id: 'C1:UC_PRICE', name: 'Lost: price', sem: 'F', color: '#FF5752', system: false },
  { id: 'C1:UC_COMPETITOR', name: 'Lost: competitor', sem: 'F', color: '#FF5752', system: false },
];
export const LOST_STAGE_OF: Record<string, [string, string]> = {
  'Too expensive': ['UC_PRICE', 'C1:UC_PRICE'],
  'Chose a competitor': ['UC_COMPETITOR', 'C1:UC_COMPETITOR'],
  'No response from the customer': ['UC_NORESPONSE', 'C1:LOSE'],
  'Out of stock': ['UC_STOCK', 'C1:LOSE'],
};

export const CONTACT_TYPES: Array<[string, string]> = [['CLIENT', 'Clients'], ['SUPPLIER', 'Suppliers'], ['PARTNER', 'Partners'], ['OTHER', 'Other']];
export const DEAL_TYPES: Array<[string, string]> = [['SALE', 'Sales'], ['COMPLEX', 'Integrated sale'], ['GOODS', 'Merchandise sales'],
  ['SERVICES', 'Service sales'], ['SERVICE', 'After-sales service']];
/** Company reference lists (crm.status.list ENTITY_ID INDUSTRY / EMPLOYEES / COMPANY_TYPE, the portal's defaults). */
export const INDUSTRY_NAMES: Array<[string, string]> = [['IT', 'Information Technology'], ['TELECOM', 'Telecommunication'],
  ['MANUFACTURING', 'Manufacturing'], ['BANKING', 'Banking Services'], ['CONSULTING', 'Consulting'], ['FINANCE', 'Finance'],
  ['GOVERNMENT', 'Government'], ['DELIVERY', 'Delivery'], ['ENTERTAINMENT', 'Entertainment'], ['NOTPROFIT', 'Not For Profit'], ['OTHER', 'Other']];
export const EMPLOYEES: Array<[string, string]> = [['EMPLOYEES_1', 'less than 50'], ['EMPLOYEES_2', '50-250'], ['EMPLOYEES_3', '250-500'], ['EMPLOYEES_4', 'over 500']];
export const COMPANY_TYPES: Array<[string, string]> = [['CUSTOMER', 'Client'], ['SUPPLIER', 'Supplier'], ['COMPETITOR', 'Competitor'],
  ['PARTNER', 'Partner'], ['OTHER', 'Other']];
export const HONORIFICS: Array<[string, string]> = [['HNR_EN_1', 'Mr.'], ['HNR_EN_2', 'Mrs.'], ['HNR_EN_3', 'Ms.'], ['HNR_EN_4', 'Dr.']];
