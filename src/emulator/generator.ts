/**
 * Deterministic data generator for the emulated portal: a shop / B2B seller with users,
 * currencies, funnels, a product catalog, companies, contacts and a deal history that follows
 * a buy-till-you-die process (BG/NBD-style purchases with gamma-gamma spend).
 *
 * Model, per contact i (see README "Emulator host and data generator"):
 *  - created at t0_i (history of `years` years ending at `portal.clock.now()`, denser recently);
 *  - a buyer with probability `buyerShare` (else a lead-like contact: no deals, or one lost/open deal);
 *  - purchase rate λ_i ~ Gamma(r, α) per year, dropout probability p_i ~ Beta(a, b) after each purchase;
 *  - the first deal follows creation by a few days, then inter-deal gaps ~ Exp(λ_i), each deal is
 *    won / lost / (in the last weeks) still open; after every won deal the customer drops out with p_i;
 *  - mean order value ν_i ~ Gamma(q, γ) (gamma-gamma), each order ~ ν_i · Gamma(4)/4, filled with
 *    catalog products from the customer's favourite sections.
 * An optional `deals` target is met by scaling the rates with one knob k found by bisection
 * (λ·k; for k>1 also p/k; for k<1 fewer buyers), each contact simulated from its own seeded stream
 * so the deal count is (nearly) monotone in k.
 *
 * Same seed and options → identical tables (IDs, values, dates relative to `now`).
 */
import type {
  CompanyRec, ContactRec, CrmPermLevel, CurrencyRec, DealRec, Multifield, ProductRec, ProductRowRec, SectionRec, StatusRec,
  UserRec,
} from './model.js';
import { uniformPerms } from './perms.js';
import type { Portal } from './portal.js';
import { Rng, subSeed } from './generator/random.js';
import {
  CATALOG, COMPANY_FORMS, COMPANY_KINDS, COMPANY_WORDS, EN, INDUSTRIES, LOSS_REASONS, POSTS, RU, type NamePool,
} from './generator/pools.js';

export interface GenerateOptions {
  /** Number of contacts (0 … a few million). */
  contacts: number;
  seed: number;
  /** Target total deal count (won + lost + open); hit within a few percent when reachable. */
  deals?: number;
  /** Number of companies (default ≈ 4% of contacts, at least 1 when there are contacts). */
  companies?: number;
  /** Length of the history in years, ending at the portal clock's now (default 4). */
  years?: number;
  /** Sales managers besides the admin (default 5; one more inactive ex-employee is added). */
  managers?: number;
  /** Share of contacts that ever buy (default 0.8). */
  buyerShare?: number;
  /**
   * CRM role level (perms.ts) of the head of sales (user 2) for contacts, companies and deals:
   * default 'F' (own department and its subdepartments, Bitrix24's "Head of department" role).
   */
  headAccess?: CrmPermLevel;
  /**
   * CRM role level of the other sales managers (and the former employee): default 'A' (own
   * records only, Bitrix24's default "Manager" role). The admin (user 1) always sees everything.
   */
  managerAccess?: CrmPermLevel;
}

export interface GenerationSummary {
  seed: number;
  users: number;
  currencies: string[];
  statuses: number;
  categories: number;
  sections: number;
  products: number;
  companies: number;
  contacts: number;
  contactsWithoutDeals: number;
  deals: number;
  won: number;
  lost: number;
  open: number;
  dealsByCategory: Record<string, number>;
  dealsByCurrency: Record<string, number>;
  dealsWithSeveralContacts: number;
  productRows: number;
  /** Buyers with exactly one won deal / with two or more. */
  oneTimeBuyers: number;
  repeatBuyers: number;
  /** Rate scale chosen to meet the `deals` target (1 without a target). */
  rateScale: number;
  /** Portal-clock range of deal creation/close dates (ISO). */
  dateFrom: string | null;
  dateTo: string | null;
  /** The deal user field holding the loss reason of lost deals. */
  lossReasonField: string;
  catalogId: number;
  ms: number;
}

export const CATALOG_ID = 25;
export const LOSS_REASON_FIELD = 'UF_CRM_LOSS_REASON';

const DAY = 86_400_000;
const YEAR = 365.25 * DAY;
const OPEN_WINDOW = 45 * DAY;
const MAX_EVENTS_PER_CONTACT = 400;

/** USD value of one unit, for currencies the generator knows. */
const USD_VALUE: Record<string, [number, string]> = {
  USD: [1, 'US Dollar'],
  EUR: [1.08, 'Euro'],
  RUB: [0.011, 'Russian Ruble'],
  GBP: [1.27, 'Pound Sterling'],
};

const EV_WON = 0;
const EV_LOST = 1;
const EV_OPEN = 2;

interface StageDef { id: string; name: string; sem: 'S' | 'F' | null; color: string; system: boolean }
const FUNNEL0: StageDef[] = [
  { id: 'NEW', name: 'New', sem: null, color: '#39A8EF', system: true },
  { id: 'PREPARATION', name: 'Preparing documents', sem: null, color: '#2FC6F6', system: false },
  { id: 'PREPAYMENT_INVOICE', name: 'Invoice', sem: null, color: '#55D0E0', system: false },
  { id: 'EXECUTING', name: 'In progress', sem: null, color: '#47E4C2', system: false },
  { id: 'FINAL_INVOICE', name: 'Final invoice', sem: null, color: '#FFA900', system: false },
  { id: 'WON', name: 'Deal won', sem: 'S', color: '#7BD500', system: true },
  { id: 'LOSE', name: 'Deal lost', sem: 'F', color: '#FF5752', system: true },
  { id: 'APOLOGY', name: 'Analyze failure', sem: 'F', color: '#FF5752', system: false },
];
const FUNNEL1: StageDef[] = [
  { id: 'C1:NEW', name: 'Request', sem: null, color: '#39A8EF', system: true },
  { id: 'C1:PREPARATION', name: 'Price offer', sem: null, color: '#2FC6F6', system: false },
  { id: 'C1:EXECUTING', name: 'Shipment', sem: null, color: '#47E4C2', system: false },
  { id: 'C1:FINAL_INVOICE', name: 'Payment', sem: null, color: '#FFA900', system: false },
  { id: 'C1:WON', name: 'Deal won', sem: 'S', color: '#7BD500', system: true },
  { id: 'C1:LOSE', name: 'Deal lost', sem: 'F', color: '#FF5752', system: true },
];
const OPEN0 = ['NEW', 'PREPARATION', 'PREPAYMENT_INVOICE', 'EXECUTING', 'FINAL_INVOICE'];
const OPEN0_PROB = [10, 30, 50, 70, 90];
const OPEN1 = ['C1:NEW', 'C1:PREPARATION', 'C1:EXECUTING', 'C1:FINAL_INVOICE'];
const OPEN1_PROB = [10, 40, 70, 90];

const SOURCES: Array<[string, string, number]> = [
  ['CALL', 'Call', 14], ['EMAIL', 'E-Mail', 8], ['WEB', 'Website', 30], ['ADVERTISING', 'Advertising', 14],
  ['PARTNER', 'Existing client', 6], ['RECOMMENDATION', 'By recommendation', 12], ['TRADE_SHOW', 'Show/Exhibition', 3],
  ['WEBFORM', 'CRM form', 8], ['CALLBACK', 'Callback', 3], ['STORE', 'Online store', 10], ['REPEAT_SALE', 'Repeat sales', 0],
  ['OTHER', 'Other', 2],
];
const CONTACT_TYPES: Array<[string, string]> = [['CLIENT', 'Clients'], ['SUPPLIER', 'Suppliers'], ['PARTNER', 'Partners'], ['OTHER', 'Other']];
const DEAL_TYPES: Array<[string, string]> = [['SALE', 'Sales'], ['COMPLEX', 'Integrated sale'], ['GOODS', 'Merchandise sales'],
  ['SERVICES', 'Service sales'], ['SERVICE', 'After-sales service']];
const HONORIFICS: Array<[string, string]> = [['HNR_EN_1', 'Mr.'], ['HNR_EN_2', 'Mrs.'], ['HNR_EN_3', 'Ms.'], ['HNR_EN_4', 'Dr.']];

/** Offset of a time zone from UTC at a moment, ms (0 for unknown zones). */
function tzOffsetMs(timeZone: string, at: number): number {
  try {
    const f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
    });
    const p: Record<string, number> = {};
    for (const part of f.formatToParts(new Date(at))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const asUtc = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0);
    return Math.round((asUtc - Math.floor(at / 60_000) * 60_000) / 60_000) * 60_000;
  } catch {
    return 0;
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export function generatePortal(portal: Portal, opts: GenerateOptions): GenerationSummary {
  const t0 = performance.now();
  const nContacts = Math.max(0, Math.floor(opts.contacts));
  if (!Number.isFinite(opts.seed)) throw new Error('generatePortal: seed must be a number');
  if (portal.contacts.size > 0 || portal.deals.size > 0 || portal.companies.size > 0) {
    throw new Error('generatePortal: the portal already holds CRM data; generate into an empty portal');
  }
  if (opts.deals !== undefined && !(opts.deals >= 0)) throw new Error('generatePortal: deals must be >= 0');
  const seed = opts.seed >>> 0;
  const years = opts.years ?? 4;
  const now = portal.clock.now();
  const start = now - years * YEAR;
  const tzOff = tzOffsetMs(portal.timeZone, now);
  const rng = new Rng(subSeed(seed, 1));

  /** Moves a moment into local business hours (09:00–20:00), monotone in t, never after now. */
  const biz = (t: number): number => {
    const local = t + tzOff;
    const dayStart = Math.floor(local / DAY) * DAY;
    const v = dayStart + 9 * 3_600_000 + ((local - dayStart) * 11) / 24 - tzOff;
    return Math.min(Math.round(v / 1000) * 1000, now);
  };
  const dayCache = new Map<number, string>();
  const dayStr = (t: number): string => {
    const d = Math.floor((t + tzOff) / DAY);
    let s = dayCache.get(d);
    if (s === undefined) {
      s = new Date(d * DAY).toISOString().slice(0, 10);
      dayCache.set(d, s);
    }
    return s;
  };

  // ---- users --------------------------------------------------------------------------------
  const nManagers = Math.max(1, opts.managers ?? 5);
  const managerNames: Array<[string, string, 'M' | 'F']> = [
    ['Dmitry', 'Orlov', 'M'], ['Emily', 'Carter', 'F'], ['Olga', 'Belova', 'F'], ['Michael', 'Turner', 'M'],
    ['Ksenia', 'Volkova', 'F'], ['Daniel', 'Wright', 'M'], ['Pavel', 'Egorov', 'M'], ['Sophie', 'Adams', 'F'],
  ];
  // Company structure: the company (1) with the sales department (2) below it.
  if (!portal.departments.has(1)) portal.departments.set(1, { id: 1, name: 'Company', parentId: null });
  if (!portal.departments.has(2)) portal.departments.set(2, { id: 2, name: 'Sales', parentId: 1 });
  const headPerms = uniformPerms(opts.headAccess ?? 'F');
  const managerPerms = uniformPerms(opts.managerAccess ?? 'A');
  const userDefs: UserRec[] = [{
    id: 1, active: true, name: 'Victoria', lastName: 'Sokolova', email: 'owner@example.com', isAdmin: true,
    timeZone: portal.timeZone, departmentIds: [1], workPosition: 'Portal owner, CEO', personalGender: 'F',
    crmPerms: uniformPerms('X'),
  }];
  for (let m = 0; m < nManagers; m++) {
    const [fn, ln, g] = managerNames[m % managerNames.length] ?? ['Sales', 'Manager', ''];
    userDefs.push({
      id: m + 2, active: true, name: fn, lastName: m < managerNames.length ? ln : `${ln} ${m + 1}`,
      email: `${fn.toLowerCase()}.${ln.toLowerCase()}${m < managerNames.length ? '' : m + 1}@example.com`,
      isAdmin: false, timeZone: portal.timeZone, departmentIds: [2],
      workPosition: m === 0 ? 'Head of sales' : 'Sales manager', personalGender: g,
      crmPerms: { ...(m === 0 ? headPerms : managerPerms) },
    });
  }
  const exId = nManagers + 2;
  userDefs.push({
    id: exId, active: false, name: 'Igor', lastName: 'Frolov', email: 'igor.frolov@example.com', isAdmin: false,
    timeZone: portal.timeZone, departmentIds: [2], workPosition: 'Sales manager (former)', personalGender: 'M',
    crmPerms: { ...managerPerms },
  });
  for (const u of userDefs) if (!portal.users.has(u.id)) portal.users.set(u.id, u);
  portal.bumpId('user', exId);
  const managerIds = userDefs.filter((u) => u.id !== 1 && u.active).map((u) => u.id);
  const managerW = managerIds.map((_, i) => (i === 0 ? 0.6 : 1 + (i % 3) * 0.4));
  const assignUser = (r: Rng, t: number): number => {
    if (t < start + (now - start) * 0.4 && r.chance(0.25)) return exId;
    if (r.chance(0.05)) return 1;
    return r.weighted(managerIds, managerW);
  };

  // ---- currencies -----------------------------------------------------------------------------
  const base = portal.baseCurrency;
  if (portal.currencies.length === 0) {
    const baseUsd = USD_VALUE[base]?.[0] ?? 1;
    const codes = [base, ...['USD', 'EUR', 'RUB'].filter((c) => c !== base)];
    codes.forEach((code, i) => {
      const usd = USD_VALUE[code]?.[0] ?? 1;
      const rate = usd / baseUsd;
      const cnt = code === base ? 1 : rate < 0.1 ? 100 : 1;
      portal.currencies.push({
        currency: code, amountCnt: cnt, amount: code === base ? 1 : Math.round(rate * cnt * 10000) / 10000,
        sort: (i + 1) * 100, base: code === base, fullName: USD_VALUE[code]?.[1] ?? code, dateUpdate: start,
      } satisfies CurrencyRec);
    });
  }
  /** Base-currency value of one unit of a currency. */
  const rateOf = new Map<string, number>(portal.currencies.map((c) => [c.currency, c.amount / c.amountCnt]));
  const hasCur = (c: string): boolean => rateOf.has(c);

  // ---- statuses, funnels, user field -----------------------------------------------------------
  if (portal.statuses.length === 0) {
    const add = (entityId: string, statusId: string, name: string, sort: number, system: boolean,
      categoryId: number | null, color: string | null, semantics: 'S' | 'F' | null): void => {
      portal.statuses.push({
        id: portal.nextId('status'), entityId, statusId, name, sort, system, categoryId, color, semantics,
      } satisfies StatusRec);
    };
    FUNNEL0.forEach((s, i) => add('DEAL_STAGE', s.id, s.name, (i + 1) * 10, s.system, 0, s.color, s.sem));
    FUNNEL1.forEach((s, i) => add('DEAL_STAGE_1', s.id, s.name, (i + 1) * 10, s.system, 1, s.color, s.sem));
    SOURCES.forEach(([id, name], i) => add('SOURCE', id, name, (i + 1) * 10, i < 10, null, null, null));
    CONTACT_TYPES.forEach(([id, name], i) => add('CONTACT_TYPE', id, name, (i + 1) * 10, true, null, null, null));
    DEAL_TYPES.forEach(([id, name], i) => add('DEAL_TYPE', id, name, (i + 1) * 10, true, null, null, null));
    HONORIFICS.forEach(([id, name], i) => add('HONORIFIC', id, name, (i + 1) * 10, true, null, null, null));
  }
  if (portal.categories.length === 0) {
    portal.categories.push({ id: 0, entityTypeId: 2, name: 'General', sort: 100, isDefault: true });
    portal.categories.push({ id: 1, entityTypeId: 2, name: 'Wholesale', sort: 200, isDefault: false });
  }
  if (![...portal.userFields.values()].some((f) => f.entityId === 'CRM_DEAL' && f.fieldName === LOSS_REASON_FIELD)) {
    const id = portal.nextId('userField');
    const label = { en: 'Loss reason', ru: 'Причина проигрыша' };
    portal.userFields.set(id, {
      id, entityId: 'CRM_DEAL', fieldName: LOSS_REASON_FIELD, userTypeId: 'string', xmlId: 'LOSS_REASON', sort: 100,
      multiple: false, mandatory: false, showFilter: 'E', showInList: true, editInList: true, isSearchable: false,
      settings: { SIZE: 20, ROWS: 1, REGEXP: '', MIN_LENGTH: 0, MAX_LENGTH: 0, DEFAULT_VALUE: '' },
      editFormLabel: label, listColumnLabel: label, listFilterLabel: label, errorMessage: {}, helpMessage: {},
      list: [], createdByApp: null,
    });
  }

  // ---- catalog ---------------------------------------------------------------------------------
  /** Leaf product ids and base prices per top-level section index. */
  const topLeaves: Array<Array<{ sectionId: number; ids: number[]; prices: number[]; names: string[] }>> = [];
  if (portal.products.size === 0) {
    const catT = start - 30 * DAY;
    for (const top of CATALOG) {
      const topId = portal.nextId('section');
      portal.sections.set(topId, { id: topId, catalogId: CATALOG_ID, name: top.name, sectionId: null, xmlId: top.code, code: top.code } satisfies SectionRec);
      const leaves: Array<{ sectionId: number; ids: number[]; prices: number[]; names: string[] }> = [];
      for (const leaf of top.leaves) {
        const sid = portal.nextId('section');
        portal.sections.set(sid, { id: sid, catalogId: CATALOG_ID, name: leaf.name, sectionId: topId, xmlId: leaf.code, code: leaf.code });
        leaves.push({ sectionId: sid, ids: [], prices: [], names: [] });
      }
      topLeaves.push(leaves);
    }
    // products after the sections (IDs of their own table), in catalog order
    CATALOG.forEach((top, ti) => {
      top.leaves.forEach((leaf, li) => {
        const bucket = topLeaves[ti]?.[li];
        const secId = bucket?.sectionId ?? null;
        leaf.products.forEach(([name, usd], pi) => {
          const id = portal.nextId('product');
          const price = Math.max(1, Math.round(usd / (USD_VALUE[base]?.[0] ?? 1)));
          portal.products.set(id, {
            id, name, sectionId: secId, catalogId: CATALOG_ID, price, currencyId: base, active: true,
            sort: (pi + 1) * 100, xmlId: `${leaf.code}-${pi + 1}`, dateCreate: catT, timestampX: catT,
          } satisfies ProductRec);
          bucket?.ids.push(id);
          bucket?.prices.push(price);
          bucket?.names.push(name);
        });
      });
    });
  } else {
    // Use an existing catalog: one bucket with every active product.
    const b = { sectionId: 0, ids: [] as number[], prices: [] as number[], names: [] as string[] };
    for (const p of portal.products.values()) if (p.active) { b.ids.push(p.id); b.prices.push(p.price * (rateOf.get(p.currencyId) ?? 1)); b.names.push(p.name); }
    topLeaves.push([b]);
  }
  const nTops = topLeaves.length;

  // ---- companies (anchors) ---------------------------------------------------------------------
  const nCompanies = nContacts === 0 ? 0 : Math.max(1, Math.floor(opts.companies ?? Math.round(nContacts * 0.04)));
  /** Growth: more records recently (density ∝ t^0.6 on the history). */
  const growth = (u: number): number => start + (now - start) * Math.pow(u, 1 / 1.6);
  const compAnchor = new Float64Array(nCompanies);
  for (let j = 0; j < nCompanies; j++) compAnchor[j] = growth(rng.next()) - 20 * DAY * rng.next();
  compAnchor.sort();

  // ---- contacts: model parameters ----------------------------------------------------------------
  const cCreated = new Float64Array(nContacts);
  for (let i = 0; i < nContacts; i++) cCreated[i] = growth(rng.next());
  cCreated.sort();
  const cLambda = new Float64Array(nContacts);
  const cDrop = new Float64Array(nContacts);
  const cSpend = new Float64Array(nContacts);
  const cBuyerU = new Float64Array(nContacts);
  const cFav = new Uint8Array(nContacts * 2);
  const cCompany = new Int32Array(nContacts).fill(-1);
  const cRu = new Uint8Array(nContacts);
  const cCur = new Uint8Array(nContacts); // 0 base, 1 RUB, 2 EUR
  const buyerShare = opts.buyerShare ?? 0.8;
  for (let i = 0; i < nContacts; i++) {
    cLambda[i] = rng.gamma(0.9, 1.6); // purchases per year, mean ≈ 1.45
    cDrop[i] = rng.beta(1.3, 3.2); // mean ≈ 0.29
    cSpend[i] = rng.gamma(2.2, 110 / (USD_VALUE[base]?.[0] ?? 1) * 1.0); // mean order value ≈ 240 USD
    cBuyerU[i] = rng.next();
    const f1 = rng.int(0, nTops - 1);
    cFav[2 * i] = f1;
    cFav[2 * i + 1] = rng.chance(0.5) ? f1 : rng.int(0, nTops - 1);
    cRu[i] = rng.chance(0.55) ? 1 : 0;
    cCur[i] = cRu[i] && hasCur('RUB') && base !== 'RUB' && rng.chance(0.5) ? 1 : 0;
    if (nCompanies > 0 && rng.chance(0.15)) {
      // a company that already existed when the contact was created
      const t = cCreated[i] ?? 0;
      let lo = 0, hi = nCompanies;
      while (lo < hi) { const mid = (lo + hi) >> 1; if ((compAnchor[mid] ?? 0) <= t) lo = mid + 1; else hi = mid; }
      if (lo > 0) {
        // prefer a few big accounts: square the uniform
        const u = rng.next();
        cCompany[i] = Math.min(lo - 1, Math.floor(u * u * lo));
        cSpend[i] = (cSpend[i] ?? 0) * 3;
      }
    }
  }

  // ---- deal process: simulation with rate scale k -------------------------------------------
  let evCount = 0;
  let evContact = new Int32Array(0);
  let evTime = new Float64Array(0);
  let evKind = new Uint8Array(0);
  let evFunnel = new Uint8Array(0);
  let evLead = new Float64Array(0);
  let evFirst = new Uint8Array(0);

  const simulate = (k: number, record: boolean): number => {
    const buyerP = buyerShare * (k < 1 ? Math.sqrt(k) : 1);
    const strayP = 0.3 * Math.min(1, k);
    let total = 0;
    for (let i = 0; i < nContacts; i++) {
      const r = new Rng(subSeed(seed, 7, i));
      const created = cCreated[i] ?? 0;
      const hasCompany = (cCompany[i] ?? -1) >= 0;
      let t = created + r.exp() * 4 * DAY;
      const buyer = (cBuyerU[i] ?? 1) < buyerP;
      if (!buyer) {
        // a lead-like contact: at most one deal, lost or (if recent) open
        const u = r.next();
        const uf = r.next();
        const ul = r.next();
        if (u < strayP && t < now) {
          if (record) {
            const open = t > now - OPEN_WINDOW;
            push(i, t, open ? EV_OPEN : EV_LOST, hasCompany && uf < 0.5 ? 1 : 0, ul, 1);
          }
          total++;
        }
        continue;
      }
      const lam = (cLambda[i] ?? 1) * k;
      const p = (cDrop[i] ?? 0.3) * (k > 1 ? 1 / k : 1);
      let n = 0;
      let wonSoFar = 0;
      while (t < now && n < MAX_EVENTS_PER_CONTACT) {
        const uo = r.next();
        const ud = r.next();
        const ug = r.open();
        const uf = r.next();
        const ul = r.next();
        let kind: number;
        if (t > now - OPEN_WINDOW && uo < 0.55) kind = EV_OPEN;
        else if (uo >= 0.8) kind = EV_LOST;
        else kind = EV_WON;
        if (record) push(i, t, kind, hasCompany ? (uf < 0.7 ? 1 : 0) : (uf < 0.02 ? 1 : 0), ul, wonSoFar === 0 ? 1 : 0);
        n++;
        if (kind === EV_WON) {
          wonSoFar++;
          if (ud < p) break;
        }
        t += (-Math.log(ug) / lam) * YEAR;
      }
      total += n;
    }
    return total;
  };
  function push(i: number, t: number, kind: number, funnel: number, ul: number, first: number): void {
    if (evCount >= evContact.length) {
      const cap = Math.max(1024, evContact.length * 2);
      const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => { const b = make(cap); b.set(a); return b; };
      evContact = grow(evContact, (n) => new Int32Array(n));
      evTime = grow(evTime, (n) => new Float64Array(n));
      evKind = grow(evKind, (n) => new Uint8Array(n));
      evFunnel = grow(evFunnel, (n) => new Uint8Array(n));
      evLead = grow(evLead, (n) => new Float64Array(n));
      evFirst = grow(evFirst, (n) => new Uint8Array(n));
    }
    evContact[evCount] = i;
    evTime[evCount] = t;
    evKind[evCount] = kind;
    evFunnel[evCount] = funnel;
    evLead[evCount] = ul;
    evFirst[evCount] = first;
    evCount++;
  }

  let k = 1;
  if (opts.deals !== undefined && nContacts > 0) {
    const target = opts.deals;
    let lo = Math.log(1e-4), hi = Math.log(1e4);
    let best = 1, bestErr = Infinity;
    for (let it = 0; it < 48; it++) {
      const mid = (lo + hi) / 2;
      const c = simulate(Math.exp(mid), false);
      const err = Math.abs(c - target);
      if (err < bestErr) { bestErr = err; best = Math.exp(mid); }
      if (err <= Math.max(0.01 * target, 0)) break;
      if (c < target) lo = mid; else hi = mid;
      if (hi - lo < 1e-9) break;
    }
    k = best;
  }
  if (nContacts > 0) {
    const expected = simulate(k, false);
    evContact = new Int32Array(Math.max(1, expected));
    evTime = new Float64Array(evContact.length);
    evKind = new Uint8Array(evContact.length);
    evFunnel = new Uint8Array(evContact.length);
    evLead = new Float64Array(evContact.length);
    evFirst = new Uint8Array(evContact.length);
    simulate(k, true);
  }

  // Deal creation moments: won/lost deals are created a lead time before they close.
  const evCreate = new Float64Array(evCount);
  for (let e = 0; e < evCount; e++) {
    const t = evTime[e] ?? 0;
    if (evKind[e] === EV_OPEN) { evCreate[e] = t; continue; }
    const lead = -Math.log(1 - (evLead[e] ?? 0) * 0.999) * (evFunnel[e] ? 9 : 3) * DAY;
    evCreate[e] = Math.max(cCreated[evContact[e] ?? 0] ?? start, t - lead);
  }
  // Order by creation (ties by event index): IDs grow with time as on a real portal.
  let order: Uint32Array;
  if (evCount < 2 ** 21) {
    const keys = new Float64Array(evCount);
    for (let e = 0; e < evCount; e++) keys[e] = Math.floor(((evCreate[e] ?? 0) - start + 40 * DAY) / 1000) * 2 ** 21 + e;
    keys.sort();
    order = new Uint32Array(evCount);
    for (let e = 0; e < evCount; e++) order[e] = (keys[e] ?? 0) % 2 ** 21;
  } else {
    order = new Uint32Array(evCount);
    for (let e = 0; e < evCount; e++) order[e] = e;
    order.sort((a, b) => (evCreate[a] ?? 0) - (evCreate[b] ?? 0) || a - b);
  }

  // ---- companies: records ----------------------------------------------------------------------
  let mfId = 0;
  const companyIds = new Int32Array(nCompanies);
  const compRng = new Rng(subSeed(seed, 2));
  for (let j = 0; j < nCompanies; j++) {
    const id = portal.nextId('company');
    companyIds[j] = id;
    const word = compRng.pick(COMPANY_WORDS);
    const title = `${word} ${compRng.pick(COMPANY_KINDS)} ${compRng.pick(COMPANY_FORMS)}`;
    const created = biz(Math.max(start - 60 * DAY, compAnchor[j] ?? start));
    const ru = compRng.chance(0.55);
    const fm: Multifield[] = [];
    if (compRng.chance(0.85)) fm.push({ id: ++mfId, typeId: 'PHONE', valueType: 'WORK', value: phone(compRng, ru ? RU : EN) });
    if (compRng.chance(0.8)) fm.push({ id: ++mfId, typeId: 'EMAIL', valueType: 'WORK', value: `info@${word.toLowerCase()}${id}.example` });
    portal.companies.set(id, {
      id, title, companyType: 'CUSTOMER', industry: compRng.pick(INDUSTRIES),
      revenue: Math.round(compRng.gamma(1.5, 400_000) / 1000) * 1000, currencyId: base,
      sourceId: compRng.weighted(SOURCES.map((s) => s[0]), SOURCES.map((s) => s[2])),
      addressCity: compRng.pick((ru ? RU : EN).cities), assignedById: assignUser(compRng, created),
      createdById: 1, modifyById: 1, opened: true, dateCreate: created,
      dateModify: Math.min(now, created + compRng.next() * 90 * DAY), fm, uf: {},
    } satisfies CompanyRec);
  }
  const companyIdOf = (j: number): number => companyIds[j] ?? 0;

  // ---- contacts: records -------------------------------------------------------------------------
  const hasDeal = new Uint8Array(nContacts);
  for (let e = 0; e < evCount; e++) hasDeal[evContact[e] ?? 0] = 1;
  const cRng = new Rng(subSeed(seed, 3));
  const contactAssigned = new Int32Array(nContacts);
  const contactSource: string[] = new Array<string>(nContacts);
  const srcIds = SOURCES.filter((s) => s[2] > 0).map((s) => s[0]);
  const srcW = SOURCES.filter((s) => s[2] > 0).map((s) => s[2]);
  let firstContactId = 0;
  for (let i = 0; i < nContacts; i++) {
    const id = portal.nextId('contact');
    if (i === 0) firstContactId = id;
    const pool = cRu[i] ? RU : EN;
    const female = cRng.chance(0.5);
    const name = cRng.pick(female ? pool.femaleFirst : pool.maleFirst);
    const lastM = cRng.pick(pool.last);
    const lastName = female ? pool.femaleLast(lastM) : lastM;
    const second = pool.maleSecond && cRng.chance(0.35) ? cRng.pick((female ? pool.femaleSecond : pool.maleSecond) ?? []) : null;
    const created = biz(cCreated[i] ?? start);
    const assigned = assignUser(cRng, created);
    contactAssigned[i] = assigned;
    const source = cRng.weighted(srcIds, srcW);
    contactSource[i] = source;
    const fm: Multifield[] = [];
    const kind = cRng.next();
    // ~6% have neither phone nor e-mail; otherwise phone 85%, e-mail 70% (at least one)
    if (kind >= 0.06) {
      let ph = cRng.chance(0.85);
      const em = cRng.chance(0.7);
      if (!ph && !em) ph = true;
      if (ph) fm.push({ id: ++mfId, typeId: 'PHONE', valueType: cRng.chance(0.8) ? 'MOBILE' : 'WORK', value: phone(cRng, pool) });
      if (em) fm.push({ id: ++mfId, typeId: 'EMAIL', valueType: cRng.chance(0.75) ? 'HOME' : 'WORK', value: email(cRng, name, lastName, id, pool) });
    }
    const cj = cCompany[i] ?? -1;
    const companyId = cj >= 0 ? companyIdOf(cj) : null;
    const birth = cRng.chance(0.3)
      ? dayStr(now - (20 + cRng.next() * 50) * YEAR)
      : null;
    const typeId = hasDeal[i] ? 'CLIENT' : cRng.weighted(['CLIENT', 'OTHER', 'PARTNER', 'SUPPLIER'], [70, 15, 10, 5]);
    portal.contacts.set(id, {
      id, name, secondName: second, lastName, honorific: null, typeId, sourceId: source, sourceDescription: null,
      post: companyId !== null ? cRng.pick(POSTS) : null, comments: null, birthdate: birth,
      addressCity: cRng.chance(0.85) ? cRng.pick(pool.cities) : null,
      companyId, companyIds: companyId !== null ? [companyId] : [],
      assignedById: assigned, createdById: assigned, modifyById: assigned, opened: true, export: true,
      dateCreate: created, dateModify: Math.min(now, Math.round((created + cRng.next() * cRng.next() * (now - created)) / 1000) * 1000),
      fm: fm.slice(), uf: {},
    } satisfies ContactRec);
  }
  // company → contacts index (CSR)
  const compStart = new Int32Array(nCompanies + 1);
  for (let i = 0; i < nContacts; i++) { const cj = cCompany[i] ?? -1; if (cj >= 0) compStart[cj + 1] = (compStart[cj + 1] ?? 0) + 1; }
  for (let j = 0; j < nCompanies; j++) compStart[j + 1] = (compStart[j + 1] ?? 0) + (compStart[j] ?? 0);
  const compMembers = new Int32Array(compStart[nCompanies] ?? 0);
  {
    const fill = compStart.slice(0, nCompanies);
    for (let i = 0; i < nContacts; i++) { const cj = cCompany[i] ?? -1; if (cj >= 0) compMembers[fill[cj]!++] = i; }
  }

  // ---- deals and product rows ----------------------------------------------------------------
  const dRng = new Rng(subSeed(seed, 4));
  let won = 0, lost = 0, open = 0, rowsTotal = 0, multi = 0;
  const byCat: Record<string, number> = { '0': 0, '1': 0 };
  const byCur: Record<string, number> = {};
  const wonPerContact = new Uint16Array(nContacts);
  let dateFrom = Infinity, dateTo = -Infinity;
  let rowId = 0;
  const curCodes = [base, hasCur('RUB') ? 'RUB' : base, hasCur('EUR') ? 'EUR' : base];
  const typeIds = ['SALE', 'GOODS', 'SERVICES', 'COMPLEX'];
  const typeW = [60, 25, 10, 5];
  const rowCountW = [50, 28, 14, 8];
  const rowCounts = [1, 2, 3, 4];
  for (let oi = 0; oi < evCount; oi++) {
    const e = order[oi] ?? 0;
    const ci = evContact[e] ?? 0;
    const kind = evKind[e] ?? EV_WON;
    const funnel = evFunnel[e] ?? 0;
    const id = portal.nextId('deal');
    const contactId = firstContactId + ci;
    const created = biz(evCreate[e] ?? start);
    let closeT: number;
    if (kind === EV_OPEN) closeT = created + (7 + dRng.next() * 38) * DAY;
    else closeT = Math.max(created, biz(evTime[e] ?? created));
    let currency = curCodes[cCur[ci] ?? 0] ?? base;
    if (funnel === 1 && dRng.chance(0.35)) currency = curCodes[2] ?? base;
    const rate = rateOf.get(currency) ?? 1; // base units per 1 unit of the deal currency
    const whole = rate < 0.1; // e.g. RUB: whole units
    const cj = cCompany[ci] ?? -1;
    let contactIds = [contactId];
    if (cj >= 0 && funnel === 1 && dRng.chance(0.5)) {
      const from = compStart[cj] ?? 0, to = compStart[cj + 1] ?? 0;
      if (to - from > 1) {
        const other = compMembers[from + dRng.int(0, to - from - 1)] ?? ci;
        if (other !== ci && (cCreated[other] ?? Infinity) <= (evCreate[e] ?? 0)) contactIds.push(firstContactId + other);
      }
    } else if (dRng.chance(0.02) && ci > 0) {
      contactIds.push(firstContactId + dRng.int(0, ci - 1)); // a family member who also buys here
    }
    if (contactIds.length > 1) { multi++; contactIds = contactIds.slice(); }
    const companyId = cj >= 0 && (funnel === 1 || dRng.chance(0.4)) ? companyIdOf(cj) : null;
    // order value in base currency (gamma-gamma)
    const target = (cSpend[ci] ?? 200) * dRng.gamma(4, 0.25) * (funnel === 1 ? 2.5 : 1);
    const assigned = dRng.chance(0.85) ? (contactAssigned[ci] ?? 1) : assignUser(dRng, created);
    const assignedUser = portal.users.get(assigned);
    const resp = assignedUser && !assignedUser.active && created > start + (now - start) * 0.4 ? (managerIds[0] ?? 1) : assigned;
    let stageId: string;
    let probability: number;
    let opportunity: number;
    let manual = true;
    const uf: Record<string, unknown> = {};
    if (kind === EV_WON) {
      won++;
      wonPerContact[ci] = (wonPerContact[ci] ?? 0) + 1;
      stageId = funnel === 1 ? 'C1:WON' : 'WON';
      probability = 100;
      manual = false;
      const rows: ProductRowRec[] = [];
      const nRows = dRng.weighted(rowCounts, rowCountW);
      let sum = 0;
      for (let r = 0; r < nRows; r++) {
        const x = dRng.next();
        const top = x < 0.7 ? (cFav[2 * ci] ?? 0) : x < 0.9 ? (cFav[2 * ci + 1] ?? 0) : dRng.int(0, nTops - 1);
        const leaves = topLeaves[top % nTops] ?? [];
        const leaf = leaves[dRng.int(0, Math.max(0, leaves.length - 1))];
        if (!leaf || leaf.ids.length === 0) continue;
        const rowTarget = target / nRows;
        let bestJ = dRng.int(0, leaf.ids.length - 1);
        for (let c = 0; c < 2; c++) {
          const j = dRng.int(0, leaf.ids.length - 1);
          if (Math.abs(Math.log((leaf.prices[j] ?? 1) / rowTarget)) < Math.abs(Math.log((leaf.prices[bestJ] ?? 1) / rowTarget))) bestJ = j;
        }
        const basePrice = leaf.prices[bestJ] ?? 1;
        const maxQty = funnel === 1 ? 60 : 5;
        const qty = Math.max(1, Math.min(maxQty, Math.round((rowTarget / basePrice) * (0.6 + dRng.next() * 0.4))));
        const netto = whole ? Math.round(basePrice / rate) : round2(basePrice / rate);
        const discRate = dRng.chance(funnel === 1 ? 0.5 : 0.18) ? dRng.pick([5, 10, 15, 20]) : 0;
        const discSum = round2((netto * discRate) / 100);
        const price = round2(netto - discSum);
        sum += price * qty;
        rows.push({
          id: ++rowId, ownerType: 'D', ownerId: id, productId: leaf.ids[bestJ] ?? 0, productName: leaf.names[bestJ] ?? '',
          price, priceExclusive: price, priceNetto: netto, priceBrutto: netto, quantity: qty, discountTypeId: 2,
          discountRate: discRate, discountSum: discSum, taxRate: null, taxIncluded: false, customized: true,
          measureCode: 796, measureName: 'pcs', sort: (r + 1) * 10, type: 1,
        });
      }
      if (rows.length > 0) portal.productRows.set(id, rows.slice()); // exact-capacity copy: memory
      rowsTotal += rows.length;
      opportunity = round2(sum);
    } else {
      opportunity = whole ? Math.round(target / rate / 100) * 100 : Math.round(target / rate / 10) * 10;
      if (kind === EV_LOST) {
        lost++;
        stageId = funnel === 1 ? 'C1:LOSE' : dRng.chance(0.15) ? 'APOLOGY' : 'LOSE';
        probability = 0;
        uf[LOSS_REASON_FIELD] = dRng.pick(LOSS_REASONS);
      } else {
        open++;
        const si = dRng.int(0, (funnel === 1 ? OPEN1.length : OPEN0.length) - 1);
        stageId = (funnel === 1 ? OPEN1[si] : OPEN0[si]) ?? 'NEW';
        probability = (funnel === 1 ? OPEN1_PROB[si] : OPEN0_PROB[si]) ?? 10;
      }
    }
    byCat[String(funnel)] = (byCat[String(funnel)] ?? 0) + 1;
    byCur[currency] = (byCur[currency] ?? 0) + 1;
    const closed = kind !== EV_OPEN;
    const modify = closed ? closeT : Math.min(now, Math.round((created + dRng.next() * (now - created)) / 1000) * 1000);
    if (created < dateFrom) dateFrom = created;
    if (closed && closeT > dateTo) dateTo = closeT;
    if (!closed && created > dateTo) dateTo = created;
    portal.deals.set(id, {
      id, title: funnel === 1 ? `Wholesale order #${id}` : `Order #${id}`,
      typeId: funnel === 1 ? 'GOODS' : dRng.weighted(typeIds, typeW), categoryId: funnel, stageId, probability,
      currencyId: currency, opportunity, isManualOpportunity: manual, taxValue: 0, companyId, contactIds,
      beginDate: dayStr(created), closeDate: dayStr(closeT), opened: true, closed, comments: null,
      sourceId: evFirst[e] ? (contactSource[ci] ?? 'WEB') : 'REPEAT_SALE', sourceDescription: null,
      assignedById: resp, createdById: resp, modifyById: resp, dateCreate: created, dateModify: modify, uf,
    } satisfies DealRec);
  }
  portal.bumpId('productRow', rowId);
  portal.bumpId('multifield', mfId);

  let oneTime = 0, repeat = 0;
  for (let i = 0; i < nContacts; i++) {
    const w = wonPerContact[i] ?? 0;
    if (w === 1) oneTime++;
    else if (w > 1) repeat++;
  }
  let without = 0;
  for (let i = 0; i < nContacts; i++) if (!hasDeal[i]) without++;

  return {
    seed,
    users: portal.users.size,
    currencies: portal.currencies.map((c) => c.currency),
    statuses: portal.statuses.length,
    categories: portal.categories.length,
    sections: portal.sections.size,
    products: portal.products.size,
    companies: nCompanies,
    contacts: nContacts,
    contactsWithoutDeals: without,
    deals: evCount,
    won, lost, open,
    dealsByCategory: byCat,
    dealsByCurrency: byCur,
    dealsWithSeveralContacts: multi,
    productRows: rowsTotal,
    oneTimeBuyers: oneTime,
    repeatBuyers: repeat,
    rateScale: k,
    dateFrom: Number.isFinite(dateFrom) ? new Date(dateFrom).toISOString() : null,
    dateTo: Number.isFinite(dateTo) ? new Date(dateTo).toISOString() : null,
    lossReasonField: LOSS_REASON_FIELD,
    catalogId: CATALOG_ID,
    ms: Math.round(performance.now() - t0),
  };
}

function digits(r: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(r.int(0, 9));
  return s;
}

function phone(r: Rng, pool: NamePool): string {
  if (pool === RU) return `+7 9${digits(r, 2)} ${digits(r, 3)}-${digits(r, 2)}-${digits(r, 2)}`;
  return `+1 ${r.int(201, 989)} ${digits(r, 3)}-${digits(r, 4)}`;
}

function email(r: Rng, name: string, last: string, id: number, pool: NamePool): string {
  const n = name.toLowerCase();
  const l = last.toLowerCase();
  const style = r.int(0, 2);
  const local = style === 0 ? `${n}.${l}` : style === 1 ? `${n[0] ?? 'x'}${l}${id % 1000}` : `${l}.${n}${id % 97}`;
  return `${local}@${r.pick(pool.emailDomains)}`;
}
