/**
 * The one object every generator step reads and fills: the portal, the options, the seeded main
 * random stream, the time frame, the running ID counters and the pools a later step draws from
 * (managers, catalog leaves, per-contact model parameters, simulated deal events).
 *
 * Each step owns its own seeded stream (subSeed(seed, n)) except the contact model, which shares
 * the main stream `rng` between the company anchors and the contact parameters, in that order.
 */
import type { Portal } from '../portal.js';
import { makeCalendar, type Calendar } from './calendar.js';
import { YEAR } from './constants.js';
import { EventLog } from './event-log.js';
import type { GenerateOptions } from './options.js';
import { Rng, subSeed } from './random.js';

/** Products of one leaf section: IDs, base-currency prices and names, index-aligned. */
export interface CatalogLeaf { sectionId: number; ids: number[]; prices: number[]; names: string[] }

export interface Staff {
  /** Active sales managers (not the admin), and their weights when a record gets a manager. */
  managerIds: number[];
  managerW: number[];
  /** The former (inactive) employee who held records early in the history. */
  exId: number;
}

/** Per-contact columns; index i is the i-th contact in creation order. */
export interface ContactColumns {
  created: Float64Array;
  /** Purchase rate per year (Gamma), dropout probability after a purchase (Beta), mean order value. */
  lambda: Float64Array;
  drop: Float64Array;
  spend: Float64Array;
  /** Uniform draw deciding whether the contact ever buys. */
  buyerU: Float64Array;
  /** 1: a buyer still buying when the history ends (did not drop out), for the living portal. */
  alive: Uint8Array;
  /** Two favourite top-level catalog sections per contact (2i, 2i+1). */
  fav: Uint8Array;
  /** Company index, -1 for none. */
  company: Int32Array;
  /** 1: Russian names and cities, 0: English. */
  ru: Uint8Array;
  /** Preferred deal currency: 0 base, 1 RUB, 2 EUR. */
  cur: Uint8Array;
  /** Filled with the contact records: responsible user, source, whether any deal exists. */
  assigned: Int32Array;
  source: string[];
  hasDeal: Uint8Array;
  /** ID of contact 0 (contacts get consecutive IDs). */
  firstId: number;
}

export interface CompanyColumns {
  n: number;
  /** Founding moments, sorted. */
  anchor: Float64Array;
  ids: Int32Array;
  /** Contacts of company j: members[start[j] … start[j+1]) (CSR index). */
  start: Int32Array;
  members: Int32Array;
}

/** Running totals of the deal step, for the summary. */
export interface DealTally {
  won: number;
  lost: number;
  open: number;
  rows: number;
  multi: number;
  byCat: Record<string, number>;
  byCur: Record<string, number>;
  wonPerContact: Uint16Array;
  companyDeals: number;
  companyOnlyDeals: number;
  dateFrom: number;
  dateTo: number;
  /** leads step: converted and junk leads */
  leadsConverted: number;
  leadsJunk: number;
}

export interface GenContext extends Calendar {
  readonly portal: Portal;
  readonly opts: GenerateOptions;
  readonly seed: number;
  /** the B2B profile (GenerateOptions.profile) */
  readonly b2b: boolean;
  /** B2B-only draws (subSeed 12): the shop profile never draws from it, so its tables stay as they were */
  readonly b2bRng: Rng;
  readonly nContacts: number;
  /** History: from `start` to the portal clock's `now`. */
  readonly now: number;
  readonly start: number;
  readonly base: string;
  /** The main stream (subSeed 1). */
  readonly rng: Rng;
  /** Running IDs of multifields (phones, e-mails) and product rows; bumped into the portal at the end. */
  readonly ids: { multifield: number; productRow: number };
  staff: Staff;
  /** Base-currency value of one unit of each portal currency. */
  rateOf: Map<string, number>;
  /** Leaf buckets per top-level catalog section. */
  topLeaves: CatalogLeaf[][];
  readonly companies: CompanyColumns;
  readonly contacts: ContactColumns;
  readonly events: EventLog;
  /** Rate scale k meeting the `deals` target (1 without one). */
  rateScale: number;
  readonly tally: DealTally;
}

export function createContext(portal: Portal, opts: GenerateOptions): GenContext {
  const nContacts = Math.max(0, Math.floor(opts.contacts));
  const b2b = opts.profile === 'b2b';
  const nCompanies = nContacts === 0 ? 0 : Math.max(1, Math.floor(opts.companies ?? Math.round(nContacts * (b2b ? 0.12 : 0.04))));
  const seed = opts.seed >>> 0;
  const now = portal.clock.now();
  return {
    portal, opts, seed, b2b, b2bRng: new Rng(subSeed(seed, 12)), nContacts, now,
    start: now - (opts.years ?? 4) * YEAR,
    base: portal.baseCurrency,
    rng: new Rng(subSeed(seed, 1)),
    ...makeCalendar(portal.timeZone, now),
    ids: { multifield: 0, productRow: 0 },
    staff: { managerIds: [], managerW: [], exId: 0 },
    rateOf: new Map(),
    topLeaves: [],
    companies: {
      n: nCompanies, anchor: new Float64Array(nCompanies), ids: new Int32Array(nCompanies),
      start: new Int32Array(nCompanies + 1), members: new Int32Array(0),
    },
    contacts: {
      created: new Float64Array(nContacts), lambda: new Float64Array(nContacts), drop: new Float64Array(nContacts),
      spend: new Float64Array(nContacts), buyerU: new Float64Array(nContacts), alive: new Uint8Array(nContacts), fav: new Uint8Array(nContacts * 2),
      company: new Int32Array(nContacts).fill(-1), ru: new Uint8Array(nContacts), cur: new Uint8Array(nContacts),
      assigned: new Int32Array(nContacts), source: new Array<string>(nContacts), hasDeal: new Uint8Array(nContacts),
      firstId: 0,
    },
    events: new EventLog(),
    rateScale: 1,
    tally: {
      won: 0, lost: 0, open: 0, rows: 0, multi: 0, byCat: { '0': 0, '1': 0 }, byCur: {},
      wonPerContact: new Uint16Array(nContacts), companyDeals: 0, companyOnlyDeals: 0, dateFrom: Infinity, dateTo: -Infinity, leadsConverted: 0, leadsJunk: 0,
    },
  };
}
