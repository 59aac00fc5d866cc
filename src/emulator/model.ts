/**
 * Internal records of the emulated portal. Values are stored typed (numbers, booleans,
 * epoch milliseconds on the portal clock); the method layer serialises them into the
 * legacy string-typed shape (crm.contact.*, crm.deal.*) or the camelCase typed shape
 * (crm.item.*) the real portal answers with (https://apidocs.bitrix24.com/api-reference/crm/index.html).
 */

/** A multifield row (PHONE, EMAIL, WEB, IM), https://apidocs.bitrix24.com/api-reference/crm/contacts/index.html. */
export interface Multifield {
  id: number;
  typeId: 'PHONE' | 'EMAIL' | 'WEB' | 'IM' | 'LINK';
  valueType: string;
  value: string;
}

/** User-field values by FIELD_NAME. Enumerations hold item IDs; MULTIPLE fields hold arrays. */
export type UfValues = Record<string, unknown>;

/**
 * The deprecated address fields of contacts and companies besides the city (which is
 * `addressCity`): ADDRESS, ADDRESS_2, ADDRESS_POSTAL_CODE, ADDRESS_REGION, ADDRESS_PROVINCE,
 * ADDRESS_COUNTRY, ADDRESS_COUNTRY_CODE, ADDRESS_LOC_ADDR_ID (crm-contact-fields.md). Absent = all null.
 */
export interface AddressRec {
  address: string | null;
  address2: string | null;
  postalCode: string | null;
  region: string | null;
  province: string | null;
  country: string | null;
  countryCode: string | null;
  locAddrId: number | null;
}

/**
 * Standard fields the emulator only stores and returns (no behaviour attached), by UPPER name:
 * ORIGINATOR_ID, ORIGIN_ID, ADDITIONAL_INFO, IS_RECURRING, … Absent = empty.
 */
export type StoredFields = Record<string, string | number | boolean | null>;

/** UTM_SOURCE … UTM_TERM (crm-contact-fields.md, crm-deal-fields.md). Absent = all null. */
export interface UtmRec {
  source: string | null;
  medium: string | null;
  campaign: string | null;
  content: string | null;
  term: string | null;
}

export interface ContactRec {
  id: number;
  name: string;
  secondName: string | null;
  lastName: string;
  honorific: string | null;
  typeId: string | null;
  sourceId: string | null;
  sourceDescription: string | null;
  post: string | null;
  comments: string | null;
  birthdate: string | null; // YYYY-MM-DD
  addressCity: string | null;
  /** Further address fields; optional so records from older state files and the generator stay valid. */
  address?: Partial<AddressRec> | null;
  utm?: Partial<UtmRec> | null;
  /** Further standard fields kept as written (ORIGINATOR_ID, ...), by UPPER name; see StoredFields. */
  extra?: StoredFields | null;
  companyId: number | null;
  companyIds: number[];
  assignedById: number;
  createdById: number;
  modifyById: number;
  opened: boolean;
  export: boolean;
  dateCreate: number; // epoch ms, portal clock
  dateModify: number;
  fm: Multifield[];
  uf: UfValues;
}

export interface CompanyRec {
  id: number;
  title: string;
  companyType: string | null;
  industry: string | null;
  revenue: number | null;
  currencyId: string | null;
  sourceId: string | null;
  addressCity: string | null;
  address?: Partial<AddressRec> | null;
  utm?: Partial<UtmRec> | null;
  extra?: StoredFields | null;
  assignedById: number;
  createdById: number;
  modifyById: number;
  opened: boolean;
  dateCreate: number;
  dateModify: number;
  fm: Multifield[];
  uf: UfValues;
}

export interface DealRec {
  id: number;
  title: string;
  typeId: string | null;
  categoryId: number;
  stageId: string; // "WON", "C1:NEW", ...
  probability: number | null;
  currencyId: string;
  opportunity: number;
  isManualOpportunity: boolean;
  taxValue: number;
  companyId: number | null;
  /** Linked contacts in order; the first is primary (https://apidocs.bitrix24.com/api-reference/crm/deals/index.html). */
  contactIds: number[];
  beginDate: string; // YYYY-MM-DD
  closeDate: string; // YYYY-MM-DD
  opened: boolean;
  closed: boolean;
  comments: string | null;
  sourceId: string | null;
  sourceDescription: string | null;
  assignedById: number;
  createdById: number;
  modifyById: number;
  dateCreate: number;
  dateModify: number;
  /**
   * MOVED_BY_ID / MOVED_TIME: who moved the deal to its stage and when. Absent on generated
   * records: read as modifyById / dateModify, and frozen to those on the first REST update.
   */
  movedById?: number;
  movedTime?: number;
  utm?: Partial<UtmRec> | null;
  extra?: StoredFields | null;
  uf: UfValues;
}

/**
 * A lead (https://apidocs.bitrix24.com/api-reference/crm/leads/index.html, crm-lead-fields.md).
 * STATUS_ID is a status of ENTITY_ID STATUS (NEW, IN_PROCESS, PROCESSED, JUNK, CONVERTED, custom);
 * its semantics give STATUS_SEMANTIC_ID (CONVERTED: S, JUNK: F). A converted lead names the contact
 * (and company) it became in CONTACT_ID / COMPANY_ID; DATE_CLOSED is set when it left the work.
 */
export interface LeadRec {
  id: number;
  title: string;
  name: string | null;
  lastName: string | null;
  statusId: string;
  statusDescription: string | null;
  sourceId: string | null;
  sourceDescription: string | null;
  contactId: number | null;
  companyId: number | null;
  currencyId: string;
  opportunity: number;
  opened: boolean;
  comments: string | null;
  assignedById: number;
  createdById: number;
  modifyById: number;
  dateCreate: number;
  dateModify: number;
  /** epoch ms; null while the lead is in work */
  dateClosed: number | null;
  utm?: Partial<UtmRec> | null;
  fm: Multifield[];
  uf: UfValues;
}

export interface ProductRowRec {
  id: number;
  ownerType: string; // 'D' for deals
  ownerId: number;
  productId: number;
  productName: string;
  price: number;
  priceExclusive: number;
  priceNetto: number;
  priceBrutto: number;
  quantity: number;
  discountTypeId: number;
  discountRate: number;
  discountSum: number;
  taxRate: number | null;
  taxIncluded: boolean;
  customized: boolean;
  measureCode: number;
  measureName: string;
  sort: number;
  type: number; // 1 product, 4 offer, 7 service
}

export interface ProductRec {
  id: number;
  name: string;
  sectionId: number | null;
  catalogId: number;
  price: number;
  currencyId: string;
  active: boolean;
  sort: number;
  xmlId: string | null;
  dateCreate: number;
  timestampX: number;
}

export interface SectionRec {
  id: number;
  catalogId: number;
  name: string;
  sectionId: number | null; // parent
  xmlId: string | null;
  code: string | null;
}

export interface StatusRec {
  id: number;
  entityId: string; // DEAL_STAGE, DEAL_STAGE_1, SOURCE, CONTACT_TYPE, ...
  statusId: string;
  name: string;
  sort: number;
  system: boolean;
  categoryId: number | null;
  color: string | null;
  /** null = in progress, 'S' success, 'F' failure (https://apidocs.bitrix24.com/api-reference/crm/status/index.html). */
  semantics: 'S' | 'F' | null;
}

export interface CategoryRec {
  id: number; // 0 = default funnel
  entityTypeId: number;
  name: string;
  sort: number;
  isDefault: boolean;
}

export interface CurrencyRec {
  currency: string;
  amountCnt: number;
  amount: number; // rate to base; base has 1
  sort: number;
  base: boolean;
  fullName: string;
  dateUpdate: number;
}

/**
 * A CRM role's access level, as Bitrix24 stores it (CCrmPerms): '' none (BX_CRM_PERM_NONE),
 * 'A' own (the record's responsible is the user), 'D' own + own department(s), 'F' own +
 * department(s) + their subdepartments, 'O' all open (F plus every record with OPENED=Y),
 * 'X' all. See perms.ts.
 */
export type CrmPermLevel = '' | 'A' | 'D' | 'F' | 'O' | 'X';
export type CrmPermEntity = 'contact' | 'company' | 'deal' | 'lead';
/** Per-entity level of the user's CRM role (read; write/delete use the same level). */
export type CrmPerms = Partial<Record<CrmPermEntity, CrmPermLevel>>;

export interface UserRec {
  id: number;
  active: boolean;
  name: string;
  lastName: string;
  email: string;
  isAdmin: boolean;
  timeZone: string;
  departmentIds: number[];
  workPosition: string | null;
  personalGender: 'M' | 'F' | '';
  /** DATE_REGISTER (portal ms; rendered as the local date). Absent on hand-made users: "". */
  dateRegister?: number;
  /** LAST_LOGIN (portal ms); absent = DATE_REGISTER. */
  lastLogin?: number | null;
  /** LAST_ACTIVITY_DATE (portal ms); absent = LAST_LOGIN. */
  lastActivityDate?: number | null;
  /** PERSONAL_BIRTHDAY, YYYY-MM-DD; absent/null = "" (user-current.md). */
  personalBirthday?: string | null;
  /**
   * The user's CRM role levels. Absent (hand-made users, state files from before roles were
   * emulated) or an entity missing = 'X' (the emulator's old "everyone sees everything").
   * Portal administrators always see everything, whatever is set here.
   */
  crmPerms?: CrmPerms;
  /**
   * The user's trade catalog rights (catalog-product-list.md, "who can execute"): `view` = the
   * right to view the product catalog (without it catalog.product.list is 400 200040300010),
   * `iblockRead` = the right to read the catalog's information block (400 200040300030).
   * Absent or a key missing = granted. Portal administrators always have both.
   */
  catalogRights?: CatalogRights;
}

export interface CatalogRights {
  view?: boolean;
  iblockRead?: boolean;
}

/** A department of the company structure (the tree the 'D'/'F' levels walk). */
export interface DepartmentRec {
  id: number;
  name: string;
  /** Parent department; null for the root (the company). */
  parentId: number | null;
}

export type LangMap = Record<string, string>;

export interface UserFieldEnumItem {
  id: number;
  value: string;
  sort: number;
  def: boolean;
  xmlId: string;
}

export interface UserFieldRec {
  id: number;
  entityId: 'CRM_CONTACT' | 'CRM_COMPANY' | 'CRM_DEAL' | 'CRM_LEAD';
  fieldName: string; // UF_CRM_...
  userTypeId: string; // string, integer, double, boolean, date, datetime, enumeration, ...
  xmlId: string | null;
  sort: number;
  multiple: boolean;
  mandatory: boolean;
  showFilter: 'N' | 'I' | 'E' | 'S';
  showInList: boolean;
  editInList: boolean;
  isSearchable: boolean;
  settings: Record<string, unknown>;
  editFormLabel: LangMap;
  listColumnLabel: LangMap;
  listFilterLabel: LangMap;
  errorMessage: LangMap;
  helpMessage: LangMap;
  list: UserFieldEnumItem[]; // enumeration items; empty otherwise
  /** client_id of the app that created it (cleaned up on uninstall only for custom types). */
  createdByApp: string | null;
}

export interface PlacementBindingRec {
  id: number;
  clientId: string;
  placement: string;
  handler: string;
  title: string;
  description: string;
  groupName: string;
  langAll: Record<string, { TITLE?: string; DESCRIPTION?: string; GROUP_NAME?: string }>;
  options: Record<string, unknown>;
  userId: number; // 0 = all users
}

export interface EventBindingRec {
  id: number;
  clientId: string;
  event: string; // upper case
  handler: string; // '' for offline
  authType: number; // 0 = the acting user
  eventType: 'online' | 'offline';
  options: Record<string, unknown>;
}

export interface OfflineEventRec {
  id: number;
  clientId: string;
  timestampX: number;
  eventName: string;
  eventData: Record<string, unknown>;
  eventAdditional: Record<string, unknown>;
  messageId: string; // one record per object and event: the queue keeps only the latest
  processId: string | null;
  error: boolean;
}

export interface AppRec {
  clientId: string;
  clientSecret: string;
  code: string;
  version: number;
  /** App page URL (the DEFAULT placement). */
  appUrl: string;
  /** Installer URL (wizard in an iframe) or install callback URL. */
  installUrl: string | null;
  scopes: string[];
  status: 'F' | 'D' | 'T' | 'P' | 'L' | 'S';
  /** true once the app called installFinish (https://apidocs.bitrix24.com/settings/app-installation/mass-market-apps/index.html). */
  installed: boolean;
  /**
   * true after ONAPPUNINSTALL without `clean` (the record is kept so app.option survives a
   * reinstall); tokens are revoked and the app's API access is dead. Added by the HTTP face.
   */
  uninstalled?: boolean;
  applicationToken: string;
  paymentExpired: boolean;
  options: Record<string, unknown>;
  userOptions: Record<number, Record<string, unknown>>;
}

export interface TokenRec {
  accessToken: string;
  refreshToken: string;
  clientId: string;
  userId: number;
  /** Portal-clock epoch ms when the access token dies. */
  expiresAt: number;
  /** Portal-clock epoch ms when the refresh token dies (180 days, https://apidocs.bitrix24.com/settings/oauth/index.html). */
  refreshExpiresAt: number;
  /** false once the refresh token was used (rotation) or revoked. */
  refreshValid: boolean;
}

export interface WebhookRec {
  userId: number;
  secret: string;
  scopes: string[];
}

/** Side effects recorded so tests can see them. */
export interface WorkflowStartRec {
  id: string;
  templateId: number;
  documentId: [string, string, string];
  parameters: Record<string, unknown>;
  startedBy: number;
  at: number;
}
export interface TimelineCommentRec {
  id: number;
  entityType: string;
  entityId: number;
  comment: string;
  authorId: number;
  at: number;
}
export interface TodoRec {
  id: number;
  ownerTypeId: number;
  ownerId: number;
  deadline: string;
  title: string;
  description: string;
  responsibleId: number;
  at: number;
}
export interface BizprocTemplateRec {
  id: number;
  moduleId: string;
  entity: string; // CCrmDocumentContact
  documentType: [string, string, string];
  name: string;
  autoExecute: number;
}

/**
 * The living portal (src/emulator/live/): the hidden purchase model of one customer (a contact the
 * generator left still buying at the end of its history), kept so portal time can go on.
 * Saved in state files like every other table.
 */
export interface LiveCustomerRec {
  contactId: number;
  /** The contact's company (generated link), null for none. */
  companyId: number | null;
  /** Base purchase rate, purchases (deals begun) per year, the generator's rate scale applied. */
  lambda: number;
  /** Portal ms when the customer stops buying (drawn once: Exp with rate p·λ, p the dropout per purchase). */
  deathAt: number;
  /** Mean order value, base currency (gamma-gamma ν). */
  spend: number;
  /** Deal currency the customer buys in. */
  currency: string;
  /** Share of the customer's deals in the wholesale funnel (category 1). */
  wholesaleP: number;
  /** Share of deals tied to the company (when there is one); of those, the share with no contact (B2B). */
  companyDealP: number;
  companyOnlyP: number;
  /** Favourite top-level catalog sections (IDs), most liked first. */
  favTops: number[];
  assignedById: number;
  /** Purchases begun by the live process so far (each draws from its own seeded stream). */
  n: number;
  /** Remaining unit-exponential mass before the next purchase, and the portal ms it refers to. */
  budget: number;
  at: number;
  /** Uplift intervals [from, until) in portal ms, flat pairs (workflow starts on this customer). */
  boosts: number[];
}

/** A stage move the live process has scheduled for one of its deals. */
export interface LiveMoveRec {
  at: number;
  dealId: number;
  stageId: string;
  /** Loss reason values for a lost deal's user fields. */
  uf: Record<string, unknown>;
  /** Whether the deal is closed by this move (WON / LOSE). */
  close: boolean;
}
