/**
 * What each contact's fields should hold, and which of them must be written.
 *
 * Values travel in a semantic form: codes for enumerations ('champions', '4', '545'), code
 * arrays for multiple enumerations, numbers, 'YYYY-MM-DD' dates, ISO datetimes, booleans;
 * null = empty. The CRM form (item IDs, 'Y'/'N', '' to clear) is derived with the field registry.
 *
 * A field is written only when its desired value differs from the base value:
 *   base = what the CRM holds (contacts.uf, read by sync and refreshed by our own writes),
 *          else what we last wrote (written_values), else empty.
 * Comparison per type: enumerations by code (a CRM item ID is mapped back through the registry),
 * dates by day, datetimes to the second, booleans with empty = N, multiple values as sets,
 * MONETARY to the cent, and CLV (with its 80 % range CLV_LOW / CLV_HIGH) and P(alive) with the admin's relative tolerance (default 5%):
 * |desired − base| > tolerance × max(|base|, floor) with floor 1 (currency) / 0.01 (probability).
 *
 * Nothing moves merely because a day passed:
 *  - recency lives in LAST_PURCHASE (a fixed date; the CRM filter does "more than N days ago");
 *    the recency *score* R, the cell, the segment, SLEEPING, LIFECYCLE (regular = within 12 months)
 *    and INTERESTS (a tag expires after its window) change only when the contact's own value
 *    crosses a bound, and the bounds themselves are pinned between runs (pipeline/score.ts);
 *  - FREQUENCY, MONETARY, LAST_PURCHASE and NEXT_PURCHASE (last purchase + median gap) change only
 *    with a new or changed deal;
 *  - P(alive) and CLV (and the CLV range) decay a little every day (they depend on the time since the first/last
 *    purchase), so they are rewritten only when they moved by more than the tolerance from the
 *    value the CRM holds (never from yesterday's value: slow drift accumulates until it counts);
 *  - PREV_SEGMENT and CHANGED_AT change only with the segment;
 *  - the 80 % range (CLV_LOW / CLV_HIGH, PURCHASES_LOW / PURCHASES_HIGH) is written together with
 *    CLV, or when it appears or goes: a quantile of a discrete count jumps by a whole purchase
 *    on a tiny change of the portal's rates (keepRangeWithClv);
 *  - DAYS_OVERDUE (a sleeping repeat buyer's days since the last purchase minus their own cycle)
 *    grows by one a day, so like CLV it is rewritten only when it moved by more than the tolerance
 *    (default 5 % of the value, at least of 7 days: daily up to 20 days overdue, every 6th day at 100).
 * INTERESTS keeps a manager's hand-set tags: the app replaces only the tags it wrote (own-interests.ts).
 * A field is not refreshed just because another field of the same contact is written.
 *
 * Contacts without purchases carry only LIFECYCLE, and only when it says something
 * (in negotiation, refused), and a refused one its REFUSAL_REASON (the item of the reason's key);
 * every other field is empty for them.
 *
 * SAVED (the highest-priority saved segment) does not come from the labels: desiredValues leaves
 * it null and the write-back sets it per contact when the portal's option is on, or drops it from
 * the desired values when off (then it is never written nor cleared; see saved-segment.ts).
 */
import type { FieldManifest } from '../../manifest/index.js';
import type { ContactLabel } from '../store/scores.js';
import type { FieldRegistry, RegisteredField } from './fields.js';
import { F, manifestFields } from './manifest-fields.js';

export type SemValue = string | number | boolean | string[] | null;
export type SemValues = Record<string, SemValue>;

export interface Tolerances {
  clv: number;
  pAlive: number;
  /** relative tolerance of DAYS_OVERDUE (floor 7 days); default DEFAULT_TOLERANCE */
  daysOverdue?: number;
}

export const DEFAULT_TOLERANCE = 0.05;

/** Lifecycle stages worth writing for contacts without purchases. */
export const SAY_LIFECYCLES: ReadonlySet<string> = new Set(['in_negotiation', 'refused']);

const r2 = (v: number) => Math.round(v * 100) / 100;
const r4 = (v: number) => Math.round(v * 10_000) / 10_000;
const num = (v: unknown): number | null => (v === null || v === undefined || v === '' || !Number.isFinite(Number(v)) ? null : Number(v));

/** Desired semantic values of one contact from its labels. */
export function desiredValues(l: ContactLabel): SemValues {
  const extra = l.extra ?? {};
  const buyer = extra.hasPurchases === true || (extra.hasPurchases === undefined && l.lastPurchase !== null);
  const out: SemValues = {};
  for (const name of manifestFields().keys()) out[name] = null;
  if (!buyer) {
    if (l.lifecycle && SAY_LIFECYCLES.has(l.lifecycle)) out[F.LIFECYCLE] = l.lifecycle;
    if (l.lifecycle === 'refused') out[F.REFUSAL_REASON] = (extra.refusalReasonKey as string | null | undefined) ?? null;
    return out;
  }
  const tags = [...(l.interests ?? [])].sort();
  const revenue = num(extra.revenue) ?? num(l.monetary);
  Object.assign(out, {
    [F.FREQUENCY]: num(l.frequency),
    [F.MONETARY]: revenue === null ? null : r2(revenue),
    [F.LAST_PURCHASE]: l.lastPurchase,
    [F.R]: l.r === null ? null : String(l.r),
    [F.F]: l.f === null ? null : String(l.f),
    [F.M]: l.m === null ? null : String(l.m),
    [F.RFM]: l.rfm,
    [F.SEGMENT]: l.segment,
    [F.LIFECYCLE]: l.lifecycle,
    [F.SLEEPING]: extra.sleepingKnown === false ? null : !!l.sleeping,
    [F.INTERESTS]: tags.length ? tags : null,
    [F.NEXT_PURCHASE]: l.nextPurchase,
    [F.CLV]: num(l.clv) === null ? null : r2(Number(l.clv)),
    [F.P_ALIVE]: num(l.pAlive) === null ? null : r4(Number(l.pAlive)),
    [F.CLV_LOW]: num(extra.clvLow) === null ? null : r2(Number(extra.clvLow)),
    [F.CLV_HIGH]: num(extra.clvHigh) === null ? null : r2(Number(extra.clvHigh)),
    [F.PURCHASES_LOW]: num(extra.purchasesLow),
    [F.PURCHASES_HIGH]: num(extra.purchasesHigh),
    [F.PREV_SEGMENT]: (extra.prevSegment as string | null | undefined) ?? null,
    [F.CHANGED_AT]: (extra.changedAt as string | null | undefined) ?? null,
    // only while sleeping, and only for repeat buyers (one-time buyers have no cycle to be late against)
    [F.DAYS_OVERDUE]: l.sleeping && num(extra.daysOverdue) !== null ? Math.round(Number(extra.daysOverdue)) : null,
  });
  return out;
}

function dateOf(raw: unknown): string | null {
  if (raw === null || raw === undefined || raw === '' || raw === false) return null;
  const s = String(raw);
  const iso = /^(\d{4}-\d{2}-\d{2})/.exec(s);
  if (iso) return iso[1]!;
  const ru = /^(\d{2})\.(\d{2})\.(\d{4})/.exec(s);
  if (ru) return `${ru[3]}-${ru[2]}-${ru[1]}`;
  return s;
}

function reverseItems(reg: RegisteredField | undefined): Map<number, string> {
  const m = new Map<number, string>();
  if (reg) for (const [code, id] of Object.entries(reg.items)) m.set(id, code);
  return m;
}

const reverseCache = new WeakMap<RegisteredField, Map<number, string>>();
function codeOfItem(reg: RegisteredField | undefined, raw: unknown): string | null {
  const id = num(raw);
  if (id === null || id === 0) return null;
  if (!reg) return `#${id}`;
  let m = reverseCache.get(reg);
  if (!m) reverseCache.set(reg, (m = reverseItems(reg)));
  return m.get(id) ?? `#${id}`;
}

/** A raw CRM value (legacy strings or crm.item typed values) in the semantic form. */
export function crmToSemantic(def: FieldManifest, raw: unknown, reg: RegisteredField | undefined): SemValue {
  switch (def.type) {
    case 'enumeration': {
      if (def.multiple) {
        const arr = Array.isArray(raw) ? raw : raw === null || raw === undefined || raw === '' || raw === false ? [] : [raw];
        const codes = arr.map((x) => codeOfItem(reg, x)).filter((x): x is string => x !== null).sort();
        return codes.length ? codes : null;
      }
      return codeOfItem(reg, Array.isArray(raw) ? raw[0] : raw);
    }
    case 'boolean':
      if (raw === true || raw === 1 || raw === '1' || raw === 'Y' || raw === 'y' || raw === 'true') return true;
      return raw === null || raw === undefined || raw === '' ? null : false;
    case 'integer':
    case 'double':
      return num(raw);
    case 'date':
      return dateOf(raw);
    case 'datetime':
      return raw === null || raw === undefined || raw === '' || raw === false ? null : String(raw);
    default:
      return raw === null || raw === undefined || raw === '' ? null : String(raw);
  }
}

/** Equal for write purposes (see the module comment). `base` is what the CRM holds / we wrote. */
export function sameValue(def: FieldManifest, desired: SemValue, base: SemValue, tol: Tolerances): boolean {
  // booleans: empty and N are the same when we want nothing; a buyer's N is written once
  if (def.type === 'boolean') return desired === null ? base !== true : base !== null && desired === base;
  if (desired === null || base === null) return desired === null && base === null;
  switch (def.type) {
    case 'enumeration':
      if (Array.isArray(desired) || Array.isArray(base)) {
        const a = Array.isArray(desired) ? [...desired].sort() : [String(desired)];
        const b = Array.isArray(base) ? [...base].sort() : [String(base)];
        return a.length === b.length && a.every((x, i) => x === b[i]);
      }
      return String(desired) === String(base);
    case 'integer':
      if (def.name === F.DAYS_OVERDUE) {
        // grows by one every day while a customer sleeps: rewritten when it moved by more than the tolerance
        const b = Math.round(Number(base));
        return Math.abs(Math.round(Number(desired)) - b) <= (tol.daysOverdue ?? DEFAULT_TOLERANCE) * Math.max(Math.abs(b), 7);
      }
      return Math.round(Number(desired)) === Math.round(Number(base));
    case 'double': {
      const d = Number(desired);
      const b = Number(base);
      if (def.name === F.CLV || def.name === F.CLV_LOW || def.name === F.CLV_HIGH) return Math.abs(d - b) <= tol.clv * Math.max(Math.abs(b), 1);
      if (def.name === F.P_ALIVE) return Math.abs(d - b) <= tol.pAlive * Math.max(Math.abs(b), 0.01);
      return Math.abs(d - b) < 0.005;
    }
    case 'date':
      return dateOf(desired) === dateOf(base);
    case 'datetime': {
      const a = Date.parse(String(desired));
      const b = Date.parse(String(base));
      return Number.isFinite(a) && Number.isFinite(b) ? Math.abs(a - b) < 1000 : String(desired) === String(base);
    }
    default:
      return String(desired) === String(base);
  }
}

/** The value a field holds now: what the CRM holds (contacts.uf), else what we last wrote, else empty. */
export function baseValue(
  def: FieldManifest, crm: Record<string, unknown> | null | undefined, written: SemValues | null | undefined, reg: RegisteredField | undefined,
): SemValue {
  const name = def.name;
  if (crm && Object.prototype.hasOwnProperty.call(crm, name)) return crmToSemantic(def, crm[name], reg);
  if (written && Object.prototype.hasOwnProperty.call(written, name)) return written[name] ?? null;
  return null;
}

export interface RecordDiff {
  /** semantic values to write, by field name */
  changed: SemValues;
  /** fields skipped because the registry lacks the field or an enumeration item */
  unresolved: string[];
}

/**
 * Fields of one record to write. `crm` = contacts.uf (raw CRM values by field name; a missing
 * key = not known), `written` = our last written values (semantic).
 */
export function diffRecord(
  desired: SemValues,
  crm: Record<string, unknown> | null | undefined,
  written: SemValues | null | undefined,
  registry: FieldRegistry,
  tol: Tolerances,
): RecordDiff {
  const changed: SemValues = {};
  const unresolved: string[] = [];
  const defs = manifestFields();
  for (const [name, want] of Object.entries(desired)) {
    const def = defs.get(name);
    if (!def) continue;
    const reg = registry.get(name);
    const base = baseValue(def, crm, written, reg);
    if (sameValue(def, want, base, tol)) continue;
    if (!reg) { unresolved.push(name); continue; }
    if (def.type === 'enumeration' && want !== null) {
      const codes = Array.isArray(want) ? want : [String(want)];
      if (codes.some((c) => itemId(reg, c) === undefined)) { unresolved.push(name); continue; }
    }
    changed[name] = want;
  }
  keepRangeWithClv(changed, desired, crm, written);
  return { changed, unresolved };
}

/** The 80 % range of CLV and purchase days: written together with CLV (see keepRangeWithClv). */
const RANGE_FIELDS = [F.CLV_LOW, F.CLV_HIGH, F.PURCHASES_LOW, F.PURCHASES_HIGH];

/**
 * The range follows CLV: its fields are written when CLV is written, or when the range appears or
 * goes (empty ↔ a value); otherwise they stay as the CRM holds them. A quantile of a discrete
 * count jumps by a whole purchase on a tiny change of the portal's rates (another customer's new
 * deal), which would otherwise rewrite customers whose own history did not change.
 */
function keepRangeWithClv(changed: SemValues, desired: SemValues, crm: Record<string, unknown> | null | undefined, written: SemValues | null | undefined): void {
  if (F.CLV in changed) return;
  const known = (name: string) => (crm && Object.prototype.hasOwnProperty.call(crm, name) && crm[name] !== '' && crm[name] !== null)
    || (written && written[name] !== undefined && written[name] !== null);
  for (const name of RANGE_FIELDS) {
    if (!(name in changed)) continue;
    const appearsOrGoes = (desired[name] === null) === !!known(name);
    if (!appearsOrGoes) delete changed[name];
  }
}

/** An item's ID by code; '#<id>' is an item without our XML_ID (e.g. a manager's own tag), kept by its ID. */
export function itemId(reg: RegisteredField, code: string): number | undefined {
  const id = reg.items[code];
  if (id !== undefined) return id;
  const m = /^#(\d+)$/.exec(code);
  return m ? Number(m[1]) : undefined;
}

/** The value to send in crm.contact.update / crm.item.update ('' clears). */
export function toWriteValue(def: FieldManifest, v: SemValue, reg: RegisteredField): unknown {
  if (def.type === 'boolean') return v === true ? 'Y' : 'N';
  if (v === null || (Array.isArray(v) && v.length === 0)) return '';
  switch (def.type) {
    case 'enumeration':
      return Array.isArray(v) ? v.map((c) => itemId(reg, c)!) : itemId(reg, String(v))!;
    case 'date':
      return dateOf(v);
    default:
      return v;
  }
}

/** What contacts.uf should hold after a successful write (legacy-like raw form). */
export function toStoredCrmValue(def: FieldManifest, v: SemValue, reg: RegisteredField): unknown {
  if (def.type === 'boolean') return v === true ? '1' : '0';
  if (v === null) return def.multiple ? [] : null;
  if (def.type === 'enumeration') return Array.isArray(v) ? v.map((c) => String(itemId(reg, c))) : String(itemId(reg, String(v)));
  return v;
}

/** crm.item camelCase name of a UF field: UF_CRM_SEG_P_ALIVE → ufCrmSegPAlive (https://apidocs.bitrix24.com/api-reference/crm/universal/index.html; one rule for the app and the emulator). */
export { ufCamel } from '../bitrix/uf-names.js';
