/** What `generatePortal` accepts and what it reports back. */
import type { CrmPermLevel } from '../model.js';
import type { QualityPlan, QualityPlanted } from './quality.js';

export interface GenerateOptions {
  /** Number of contacts (0 … a few million). */
  contacts: number;
  seed: number;
  /** Target total deal count (won + lost + open); hit within a few percent when reachable. */
  deals?: number;
  /** Number of companies (default ≈ 4% of contacts, 12% with the B2B profile; at least 1 when there are contacts). */
  companies?: number;
  /**
   * 'shop' (default): a shop with some company customers. 'b2b': a B2B seller: 70% of contacts work
   * for a company (several contacts per company), every deal of such a contact is tied to its
   * company (COMPANY_ID) and 15% of those are tied to the company only (no contact); companies
   * carry an industry (INDUSTRY), a size (EMPLOYEES) and an annual revenue (REVENUE). The shop
   * profile's tables are unchanged by this option (B2B draws come from their own stream).
   */
  profile?: 'shop' | 'b2b';
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
  /**
   * Where lost deals keep their reason, as real portals do it:
   *  'field'  (default) the string deal field UF_CRM_LOSS_REASON, in the system lost stages;
   *  'enum'   the enumeration deal field UF_CRM_LOST_WHY (an item per reason), in the system lost stages;
   *  'stages' no field: custom lost stages per funnel ("Lost: price", "Lost: competitor", …).
   * The random draws are the same for all three: only where the reason is put differs.
   */
  refusals?: 'field' | 'enum' | 'stages';
  /**
   * Keep the hidden purchase model of the customers still buying (portal.liveCustomers) so the
   * living portal (src/emulator/live/) can continue the process on the portal clock (default false).
   */
  live?: boolean;
  /** Leads (default true): a converted lead for most contacts, and junk / open leads without a contact. */
  leads?: boolean;
  /**
   * Data-quality problems to plant, with known counts (generator/quality.ts): won deals with a zero
   * amount, won deals without contact or company, won deals in a currency without a rate, pairs of
   * contacts sharing an e-mail or phone. Default none (the tables stay as before); the demo plants a few.
   */
  quality?: QualityPlan;
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
  /** 'shop' or 'b2b' (GenerateOptions.profile). */
  profile: 'shop' | 'b2b';
  /** Deals tied to a company, and of those tied to the company only (no contact). */
  companyDeals: number;
  companyOnlyDeals: number;
  /** The deal user field holding the loss reason of lost deals (null: kept as lost stages). */
  lossReasonField: string | null;
  /** Leads: all, converted (semantic S, with a contact), junk (F). */
  leads: { total: number; converted: number; junk: number };
  catalogId: number;
  /** How many of each data-quality problem were planted (GenerateOptions.quality). */
  quality: QualityPlanted;
  ms: number;
}
