/**
 * The portal's people and lead sources by name, asked with a user's own token (user.get,
 * crm.status.list ENTITY_ID=SOURCE) through the portal's B24Client, so the UI and the CSV show
 * "Olga Smirnova" and "Website" instead of "#7" and "WEB". Every employee may read both lists, so
 * one answer serves the whole portal for a few minutes. When the portal cannot be asked (no
 * token, an error), the directory is empty and callers show no name rather than an ID.
 *
 * user.get pages by 50 (https://apidocs.bitrix24.com/api-reference/user/user-get.html); without an
 * ACTIVE filter it returns dismissed users too, with ACTIVE false: the UI marks them.
 */
import type { B24Client } from '../../b24/client.js';
import type { BatchCommand } from '../../b24/batch-encoding.js';
import type { Portal } from '../../store/index.js';
import { customerFieldsOf, STATUS_LISTS, type CustomerField } from './customer-fields.js';

export interface DirectoryUser {
  id: number;
  name: string;
  active: boolean;
}

export interface Directory {
  users: DirectoryUser[];
  /** lead sources: STATUS_ID → NAME */
  sources: Record<string, string>;
  /** false when the portal could not be asked (names unknown) */
  known: boolean;
  /** the contact fields a `crm` filter condition may name (customer-fields.ts); [] when not read */
  fields: CustomerField[];
  /** the company fields a `crm` condition over companies may name (crm.company.fields); [] when not read */
  companyFields: CustomerField[];
  /** CRM lists by ENTITY_ID (INDUSTRY, EMPLOYEES, HONORIFIC, CONTACT_TYPE): STATUS_ID → NAME */
  statuses: Record<string, Record<string, string>>;
}

export const EMPTY_DIRECTORY: Directory = { users: [], sources: {}, known: false, fields: [], companyFields: [], statuses: {} };

/** A crm.status.list answer → STATUS_ID → NAME. */
function statusNames(rows: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of Array.isArray(rows) ? (rows as Array<{ STATUS_ID?: unknown; NAME?: unknown }>) : []) {
    if (typeof s.STATUS_ID === 'string' && typeof s.NAME === 'string') out[s.STATUS_ID] = s.NAME;
  }
  return out;
}

const PAGE = 50;
/** users read at most (a portal with more gets the first 5,000 by ID) */
const MAX_USERS = 5000;

interface UserRow { ID?: unknown; NAME?: unknown; LAST_NAME?: unknown; SECOND_NAME?: unknown; EMAIL?: unknown; ACTIVE?: unknown }

function userOf(u: UserRow): DirectoryUser | null {
  const id = Number(u.ID);
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  const name = [u.NAME, u.LAST_NAME].map((x) => (typeof x === 'string' ? x.trim() : '')).filter(Boolean).join(' ');
  const active = !(u.ACTIVE === false || u.ACTIVE === 'N' || u.ACTIVE === 'false' || u.ACTIVE === 0);
  return { id, name: name || (typeof u.EMAIL === 'string' && u.EMAIL) || '', active };
}

/** One read of the portal's users and sources with the given client (a user's). */
export async function readDirectory(client: B24Client): Promise<Directory> {
  const userParams = (start: number) => ({ sort: 'ID', order: 'ASC', start });
  const lists: Record<string, BatchCommand> = Object.fromEntries(
    STATUS_LISTS.map((e) => [`st_${e}`, ['crm.status.list', { filter: { ENTITY_ID: e }, order: { SORT: 'ASC' } }] as BatchCommand]));
  const first = await client.batch({
    u: ['user.get', userParams(0)], s: ['crm.status.list', { filter: { ENTITY_ID: 'SOURCE' }, order: { SORT: 'ASC' } }],
    f: ['crm.contact.fields', {}], fc: ['crm.company.fields', {}], ...lists,
  });
  const rows: UserRow[] = Array.isArray(first.results.u) ? (first.results.u as UserRow[]) : [];
  const total = Math.min(first.totals.u ?? rows.length, MAX_USERS);
  const more: Record<string, BatchCommand> = {};
  for (let s = PAGE; s < total; s += PAGE) more[`u${s}`] = ['user.get', userParams(s)];
  if (Object.keys(more).length) {
    const r = await client.batch(more);
    for (const k of Object.keys(more)) if (Array.isArray(r.results[k])) rows.push(...(r.results[k] as UserRow[]));
  }
  const users = rows.map(userOf).filter((u): u is DirectoryUser => u !== null);
  const sources = statusNames(first.results.s);
  const statuses: Record<string, Record<string, string>> = { SOURCE: sources };
  for (const e of STATUS_LISTS) statuses[e] = statusNames(first.results[`st_${e}`]);
  const fields = first.errors.f ? [] : customerFieldsOf(first.results.f, statuses);
  const companyFields = first.errors.fc ? [] : customerFieldsOf(first.results.fc, statuses, 'company');
  return { users, sources, known: !first.errors.u, fields, companyFields, statuses };
}

/** Directories per portal, kept `ttlMs` (default 5 minutes); one read at a time per portal. */
export class PortalDirectory {
  private cache = new Map<number, { at: number; dir: Promise<Directory> }>();
  constructor(
    private readonly clientAs: (portal: Portal, token: string) => B24Client,
    private readonly log?: (msg: string, extra: Record<string, unknown>) => void,
    private readonly ttlMs = 300_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The portal's directory, read with `token` when not cached; empty (known: false) without a token or on an error. */
  get(portal: Portal, token: string | null): Promise<Directory> {
    const hit = this.cache.get(portal.id);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.dir;
    if (!token) return Promise.resolve(EMPTY_DIRECTORY);
    const dir = readDirectory(this.clientAs(portal, token)).catch((err: unknown) => {
      this.log?.('directory read failed', { portalId: portal.id, error: (err as Error).message });
      this.cache.delete(portal.id);
      return EMPTY_DIRECTORY;
    });
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(portal.id, { at: this.now(), dir });
    return dir;
  }
}

/** id → name (an unknown or nameless user maps to nothing). */
export function userNames(dir: Directory): Map<number, string> {
  return new Map(dir.users.filter((u) => u.name).map((u) => [u.id, u.name]));
}
