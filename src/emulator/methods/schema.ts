/**
 * Field schemas of the CRM entities (contact, company, deal) in both naming schemes:
 * legacy UPPER_CASE (crm.contact.*, crm.deal.*; values as strings, https://apidocs.bitrix24.com/api-reference/crm/contacts/index.html/https://apidocs.bitrix24.com/api-reference/crm/deals/index.html) and
 * crm.item camelCase (typed values, https://apidocs.bitrix24.com/api-reference/crm/universal/index.html). One schema drives filtering (query.ts),
 * selection, serialisation, `*.fields` descriptions and writes.
 */
import type { AddressRec, CompanyRec, ContactRec, DealRec, LeadRec, Multifield, StoredFields, UserFieldRec, UtmRec } from '../model.js';
import type { Portal } from '../portal.js';
import { RestError } from '../types.js';
import type { QField, Resolver } from '../query.js';
import {
  camelToUpper, itemValue, legacyValue, parseDateInput, parseDateOnly, ufCamel, type FType, type V,
} from '../serialize.js';

export type EntityKind = 'contact' | 'company' | 'deal' | 'lead';

export interface FDef<R> {
  up: string;
  camel: string;
  type: FType;
  title: string;
  get: (r: R, p: Portal) => V;
  /** Writes a parsed value; absent = read-only. */
  set?: (r: R, v: V) => void;
  multiple?: boolean;
  immutable?: boolean;
  required?: boolean;
  statusType?: string;
  /** Shown by legacy methods (default true). */
  legacy?: boolean;
  /** Shown by crm.item (default true). */
  item?: boolean;
  /** Legacy multifield (PHONE, EMAIL, ...): only when selected by name. */
  fmType?: Multifield['typeId'];
  /** User field record, for UF_ fields. */
  uf?: UserFieldRec;
  /** `type` shown by `*.fields` when it is more specific than the value type (crm_company, file, ...). */
  descType?: string;
  /** `isReadOnly` shown by `*.fields` when it differs from "has no setter" (the docs' field lists). */
  descReadOnly?: boolean;
  /** Returned by get/list but not listed by `*.fields` (FACE_ID: crm-contact-get.md, not crm-contact-fields.md). */
  undescribed?: boolean;
}

const FM_TYPES: Multifield['typeId'][] = ['PHONE', 'EMAIL', 'WEB', 'IM', 'LINK'];

// ---------------------------------------------------------------------------
// Stage semantics

const semCache = new WeakMap<Portal, { n: number; map: Map<string, 'S' | 'F' | null> }>();

function semanticsMap(p: Portal): Map<string, 'S' | 'F' | null> {
  let c = semCache.get(p);
  if (!c || c.n !== p.statuses.length) {
    const map = new Map<string, 'S' | 'F' | null>();
    for (const s of p.statuses) if (s.entityId.startsWith('DEAL_STAGE')) map.set(s.statusId, s.semantics);
    c = { n: p.statuses.length, map };
    semCache.set(p, c);
  }
  return c.map;
}

/** `P`, `S` or `F` for a deal stage (https://apidocs.bitrix24.com/api-reference/crm/deals/index.html STAGE_SEMANTIC_ID). */
export function stageSemantic(p: Portal, stageId: string): 'P' | 'S' | 'F' {
  return semanticsMap(p).get(stageId) ?? 'P';
}

/** ENTITY_ID of the stage list of a funnel: DEAL_STAGE or DEAL_STAGE_<n>. */
export function stageEntity(categoryId: number): string {
  return categoryId === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${categoryId}`;
}

export function stagesOf(p: Portal, categoryId: number): string[] {
  const ent = stageEntity(categoryId);
  return p.statuses.filter((s) => s.entityId === ent).sort((a, b) => a.sort - b.sort).map((s) => s.statusId);
}

// ---------------------------------------------------------------------------
// Field helpers

type Rec = { [k: string]: unknown };

function f<R>(up: string, camel: string, type: FType, title: string, key: keyof R | null, extra: Partial<FDef<R>> = {}): FDef<R> {
  const d: FDef<R> = {
    up, camel, type, title,
    get: key === null ? () => null : (r) => ((r as Rec)[key as string] ?? null) as V,
    ...extra,
  };
  if (key !== null && !('set' in extra) && !extra.immutable) {
    d.set = (r, v) => { (r as Rec)[key as string] = v; };
  }
  return d;
}
const ro = { set: undefined };

function fmFields<R extends { fm: Multifield[] }>(): FDef<R>[] {
  return FM_TYPES.map((t) => ({
    up: t, camel: t.toLowerCase(), type: 'string' as FType, title: t, multiple: true, fmType: t, item: false,
    get: (r: R) => r.fm.filter((m) => m.typeId === t).map((m) => m.value),
  }));
}

const hasFm = (t: Multifield['typeId']) => (r: { fm: Multifield[] }) => r.fm.some((m) => m.typeId === t);

type WithAddress = { addressCity: string | null; address?: Partial<AddressRec> | null };

/**
 * The deprecated address fields, in the order of crm-contact-fields.md / crm-company-fields.md.
 * Legacy only: crm.item lists `address` as disabled (api-reference/crm/universal/object-fields.md).
 */
function addressFields<R extends WithAddress>(): FDef<R>[] {
  const part = (up: string, key: keyof AddressRec, type: FType, title: string): FDef<R> => ({
    up, camel: `address${up.slice(7)}`, type, title, item: false,
    get: (r) => (r.address?.[key] ?? null) as V,
    set: (r, v) => { r.address = { ...r.address, [key]: v }; },
  });
  return [
    part('ADDRESS', 'address', 'string', 'Address'),
    part('ADDRESS_2', 'address2', 'string', 'Address (line 2)'),
    f<R>('ADDRESS_CITY', 'addressCity', 'string', 'City', 'addressCity', { item: false }),
    part('ADDRESS_POSTAL_CODE', 'postalCode', 'string', 'Zip'),
    part('ADDRESS_REGION', 'region', 'string', 'Region'),
    part('ADDRESS_PROVINCE', 'province', 'string', 'State / Province'),
    part('ADDRESS_COUNTRY', 'country', 'string', 'Country'),
    part('ADDRESS_COUNTRY_CODE', 'countryCode', 'string', 'Country code'),
    part('ADDRESS_LOC_ADDR_ID', 'locAddrId', 'int', 'Location address ID'),
  ];
}

/** UTM_SOURCE … UTM_TERM (legacy) / utmSource … utmTerm (crm.item common fields, object-fields.md). */
function utmFields<R extends { utm?: Partial<UtmRec> | null }>(): FDef<R>[] {
  const keys: Array<[keyof UtmRec, string]> = [
    ['source', 'Ad system'], ['medium', 'Traffic type'], ['campaign', 'Ad campaign UTM'], ['content', 'Campaign contents'], ['term', 'Campaign search term'],
  ];
  return keys.map(([k, title]) => ({
    up: `UTM_${k.toUpperCase()}`, camel: `utm${k.charAt(0).toUpperCase()}${k.slice(1)}`, type: 'string' as FType, title,
    get: (r: R) => (r.utm?.[k] ?? null) as V,
    set: (r: R, v: V) => { r.utm = { ...r.utm, [k]: v as string | null }; },
  }));
}

/**
 * crm.item-only contact fields derived from the multifields (object-fields.md, contact; the lead
 * example of crm-item-get.md shows `""` when there is no value of that kind): phone / email (the
 * first of any kind), phoneMobile … emailMailing (the first of that VALUE_TYPE), imol; plus
 * categoryId (0: the default contact category) and shortName (null, as in that example).
 */
function contactItemExtras(): FDef<ContactRec>[] {
  const first = (type: Multifield['typeId'], valueType?: string) => (r: ContactRec): V =>
    r.fm.find((m) => m.typeId === type && (valueType === undefined || m.valueType === valueType))?.value ?? '';
  const ex = (camel: string, title: string, get: (r: ContactRec) => V, type: FType = 'string'): FDef<ContactRec> => ({
    up: camelToUpper(camel), camel, type, title, legacy: false, get,
  });
  return [
    ex('categoryId', 'Category', () => 0, 'int'),
    ex('shortName', 'Short name', () => null),
    ex('phoneMobile', 'Mobile phone', first('PHONE', 'MOBILE')),
    ex('phoneWork', 'Work phone', first('PHONE', 'WORK')),
    ex('phoneMailing', 'Phone for mailing', first('PHONE', 'MAILING')),
    ex('emailHome', 'Personal e-mail', first('EMAIL', 'HOME')),
    ex('emailWork', 'Work e-mail', first('EMAIL', 'WORK')),
    ex('emailMailing', 'E-mail for mailing', first('EMAIL', 'MAILING')),
    ex('imol', 'Open Channel', first('IM', 'IMOL')),
    ex('email', 'E-mail', first('EMAIL')),
    ex('phone', 'Phone', first('PHONE')),
  ];
}

/** A standard field kept as written (model.ts StoredFields): ORIGINATOR_ID, ADDITIONAL_INFO, IS_RECURRING, ... */
function stored<R extends { extra?: StoredFields | null }>(up: string, camel: string, type: FType, title: string, extra: Partial<FDef<R>> = {}): FDef<R> {
  return {
    up, camel, type, title,
    get: (r) => (r.extra?.[up] ?? (type === 'char' ? false : null)) as V,
    set: (r, v) => { r.extra = { ...r.extra, [up]: v as string | number | boolean | null }; },
    ...extra,
  };
}

/** A read-only field that is always empty here (e.g. FACE_ID, ORIGIN_VERSION). */
function empty<R>(up: string, camel: string, type: FType, title: string, extra: Partial<FDef<R>> = {}): FDef<R> {
  return f<R>(up, camel, type, title, null, { ...ro, ...extra });
}

const contactFields: FDef<ContactRec>[] = [
  f('ID', 'id', 'id', 'ID', 'id', ro),
  f('HONORIFIC', 'honorific', 'status', 'Salutation', 'honorific', { statusType: 'HONORIFIC' }),
  // crm-contact-fields.md marks NAME, SECOND_NAME and LAST_NAME isRequired (one of them must be filled)
  f('NAME', 'name', 'string', 'Name', 'name', { required: true }),
  f('SECOND_NAME', 'secondName', 'string', 'Second name', 'secondName', { required: true }),
  f('LAST_NAME', 'lastName', 'string', 'Last name', 'lastName', { required: true }),
  f('PHOTO', 'photo', 'int', 'Photo', null, { ...ro, descType: 'file', descReadOnly: false }), // files are not emulated
  f('BIRTHDATE', 'birthdate', 'date', 'Date of birth', 'birthdate'),
  f('TYPE_ID', 'typeId', 'status', 'Contact type', 'typeId', { statusType: 'CONTACT_TYPE' }),
  f('SOURCE_ID', 'sourceId', 'status', 'Source', 'sourceId', { statusType: 'SOURCE' }),
  f('SOURCE_DESCRIPTION', 'sourceDescription', 'string', 'Source information', 'sourceDescription'),
  f('POST', 'post', 'string', 'Position', 'post'),
  ...addressFields<ContactRec>(),
  f('COMMENTS', 'comments', 'string', 'Comment', 'comments'),
  f('OPENED', 'opened', 'char', 'Available to everyone', 'opened'),
  f('EXPORT', 'export', 'char', 'Included in export', 'export'),
  { up: 'HAS_PHONE', camel: 'hasPhone', type: 'char', title: 'Has phone', get: hasFm('PHONE') },
  { up: 'HAS_EMAIL', camel: 'hasEmail', type: 'char', title: 'Has e-mail', get: hasFm('EMAIL') },
  { up: 'HAS_IMOL', camel: 'hasImol', type: 'char', title: 'Has Open Channel', get: () => false },
  f('ASSIGNED_BY_ID', 'assignedById', 'user', 'Responsible person', 'assignedById'),
  f('CREATED_BY_ID', 'createdBy', 'user', 'Created by', 'createdById', ro),
  f('MODIFY_BY_ID', 'updatedBy', 'user', 'Modified by', 'modifyById', ro),
  f('DATE_CREATE', 'createdTime', 'datetime', 'Created on', 'dateCreate', ro),
  f('DATE_MODIFY', 'updatedTime', 'datetime', 'Modified on', 'dateModify', ro),
  f('COMPANY_ID', 'companyId', 'ref', 'Company', 'companyId', {
    descType: 'crm_company',
    set: (r, v) => {
      r.companyId = (v as number | null) ?? null;
      if (r.companyId !== null && !r.companyIds.includes(r.companyId)) r.companyIds = [r.companyId, ...r.companyIds];
    },
  }),
  f('COMPANY_IDS', 'companyIds', 'ref', 'Companies', 'companyIds', {
    multiple: true, legacy: false, descType: 'crm_company',
    set: (r, v) => { r.companyIds = (v as number[]).filter((x) => x !== null); r.companyId = r.companyIds[0] ?? null; },
  }),
  f('LEAD_ID', 'leadId', 'ref', 'Lead', null, { ...ro, descType: 'crm_lead' }),
  stored('ORIGINATOR_ID', 'originatorId', 'string', 'External source'),
  stored('ORIGIN_ID', 'originId', 'string', 'Item ID in data source'),
  stored('ORIGIN_VERSION', 'originVersion', 'string', 'Original version'),
  empty('FACE_ID', 'faceId', 'int', 'Face ID', { item: false, undescribed: true }),
  ...utmFields<ContactRec>(),
  f('LAST_ACTIVITY_TIME', 'lastActivityTime', 'datetime', 'Last activity', 'dateModify', ro),
  f('LAST_ACTIVITY_BY', 'lastActivityBy', 'user', 'Last activity by', 'modifyById', ro),
  ...contactItemExtras(),
  ...fmFields<ContactRec>(),
];

const companyFields: FDef<CompanyRec>[] = [
  f('ID', 'id', 'id', 'ID', 'id', ro),
  f('TITLE', 'title', 'string', 'Company name', 'title', { required: true }),
  f('COMPANY_TYPE', 'companyType', 'status', 'Company type', 'companyType', { statusType: 'COMPANY_TYPE' }),
  f('INDUSTRY', 'industry', 'status', 'Industry', 'industry', { statusType: 'INDUSTRY' }),
  empty('LOGO', 'logo', 'int', 'Logo', { descType: 'file', descReadOnly: false }), // files are not emulated
  ...addressFields<CompanyRec>(),
  stored('ADDRESS_LEGAL', 'addressLegal', 'string', 'Legal address', { item: false }),
  ...['', '_2', '_CITY', '_POSTAL_CODE', '_REGION', '_PROVINCE', '_COUNTRY', '_COUNTRY_CODE', '_LOC_ADDR_ID'].map((s) =>
    stored<CompanyRec>(`REG_ADDRESS${s}`, `regAddress${s}`, s === '_LOC_ADDR_ID' ? 'int' : 'string', 'Legal address', { item: false })),
  stored('BANKING_DETAILS', 'bankingDetails', 'string', 'Payment details', { item: false }),
  stored('EMPLOYEES', 'employees', 'status', 'Employees', { statusType: 'EMPLOYEES' }),
  // crm-company-fields.md: REVENUE is a double (the example shows "REVENUE": "0", not "0.00")
  f('REVENUE', 'revenue', 'double', 'Annual revenue', 'revenue'),
  f('CURRENCY_ID', 'currencyId', 'currency', 'Currency', 'currencyId'),
  // companies have no SOURCE_ID in crm-company-fields.md: kept on the record, not served
  f('SOURCE_ID', 'sourceId', 'status', 'Source', 'sourceId', { statusType: 'SOURCE', legacy: false, item: false }),
  f('OPENED', 'opened', 'char', 'Available to everyone', 'opened'),
  stored('COMMENTS', 'comments', 'string', 'Comment'),
  { up: 'HAS_PHONE', camel: 'hasPhone', type: 'char', title: 'Has phone', get: hasFm('PHONE') },
  { up: 'HAS_EMAIL', camel: 'hasEmail', type: 'char', title: 'Has e-mail', get: hasFm('EMAIL') },
  { up: 'HAS_IMOL', camel: 'hasImol', type: 'char', title: 'Has Open Channel', get: () => false },
  stored('IS_MY_COMPANY', 'isMyCompany', 'char', 'My company'),
  f('ASSIGNED_BY_ID', 'assignedById', 'user', 'Responsible person', 'assignedById'),
  f('CREATED_BY_ID', 'createdBy', 'user', 'Created by', 'createdById', ro),
  f('MODIFY_BY_ID', 'updatedBy', 'user', 'Modified by', 'modifyById', ro),
  f('DATE_CREATE', 'createdTime', 'datetime', 'Created on', 'dateCreate', ro),
  f('DATE_MODIFY', 'updatedTime', 'datetime', 'Modified on', 'dateModify', ro),
  empty('LEAD_ID', 'leadId', 'ref', 'Lead', { descType: 'crm_lead' }),
  stored('ORIGINATOR_ID', 'originatorId', 'string', 'External source'),
  stored('ORIGIN_ID', 'originId', 'string', 'Item ID in data source'),
  stored('ORIGIN_VERSION', 'originVersion', 'string', 'Original version'),
  ...utmFields<CompanyRec>(),
  // crm-company-fields.md lists these two as writable (for contacts and deals they are read-only)
  f('LAST_ACTIVITY_TIME', 'lastActivityTime', 'datetime', 'Last activity', 'dateModify', { ...ro, descReadOnly: false }),
  f('LAST_ACTIVITY_BY', 'lastActivityBy', 'user', 'Last activity by', 'modifyById', { ...ro, descReadOnly: false }),
  empty('LAST_COMMUNICATION_TIME', 'lastCommunicationTime', 'string', 'Last communication', { item: false }),
  ...fmFields<CompanyRec>(),
];

const dealFields: FDef<DealRec>[] = [
  f('ID', 'id', 'id', 'ID', 'id', ro),
  f('TITLE', 'title', 'string', 'Name', 'title'),
  f('TYPE_ID', 'typeId', 'status', 'Type', 'typeId', { statusType: 'DEAL_TYPE' }),
  f('CATEGORY_ID', 'categoryId', 'int', 'Pipeline', 'categoryId', { immutable: true, descType: 'crm_category', descReadOnly: false }),
  f('STAGE_ID', 'stageId', 'status', 'Deal stage', 'stageId', { statusType: 'DEAL_STAGE' }),
  { up: 'STAGE_SEMANTIC_ID', camel: 'stageSemanticId', type: 'string', title: 'Stage group', get: (r, p) => stageSemantic(p, r.stageId) },
  { up: 'IS_NEW', camel: 'isNew', type: 'char', title: 'New deal', get: (r) => r.stageId === 'NEW' || r.stageId.endsWith(':NEW') },
  stored('IS_RECURRING', 'isRecurring', 'char', 'Recurring deal'),
  stored('IS_RETURN_CUSTOMER', 'isReturnCustomer', 'char', 'Repeat deal'),
  stored('IS_REPEATED_APPROACH', 'isRepeatedApproach', 'char', 'Repeat inquiry'),
  f('PROBABILITY', 'probability', 'int', 'Probability', 'probability'),
  f('CURRENCY_ID', 'currencyId', 'currency', 'Currency', 'currencyId'),
  f('OPPORTUNITY', 'opportunity', 'money', 'Amount', 'opportunity'),
  f('IS_MANUAL_OPPORTUNITY', 'isManualOpportunity', 'char', 'Manual amount', 'isManualOpportunity'),
  f('TAX_VALUE', 'taxValue', 'money', 'Tax rate', 'taxValue'),
  f('COMPANY_ID', 'companyId', 'ref', 'Company', 'companyId', { descType: 'crm_company' }),
  {
    up: 'CONTACT_ID', camel: 'contactId', type: 'ref', title: 'Contact', descType: 'crm_contact', get: (r) => r.contactIds[0] ?? null,
    set: (r, v) => { r.contactIds = v === null ? [] : [v as number, ...r.contactIds.filter((x) => x !== v)]; },
  },
  {
    up: 'CONTACT_IDS', camel: 'contactIds', type: 'ref', title: 'Contacts', multiple: true, legacy: false, descType: 'crm_contact',
    get: (r) => r.contactIds, set: (r, v) => { r.contactIds = [...new Set((v as (number | null)[]).filter((x): x is number => x !== null))]; },
  },
  f('QUOTE_ID', 'quoteId', 'ref', 'Quote', null, { ...ro, descType: 'crm_quote' }),
  f('LEAD_ID', 'leadId', 'ref', 'Lead', null, { ...ro, descType: 'crm_lead' }),
  f('BEGINDATE', 'begindate', 'date', 'Start date', 'beginDate'),
  f('CLOSEDATE', 'closedate', 'date', 'Estimated close date', 'closeDate'),
  f('OPENED', 'opened', 'char', 'Available to everyone', 'opened'),
  f('CLOSED', 'closed', 'char', 'Closed', 'closed'),
  f('COMMENTS', 'comments', 'string', 'Comment', 'comments'),
  stored('ADDITIONAL_INFO', 'additionalInfo', 'string', 'Additional information'),
  stored('LOCATION_ID', 'locationId', 'string', 'Location', { descType: 'location' }),
  f('ASSIGNED_BY_ID', 'assignedById', 'user', 'Responsible person', 'assignedById'),
  f('CREATED_BY_ID', 'createdBy', 'user', 'Created by', 'createdById', ro),
  f('MODIFY_BY_ID', 'updatedBy', 'user', 'Modified by', 'modifyById', ro),
  { up: 'MOVED_BY_ID', camel: 'movedBy', type: 'user', title: 'Stage changed by', get: (r) => r.movedById ?? r.modifyById },
  f('DATE_CREATE', 'createdTime', 'datetime', 'Created on', 'dateCreate', ro),
  f('DATE_MODIFY', 'updatedTime', 'datetime', 'Modified on', 'dateModify', ro),
  { up: 'MOVED_TIME', camel: 'movedTime', type: 'datetime', title: 'Stage changed on', get: (r) => r.movedTime ?? r.dateModify },
  f('SOURCE_ID', 'sourceId', 'status', 'Source', 'sourceId', { statusType: 'SOURCE' }),
  f('SOURCE_DESCRIPTION', 'sourceDescription', 'string', 'Source information', 'sourceDescription'),
  stored('ORIGINATOR_ID', 'originatorId', 'string', 'External source'),
  stored('ORIGIN_ID', 'originId', 'string', 'Item ID in data source'),
  ...utmFields<DealRec>(),
  f('LAST_ACTIVITY_TIME', 'lastActivityTime', 'datetime', 'Last activity', 'dateModify', ro),
  f('LAST_ACTIVITY_BY', 'lastActivityBy', 'user', 'Last activity by', 'modifyById', ro),
];

// ---------------------------------------------------------------------------
// Leads (crm-lead-fields.md; crm-lead-list.md's example answer)

const leadSemCache = new WeakMap<Portal, { n: number; map: Map<string, 'S' | 'F' | null> }>();

/** `P`, `S` or `F` for a lead status (ENTITY_ID STATUS: CONVERTED is S, JUNK is F). */
export function leadSemantic(p: Portal, statusId: string): 'P' | 'S' | 'F' {
  let c = leadSemCache.get(p);
  if (!c || c.n !== p.statuses.length) {
    const map = new Map<string, 'S' | 'F' | null>();
    for (const s of p.statuses) if (s.entityId === 'STATUS') map.set(s.statusId, s.semantics);
    c = { n: p.statuses.length, map };
    leadSemCache.set(p, c);
  }
  return c.map.get(statusId) ?? 'P';
}

/** A link a lead answers with "0" when empty (crm-lead-list.md: "COMPANY_ID": "0"). */
const zeroRef = (key: 'companyId' | 'contactId') => (r: LeadRec): V => r[key] ?? 0;

const leadFields: FDef<LeadRec>[] = [
  f('ID', 'id', 'id', 'ID', 'id', ro),
  f('TITLE', 'title', 'string', 'Lead name', 'title'),
  f('HONORIFIC', 'honorific', 'status', 'Salutation', null, { ...ro, statusType: 'HONORIFIC', descReadOnly: false }),
  f('NAME', 'name', 'string', 'Name', 'name'),
  empty('SECOND_NAME', 'secondName', 'string', 'Second name', { descReadOnly: false }),
  f('LAST_NAME', 'lastName', 'string', 'Last name', 'lastName'),
  empty('COMPANY_TITLE', 'companyTitle', 'string', 'Company name', { descReadOnly: false }),
  { up: 'COMPANY_ID', camel: 'companyId', type: 'ref', title: 'Company', descType: 'crm_company', get: zeroRef('companyId'),
    set: (r, v) => { r.companyId = (v as number | null) || null; } },
  { up: 'CONTACT_ID', camel: 'contactId', type: 'ref', title: 'Contact', descType: 'crm_contact', get: zeroRef('contactId'),
    set: (r, v) => { r.contactId = (v as number | null) || null; } },
  { up: 'IS_RETURN_CUSTOMER', camel: 'isReturnCustomer', type: 'char', title: 'Repeat lead', get: (r) => r.contactId !== null && r.dateClosed === null },
  empty('BIRTHDATE', 'birthdate', 'date', 'Date of birth', { descReadOnly: false }),
  f('SOURCE_ID', 'sourceId', 'status', 'Source', 'sourceId', { statusType: 'SOURCE' }),
  f('SOURCE_DESCRIPTION', 'sourceDescription', 'string', 'Source information', 'sourceDescription'),
  f('STATUS_ID', 'statusId', 'status', 'Status', 'statusId', { statusType: 'STATUS' }),
  f('STATUS_DESCRIPTION', 'statusDescription', 'string', 'Status information', 'statusDescription'),
  empty('POST', 'post', 'string', 'Position', { descReadOnly: false }),
  f('COMMENTS', 'comments', 'string', 'Comment', 'comments'),
  f('CURRENCY_ID', 'currencyId', 'currency', 'Currency', 'currencyId'),
  f('OPPORTUNITY', 'opportunity', 'money', 'Amount', 'opportunity'),
  { up: 'IS_MANUAL_OPPORTUNITY', camel: 'isManualOpportunity', type: 'char', title: 'Manual amount', get: () => true },
  { up: 'HAS_PHONE', camel: 'hasPhone', type: 'char', title: 'Has phone', get: hasFm('PHONE') },
  { up: 'HAS_EMAIL', camel: 'hasEmail', type: 'char', title: 'Has e-mail', get: hasFm('EMAIL') },
  { up: 'HAS_IMOL', camel: 'hasImol', type: 'char', title: 'Has Open Channel', get: () => false },
  f('ASSIGNED_BY_ID', 'assignedById', 'user', 'Responsible person', 'assignedById'),
  f('CREATED_BY_ID', 'createdBy', 'user', 'Created by', 'createdById', ro),
  f('MODIFY_BY_ID', 'updatedBy', 'user', 'Modified by', 'modifyById', ro),
  f('DATE_CREATE', 'createdTime', 'datetime', 'Created on', 'dateCreate', ro),
  f('DATE_MODIFY', 'updatedTime', 'datetime', 'Modified on', 'dateModify', ro),
  f('DATE_CLOSED', 'dateClosed', 'datetime', 'Closed on', 'dateClosed', ro),
  { up: 'STATUS_SEMANTIC_ID', camel: 'statusSemanticId', type: 'string', title: 'Status group', get: (r, p) => leadSemantic(p, r.statusId) },
  f('OPENED', 'opened', 'char', 'Available to everyone', 'opened'),
  { up: 'MOVED_BY_ID', camel: 'movedBy', type: 'user', title: 'Status changed by', get: (r) => r.modifyById },
  { up: 'MOVED_TIME', camel: 'movedTime', type: 'datetime', title: 'Status changed on', get: (r) => r.dateClosed ?? r.dateModify },
  ...utmFields<LeadRec>(),
  f('LAST_ACTIVITY_TIME', 'lastActivityTime', 'datetime', 'Last activity', 'dateModify', ro),
  f('LAST_ACTIVITY_BY', 'lastActivityBy', 'user', 'Last activity by', 'modifyById', ro),
  ...fmFields<LeadRec>(),
];

const BASE: { contact: FDef<ContactRec>[]; company: FDef<CompanyRec>[]; deal: FDef<DealRec>[]; lead: FDef<LeadRec>[] } = {
  contact: contactFields, company: companyFields, deal: dealFields, lead: leadFields,
};

export const UF_ENTITY: Record<EntityKind, UserFieldRec['entityId']> = {
  contact: 'CRM_CONTACT', company: 'CRM_COMPANY', deal: 'CRM_DEAL', lead: 'CRM_LEAD',
};
export const ENTITY_TYPE_ID: Record<EntityKind, number> = { lead: 1, deal: 2, contact: 3, company: 4 };

export function ufType(u: UserFieldRec): FType {
  switch (u.userTypeId) {
    case 'integer':
    case 'employee':
    case 'iblock_section':
    case 'iblock_element':
      return 'int';
    case 'double':
      return 'double';
    case 'boolean':
      return 'bool';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    case 'enumeration':
      return 'enum';
    default:
      return 'string';
  }
}

export function userFieldsOf(p: Portal, kind: EntityKind): UserFieldRec[] {
  const ent = UF_ENTITY[kind];
  return [...p.userFields.values()].filter((u) => u.entityId === ent).sort((a, b) => a.sort - b.sort || a.id - b.id);
}

function ufDef<R extends { uf: Record<string, unknown> }>(u: UserFieldRec, lang: string): FDef<R> {
  const name = u.fieldName;
  return {
    up: name, camel: ufCamel(name), type: ufType(u), multiple: u.multiple, uf: u, required: u.mandatory,
    title: u.editFormLabel[lang] ?? u.listColumnLabel[lang] ?? name,
    get: (r) => {
      const v = r.uf[name];
      if (u.multiple) return Array.isArray(v) ? (v as V[]) : v === undefined || v === null ? [] : [v as V];
      return (v ?? null) as V;
    },
    set: (r, v) => { r.uf[name] = v; },
  };
}

/** The full field list of an entity: system fields, then user fields. */
export function fieldsOf(p: Portal, kind: 'contact'): FDef<ContactRec>[];
export function fieldsOf(p: Portal, kind: 'company'): FDef<CompanyRec>[];
export function fieldsOf(p: Portal, kind: 'deal'): FDef<DealRec>[];
export function fieldsOf(p: Portal, kind: 'lead'): FDef<LeadRec>[];
export function fieldsOf(p: Portal, kind: EntityKind): FDef<ContactRec>[] | FDef<CompanyRec>[] | FDef<DealRec>[] | FDef<LeadRec>[];
export function fieldsOf(p: Portal, kind: EntityKind): FDef<never>[] {
  const base = BASE[kind] as FDef<never>[];
  const ufs = userFieldsOf(p, kind).map((u) => ufDef<never>(u, p.language));
  return [...base, ...ufs];
}

export type Mode = 'legacy' | 'item';

/** Resolves a field name: legacy takes UPPER names; crm.item takes camelCase or UPPER names (any case). */
export function makeResolver<R>(p: Portal, defs: FDef<R>[], mode: Mode): Resolver<R> {
  const by = new Map<string, FDef<R>>();
  for (const d of defs) {
    if (mode === 'legacy' && d.legacy === false && d.up !== 'CONTACT_IDS') continue;
    if (mode === 'item' && d.item === false) continue;
    by.set(d.up.toUpperCase(), d);
    if (mode === 'item') by.set(d.camel.toUpperCase(), d);
  }
  return (name: string): QField<R> | undefined => {
    const key = name.trim().toUpperCase();
    let d = by.get(key);
    if (!d && mode === 'item') d = by.get(camelToUpper(name.trim()));
    if (!d) return undefined;
    if (mode === 'legacy' && d.up === 'CONTACT_IDS') return undefined; // not filterable in crm.deal.list (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/list-methods-pecularities.html)
    const def = d;
    return { name, type: def.type, get: (r: R) => def.get(r, p), isId: def.up === 'ID' };
  };
}

// ---------------------------------------------------------------------------
// Selection and serialisation

function selectList(select: unknown): string[] | null {
  if (select === undefined || select === null || select === '') return null;
  if (Array.isArray(select)) return select.map(String);
  if (typeof select === 'object') return Object.values(select as object).map(String);
  return [String(select)];
}

/** Which fields a legacy list/get returns (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/list-methods-pecularities.html select rules). ID is always returned. */
export function legacySelect<R>(defs: FDef<R>[], select: unknown): FDef<R>[] {
  const sel = selectList(select) ?? ['*', 'UF_*'];
  const names = new Set(sel.map((s) => s.trim().toUpperCase()));
  const star = names.has('*');
  const ufStar = names.has('UF_*');
  return defs.filter((d) => {
    if (d.legacy === false) return false;
    if (d.up === 'ID') return true;
    if (names.has(d.up)) return true;
    if (d.fmType) return false;
    if (d.uf) return ufStar && !d.multiple;
    return star;
  });
}

export interface ItemSelection<R> {
  fields: FDef<R>[];
  /** `fm` (contacts): only with `*` (crm-item-list.md: fm cannot be selected by name). */
  fm: boolean;
  /** `observers` and `entityTypeId`: with `*`, or when named. */
  observers: boolean;
  entityTypeId: boolean;
}

/**
 * Which keys crm.item returns: `*` (default) = every field incl. user fields, `fm`, `observers`
 * and `entityTypeId` (crm-item-get.md); a named select returns only the named fields
 * (crm-item-list.md example) — plus `id`, which the emulator always returns (UNCONFIRMED).
 */
export function itemSelect<R>(defs: FDef<R>[], select: unknown): ItemSelection<R> {
  const sel = selectList(select) ?? ['*'];
  const names = new Set(sel.map((s) => s.trim().toUpperCase()));
  const star = names.has('*');
  const ufStar = names.has('UF_*') || names.has('UFCRM*') || names.has('UF_CRM_*');
  const fields = defs.filter((d) => {
    if (d.item === false) return false;
    if (d.up === 'ID' || star) return true;
    if (d.uf && ufStar) return true;
    return names.has(d.up) || names.has(d.camel.toUpperCase()) || names.has(camelToUpper(d.camel));
  });
  return { fields, fm: star, observers: star || names.has('OBSERVERS'), entityTypeId: star || names.has('ENTITYTYPEID') || names.has('ENTITY_TYPE_ID') };
}

export function toLegacy<R extends object>(p: Portal, r: R, fields: FDef<R>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const tz = p.timeZone;
  for (const d of fields) {
    if (d.fmType) {
      const rows = ((r as { fm?: Multifield[] }).fm ?? []).filter((m) => m.typeId === d.fmType);
      if (rows.length) out[d.up] = rows.map((m) => ({ ID: String(m.id), VALUE_TYPE: m.valueType, VALUE: m.value, TYPE_ID: m.typeId }));
      continue;
    }
    const v = d.get(r, p);
    out[d.up] = v === null && isEmptyStringDate(d) ? '' : legacyValue(d.type, v, tz);
  }
  return out;
}

/**
 * Legacy methods render an empty system date/datetime as `""`, not `null`: the docs' examples
 * show `"BIRTHDATE": ""` and `"DATE_CLOSED": ""` (api-reference/crm/leads/crm-lead-get.md,
 * crm-lead-list.md), and the REST date converter returns an empty string for an empty value
 * ([SRC] CRestUtil::ConvertDate / ConvertDateTime). crm.item keeps `null` (crm-item-get.md:
 * `"dateClosed": null`). User fields are left as they are (UNCONFIRMED).
 */
function isEmptyStringDate<R>(d: FDef<R>): boolean {
  return !d.uf && !d.multiple && (d.type === 'date' || d.type === 'datetime');
}

export function toItem<R extends object>(
  p: Portal, r: R, sel: ItemSelection<R>, kind: EntityKind, originalUf: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const tz = p.timeZone;
  for (const d of sel.fields) {
    let v = itemValue(d.type, d.get(r, p), tz);
    if (v === null && (d.camel === 'companyId' || d.camel === 'contactId')) v = 0; // crm-item-get.md example
    out[d.uf && originalUf ? d.up : d.camel] = v;
  }
  if (sel.fm && kind === 'contact') {
    out['fm'] = ((r as { fm?: Multifield[] }).fm ?? []).map((m) => ({ id: m.id, valueType: m.valueType, value: m.value, typeId: m.typeId }));
  }
  if (sel.observers) out['observers'] = [];
  if (sel.entityTypeId) out['entityTypeId'] = ENTITY_TYPE_ID[kind];
  return out;
}

// ---------------------------------------------------------------------------
// `*.fields` description

function labelIn(m: Record<string, string>, lang: string): string {
  return m[lang] ?? Object.values(m)[0] ?? '';
}

/** Field description map (crm.contact.fields / crm.deal.fields, https://apidocs.bitrix24.com/api-reference/crm/contacts/index.html). */
export function describeFields<R>(p: Portal, defs: FDef<R>[], mode: Mode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const lang = p.language;
  for (const d of defs) {
    if (mode === 'legacy' && d.legacy === false && d.up !== 'CONTACT_IDS' && d.up !== 'COMPANY_IDS') continue;
    if ((mode === 'item' && d.item === false) || d.undescribed) continue;
    const typeName = d.descType ?? (d.uf ? d.uf.userTypeId
      : d.fmType ? 'crm_multifield'
        : d.statusType ? 'crm_status'
          : ({ id: 'integer', int: 'integer', double: 'double', money: 'double', user: 'user', ref: 'integer', enum: 'enumeration', string: 'string', status: 'crm_status', currency: 'crm_currency', char: 'char', bool: 'boolean', date: 'date', datetime: 'datetime' } as const)[d.type]);
    const desc: Record<string, unknown> = {
      type: typeName,
      isRequired: !!d.required,
      isReadOnly: d.descReadOnly ?? (!d.set && !d.fmType && !d.uf),
      isImmutable: !!d.immutable,
      isMultiple: !!d.multiple,
      isDynamic: !!d.uf,
      title: d.uf ? d.up : d.title,
    };
    if (d.statusType) desc['statusType'] = d.statusType;
    if (d.uf) {
      const u = d.uf;
      desc['listLabel'] = labelIn(u.listColumnLabel, lang);
      desc['formLabel'] = labelIn(u.editFormLabel, lang);
      desc['filterLabel'] = labelIn(u.listFilterLabel, lang);
      desc['settings'] = u.settings;
      if (u.userTypeId === 'enumeration') desc['items'] = u.list.map((i) => ({ ID: String(i.id), VALUE: i.value }));
      if (mode === 'item') desc['upperName'] = u.fieldName;
    }
    out[mode === 'item' ? d.camel : d.up] = desc;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Input parsing

export class FieldValueError extends Error {}

/** Parses one client value of a field into the internal typed value. */
export function parseValue(t: FType, raw: unknown, tz: string, fieldName: string): V {
  if (raw === null || raw === undefined || raw === '') return t === 'char' || t === 'bool' ? false : null;
  const bad = () => new FieldValueError(`Field "${fieldName}" has an invalid value`);
  switch (t) {
    case 'id': case 'int': case 'user': case 'ref': case 'enum': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isFinite(n)) throw bad();
      return Math.trunc(n);
    }
    case 'double': case 'money': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isFinite(n)) throw bad();
      return n;
    }
    case 'char': case 'bool': {
      if (raw === true || raw === 1 || raw === 'Y' || raw === 'y' || raw === '1' || raw === 'true') return true;
      if (raw === false || raw === 0 || raw === 'N' || raw === 'n' || raw === '0' || raw === 'false') return false;
      throw bad();
    }
    case 'date': {
      const d = parseDateOnly(raw, tz);
      if (d === null) throw bad();
      return d;
    }
    case 'datetime': {
      const ms = parseDateInput(raw, tz);
      if (Number.isNaN(ms)) throw bad();
      return ms;
    }
    default:
      if (typeof raw === 'object') throw bad();
      return String(raw);
  }
}

export interface WriteError { field: string; message: string }

/**
 * Applies client `fields` to a record copy. Unknown and read-only fields are ignored (like the
 * portal). Returns the list of changed field names; throws FieldValueError on invalid values.
 */
export function applyFields<R extends { uf: Record<string, unknown>; fm?: Multifield[] }>(
  p: Portal, rec: R, defs: FDef<R>[], fields: Record<string, unknown>, mode: Mode, opts: { creating?: boolean; nextFmId?: () => number } = {},
): string[] {
  const resolve = new Map<string, FDef<R>>();
  for (const d of defs) {
    resolve.set(d.up.toUpperCase(), d);
    if (mode === 'item') resolve.set(d.camel.toUpperCase(), d);
  }
  const changed: string[] = [];
  const tz = p.timeZone;
  for (const [key, raw] of Object.entries(fields)) {
    const d = resolve.get(key.toUpperCase()) ?? (mode === 'item' ? resolve.get(camelToUpper(key)) : undefined);
    if (!d) continue;
    if (d.fmType) {
      if (mode === 'legacy' && rec.fm) applyMultifield(rec.fm, d.fmType, raw, opts.nextFmId);
      changed.push(d.up);
      continue;
    }
    if (!d.set) continue;
    if (d.immutable && !opts.creating) continue;
    let v: V;
    if (d.multiple) {
      let arr: unknown[];
      if (Array.isArray(raw)) arr = raw;
      else if (raw !== null && typeof raw === 'object') arr = Object.values(raw);
      else if (mode === 'item' && raw !== null && raw !== undefined && raw !== '') {
        throw new FieldValueError('Expected iterable value for multiple field');
      } else arr = raw === null || raw === undefined || raw === '' ? [] : [raw];
      v = arr.filter((x) => x !== '' && x !== null && x !== undefined).map((x) => parseValue(d.type, x, tz, d.up));
    } else {
      v = parseValue(d.type, raw, tz, d.up);
    }
    if (d.uf) checkUfValue(d.uf, v);
    const before = JSON.stringify(d.get(rec, p));
    d.set(rec, v);
    if (JSON.stringify(d.get(rec, p)) !== before) changed.push(d.up);
  }
  return changed;
}

/** Enumeration values must be IDs of the field's items (strict: unknown IDs are rejected). */
function checkUfValue(u: UserFieldRec, v: V): void {
  if (u.userTypeId !== 'enumeration') return;
  const ids = new Set(u.list.map((i) => i.id));
  for (const x of Array.isArray(v) ? v : [v]) {
    if (x === null) continue;
    if (!ids.has(Number(x))) throw new FieldValueError(`Field "${u.fieldName}": list item with ID ${String(x)} does not exist`);
  }
}

function applyMultifield(fm: Multifield[], typeId: Multifield['typeId'], raw: unknown, nextId?: () => number): void {
  const items = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : [];
  for (const it of items) {
    if (!it || typeof it !== 'object') continue;
    const o = it as Record<string, unknown>;
    const id = o['ID'] !== undefined ? Number(o['ID']) : NaN;
    const value = o['VALUE'] === undefined ? undefined : String(o['VALUE'] ?? '');
    if (!Number.isNaN(id)) {
      const i = fm.findIndex((m) => m.id === id && m.typeId === typeId);
      if (i < 0) continue;
      if (o['DELETE'] === 'Y' || value === '') { fm.splice(i, 1); continue; }
      const m = fm[i]!;
      if (value !== undefined) m.value = value;
      if (o['VALUE_TYPE'] !== undefined) m.valueType = String(o['VALUE_TYPE']);
      continue;
    }
    if (!value) continue;
    if (typeId === 'EMAIL' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
      throw new FieldValueError(`Invalid E-mail: ${value}`);
    }
    fm.push({ id: nextId ? nextId() : fm.length + 1, typeId, valueType: String(o['VALUE_TYPE'] ?? 'WORK'), value });
  }
}

/** Throws the portal's "not found" for a missing entity in a family (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/general-principles.html table). */
export function notFound(family: 'legacy-get' | 'contact-update' | 'company-update' | 'deal-update' | 'item' | 'deal-contacts'): never {
  switch (family) {
    case 'legacy-get':
      throw new RestError('', 'Not found', 400);
    case 'contact-update':
      throw new RestError('', 'Contact is not found', 400);
    // crm-company-update.md documents no error; the CRM's legacy controller words it as for contacts
    case 'company-update':
      throw new RestError('', 'Company is not found', 400);
    case 'deal-update':
      throw new RestError('', 'Deal is not found', 400);
    case 'deal-contacts':
      throw new RestError('', 'Not found.', 400);
    case 'item':
      throw new RestError('NOT_FOUND', 'Element not found', 400);
  }
}

/** Legacy `id` parameter: positive integer or 400 "ID is not defined or invalid." */
export function legacyId(params: Record<string, unknown>, message = 'ID is not defined or invalid.'): number {
  const raw = params['id'] ?? params['ID'];
  const n = Number(raw);
  if (raw === undefined || raw === null || raw === '' || !Number.isInteger(n) || n <= 0) {
    throw new RestError('', message, 400);
  }
  return n;
}
