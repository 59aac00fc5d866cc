/**
 * What the probe asks a portal (and the reference emulator, with the same parameters): read-only
 * shape checks, deliberate errors, and the optional write cycle on one marked contact.
 */
import { fieldJsonTypes, type JsonType } from '../emulator/shape-rules.js';
import type { Row } from './compare.js';

/** IDs found on one side (portal or reference) by earlier steps. */
export type Memo = { contactId?: number; dealId?: number; wonDealId?: number };

type Params = Record<string, unknown>;

export interface ShapeStep {
  check: string;
  method: string;
  params: Params | ((m: Memo) => Params | null);
  /** The rows to compare from a successful body (one object = one row). */
  rows: (result: unknown) => Row[];
  schema?: Record<string, JsonType[]>;
  /** The exact keys every row must have (a crm.item select). */
  exactKeys?: string[];
  remember?: (rows: Row[], m: Memo) => void;
}

export interface ErrorStep {
  check: string;
  method: string;
  params: Params;
}

const obj = (r: unknown): Row[] => (r && typeof r === 'object' && !Array.isArray(r) ? [r as Row] : []);
const arr = (r: unknown): Row[] => (Array.isArray(r) ? (r as Row[]).filter((x) => x && typeof x === 'object') : []);
const inner = (key: string) => (r: unknown): Row[] => arr((r as Row | null)?.[key]);
const item = (r: unknown): Row[] => obj((r as Row | null)?.['item']);
const num = (v: unknown): number | undefined => (Number.isFinite(Number(v)) && Number(v) > 0 ? Number(v) : undefined);
const idOf = (m: Memo, k: keyof Memo): number | null => m[k] ?? null;

export const SHAPE_STEPS: ShapeStep[] = [
  { check: 'profile', method: 'profile', params: {}, rows: obj },
  { check: 'user.current', method: 'user.current', params: {}, rows: obj },
  {
    check: 'crm.contact.list', method: 'crm.contact.list', params: { select: ['*', 'UF_*', 'PHONE', 'EMAIL'], order: { ID: 'ASC' } },
    rows: arr, schema: fieldJsonTypes('contact', 'legacy'), remember: (rows, m) => { m.contactId = num(rows[0]?.['ID']); },
  },
  { check: 'crm.contact.get', method: 'crm.contact.get', params: (m) => (idOf(m, 'contactId') ? { id: m.contactId } : null), rows: obj, schema: fieldJsonTypes('contact', 'legacy') },
  { check: 'crm.company.list', method: 'crm.company.list', params: { order: { ID: 'ASC' } }, rows: arr, schema: fieldJsonTypes('company', 'legacy') },
  {
    check: 'crm.deal.list', method: 'crm.deal.list', params: { select: ['*', 'UF_*'], order: { ID: 'ASC' } }, rows: arr, schema: fieldJsonTypes('deal', 'legacy'),
    remember: (rows, m) => {
      m.dealId = num(rows[0]?.['ID']);
      m.wonDealId = num(rows.find((r) => r['STAGE_SEMANTIC_ID'] === 'S')?.['ID']);
    },
  },
  { check: 'crm.deal.get', method: 'crm.deal.get', params: (m) => (idOf(m, 'dealId') ? { id: m.dealId } : null), rows: obj, schema: fieldJsonTypes('deal', 'legacy') },
  { check: 'crm.item.list (deals, *)', method: 'crm.item.list', params: { entityTypeId: 2, select: ['*'], order: { id: 'ASC' } }, rows: inner('items'), schema: fieldJsonTypes('deal', 'item') },
  {
    check: 'crm.item.list (contacts, select)', method: 'crm.item.list', params: { entityTypeId: 3, select: ['id', 'name', 'lastName'], order: { id: 'ASC' } },
    rows: inner('items'), exactKeys: ['id', 'name', 'lastName'],
  },
  { check: 'crm.item.get (contact)', method: 'crm.item.get', params: (m) => (idOf(m, 'contactId') ? { entityTypeId: 3, id: m.contactId } : null), rows: item, schema: fieldJsonTypes('contact', 'item') },
  { check: 'crm.status.list', method: 'crm.status.list', params: { filter: { ENTITY_ID: 'DEAL_STAGE' } }, rows: arr },
  { check: 'crm.category.list', method: 'crm.category.list', params: { entityTypeId: 2 }, rows: inner('categories') },
  { check: 'crm.currency.list', method: 'crm.currency.list', params: {}, rows: arr },
  { check: 'crm.deal.productrows.get', method: 'crm.deal.productrows.get', params: (m) => (idOf(m, 'wonDealId') ? { id: m.wonDealId } : null), rows: arr },
  {
    check: 'crm.item.productrow.list', method: 'crm.item.productrow.list',
    params: (m) => (idOf(m, 'wonDealId') ? { filter: { '=ownerType': 'D', '=ownerId': m.wonDealId } } : null), rows: inner('productRows'),
  },
  { check: 'crm.product.list', method: 'crm.product.list', params: { order: { ID: 'ASC' } }, rows: arr },
  { check: 'crm.productsection.list', method: 'crm.productsection.list', params: { order: { ID: 'ASC' } }, rows: arr },
  { check: 'crm.contact.userfield.list', method: 'crm.contact.userfield.list', params: {}, rows: arr },
  {
    check: 'batch', method: 'batch', params: { halt: 0, cmd: { a: 'profile', b: 'crm.contact.list?select[]=ID&start=-1', c: 'probe.no.such.method' } },
    rows: obj,
  },
];

/** Deliberate errors: the portal must answer with the reference's HTTP status and error code. */
export const ERROR_STEPS: ErrorStep[] = [
  { check: 'error: unknown method', method: 'probe.no.such.method', params: {} },
  { check: 'error: id 0 (crm.contact.get)', method: 'crm.contact.get', params: { id: 0 } },
  { check: 'error: unknown id (crm.contact.get)', method: 'crm.contact.get', params: { id: 2147483646 } },
  { check: 'error: missing entityTypeId (crm.item.get)', method: 'crm.item.get', params: {} },
  { check: 'error: missing entityTypeId (crm.category.list)', method: 'crm.category.list', params: {} },
  { check: 'error: webhook on an app-only method (event.get)', method: 'event.get', params: {} },
  { check: 'error: webhook on an app-only method (app.info)', method: 'app.info', params: {} },
  { check: 'error: filter field not allowed (crm.item.list)', method: 'crm.item.list', params: { entityTypeId: 3, filter: { probeNoSuchField: 1 } } },
  { check: 'error: filter not an array (crm.contact.list)', method: 'crm.contact.list', params: { filter: 'x' } },
];

/** Marker of the one contact `--write` creates, updates and deletes. */
export function probeContactName(at: Date): string {
  return `b24-segments probe ${at.toISOString()}`;
}
