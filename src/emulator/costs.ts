/**
 * The emulator's cost model, as data: what one REST call costs in server time (`time.processing`)
 * and which part of it the portal's load limiter charges to the method's operating budget.
 * Every number has a source (docs/emulator.md "Limits" has the table; docs/emulator-costs.md what
 * remains unknown):
 *
 * - the docs' example `time` blocks (`bitrix24/b24restdocs`, collected in
 *   /work/shared/reference/evidence/docs-time-blocks.csv): list page, get, add/update, delete,
 *   product rows, user fields, dictionaries;
 * - `settings/performance/huge-data.md`: the count query of a list with `start >= 0`
 *   (49.9 s on 2,387,743 leads vs 0.097 s with `start=-1` ⇒ ≈ 2.1e-5 s per matching row);
 * - the rest module's `lib/engine/access/loadlimiter.php`: `$minimalFixTime = 0.1` (a method whose
 *   summed processing in one HTTP request is ≤ 0.1 s is not counted), `$limitTime = 420`,
 *   60-s buckets × 10, `batch` ignored; docs `limits.md`: 480 s on cloud.
 *
 * The model is pure: no clock, no state. `limits.ts` applies it per request.
 */
import type { CostKind } from './types.js';

/** What a call is, for its cost. */
export type CostClass =
  | 'list' // a CRM/data list page: base + per row + count + complex filter
  | 'get' // a CRM record read (crm.*.get)
  | 'add'
  | 'update'
  | 'delete'
  | 'productRowRead' // crm.deal.productrows.get, crm.item.productrow.list/get
  | 'productRowWrite' // *.productrows.set, crm.item.productrow.add/update/delete/set
  | 'userFieldWrite' // *.userfield.add/update/delete, enumeration changes
  | 'bind' // event.bind/unbind, placement.bind/unbind
  | 'read'; // statuses, dictionaries, field descriptions, profile, options, anything else

export const COST_CLASSES: readonly CostClass[] = [
  'list', 'get', 'add', 'update', 'delete', 'productRowRead', 'productRowWrite', 'userFieldWrite', 'bind', 'read',
];

export interface CostModel {
  /** Seconds of processing per call of each class; for `list` the per-page base. */
  classes: Record<CostClass, number>;
  /** List: seconds per returned row. */
  perRow: number;
  /** List: seconds per matching row for the count query, only when `start >= 0`. */
  perCountedRow: number;
  /** List: surcharge for a complex filter (`isComplexFilter`). */
  complexFilter: number;
  /** A method whose summed processing within one HTTP request is <= this is not charged. */
  minimalFixTime: number;
  /** `time.duration - time.processing` of every answer (the request's own overhead), seconds. */
  overhead: number;
  /** Per-method overrides: lower-case method name → seconds per call (rows, count and filter ignored). */
  methods: Record<string, number>;
}

export const DEFAULT_COST_MODEL: Readonly<CostModel> = Object.freeze({
  classes: Object.freeze({
    list: 0.03,
    get: 0.15,
    add: 0.3,
    update: 0.3,
    delete: 0.5,
    productRowRead: 0.1,
    productRowWrite: 1.0,
    userFieldWrite: 0.2,
    bind: 0.2,
    read: 0.01,
  }),
  perRow: 0.0007,
  perCountedRow: 2.1e-5,
  complexFilter: 0.2,
  minimalFixTime: 0.1,
  overhead: 0.01,
  methods: Object.freeze({}),
}) as Readonly<CostModel>;

/** Operating budget per method per 10 minutes, seconds: cloud (docs limits.md) and self-hosted (loadlimiter.php). */
export const OPERATING_LIMITS = { cloud: 480, selfHosted: 420 } as const;

/** A fresh, mutable copy of the default model with `over` applied. */
export function costModel(over: CostModelPatch = {}): CostModel {
  const m: CostModel = {
    ...DEFAULT_COST_MODEL,
    classes: { ...DEFAULT_COST_MODEL.classes },
    methods: {},
  };
  applyCostPatch(m, over);
  return m;
}

/** A partial model; `kinds` is the pre-issue-12 shape (list/get/write/bind/other), kept as an alias. */
export interface CostModelPatch {
  classes?: Partial<Record<CostClass, number>>;
  kinds?: Partial<Record<CostKind, number>>;
  perRow?: number;
  perCountedRow?: number;
  complexFilter?: number;
  minimalFixTime?: number;
  overhead?: number;
  /** Method overrides; `null` removes one. */
  methods?: Record<string, number | null>;
}

const KIND_ALIASES: Record<CostKind, CostClass[]> = {
  list: ['list'], get: ['get'], write: ['add', 'update', 'delete'], bind: ['bind'], other: ['read'],
};

/** Applies `p` to `m` in place (method names are lower-cased). */
export function applyCostPatch(m: CostModel, p: CostModelPatch): void {
  for (const [k, v] of Object.entries(p.kinds ?? {})) {
    for (const c of KIND_ALIASES[k as CostKind] ?? []) if (v !== undefined) m.classes[c] = v;
  }
  for (const [k, v] of Object.entries(p.classes ?? {})) if (v !== undefined) m.classes[k as CostClass] = v;
  if (p.perRow !== undefined) m.perRow = p.perRow;
  if (p.perCountedRow !== undefined) m.perCountedRow = p.perCountedRow;
  if (p.complexFilter !== undefined) m.complexFilter = p.complexFilter;
  if (p.minimalFixTime !== undefined) m.minimalFixTime = p.minimalFixTime;
  if (p.overhead !== undefined) m.overhead = p.overhead;
  for (const [k, v] of Object.entries(p.methods ?? {})) {
    if (v === null) delete m.methods[k.toLowerCase()];
    else m.methods[k.toLowerCase()] = v;
  }
}

/**
 * Which class a method belongs to: the first matching rule wins; a method no rule names falls back
 * to its declared kind (write → update, other → read).
 */
export const CLASS_RULES: ReadonlyArray<{ pattern: RegExp; cls: CostClass }> = [
  { pattern: /\.userfield\.(add|update|delete)$|^userfieldconfig\.(add|update|delete)$|\.enumeration\.(add|update|delete)$/, cls: 'userFieldWrite' },
  { pattern: /\.productrows\.set$|^crm\.item\.productrow\.(add|update|delete|set)$/, cls: 'productRowWrite' },
  { pattern: /\.productrows\.get$|^crm\.item\.productrow\.(list|get)$/, cls: 'productRowRead' },
  { pattern: /^(event|placement)\.(bind|unbind)$/, cls: 'bind' },
  { pattern: /^crm\.(status|category|currency|enum|type)\.|\.fields$|\.userfield\.(list|get)$|^crm\.productsection\./, cls: 'read' },
  { pattern: /^crm\..*\.list$|^user\.get$|^catalog\..*\.list$/, cls: 'list' },
  { pattern: /^crm\..*\.get$/, cls: 'get' },
  { pattern: /^crm\..*\.add$/, cls: 'add' },
  { pattern: /^crm\..*\.update$/, cls: 'update' },
  { pattern: /^crm\..*\.delete$/, cls: 'delete' },
];

const KIND_FALLBACK: Record<CostKind, CostClass> = { list: 'list', get: 'read', write: 'update', bind: 'bind', other: 'read' };

export function classify(method: string, kind: CostKind): CostClass {
  const name = method.toLowerCase();
  for (const r of CLASS_RULES) if (r.pattern.test(name)) return r.cls;
  return KIND_FALLBACK[kind];
}

/** What the model needs to know about one call beyond its name. */
export interface CallShape {
  /** Rows the call returned (lists). */
  rows?: number;
  /** The list paid a count query: `start >= 0` (or no `start`). */
  startNonNegative?: boolean;
  /** Rows matching the filter (the list's `total` when counted). */
  matching?: number;
  /** The filter is complex (`isComplexFilter`). */
  complexFilter?: boolean;
}

/**
 * Seconds of processing of one call. Lists: base + perRow × rows + (start >= 0 ? perCountedRow ×
 * matching : 0) + (complex filter ? complexFilter : 0). Every other class is a flat cost. A
 * per-method override replaces the whole computation.
 */
export function processingOf(m: CostModel, method: string, kind: CostKind, shape: CallShape = {}): number {
  const name = method.toLowerCase();
  const override = m.methods[name];
  if (override !== undefined) return override;
  const cls = classify(name, kind);
  const base = m.classes[cls];
  if (cls !== 'list') return base;
  let s = base + m.perRow * (shape.rows ?? 0);
  if (shape.startNonNegative) s += m.perCountedRow * (shape.matching ?? 0);
  if (shape.complexFilter) s += m.complexFilter;
  return round6(s);
}

/** Threshold of leaf conditions from which a filter counts as complex. */
export const COMPLEX_FILTER_FIELDS = 3;

/**
 * A filter is complex when any of these holds (at any nesting level):
 * 1. a LIKE / substring operator: the key's operator prefix contains `%` (`%NAME`, `=%NAME`, `%=NAME`, `!%NAME`, `!=%NAME`);
 * 2. a logic group: a `logic`/`LOGIC` key, or a nested object of conditions (crm.item.list groups);
 * 3. `COMPLEX_FILTER_FIELDS` (3) or more leaf conditions (keys other than `logic`), counted over all groups.
 * Anything else (no filter, an array, one or two plain conditions like `>ID` and `CATEGORY_ID`) is simple.
 */
export function isComplexFilter(filter: unknown): boolean {
  const n = { leaves: 0, complex: false };
  walkFilter(filter, n);
  return n.complex || n.leaves >= COMPLEX_FILTER_FIELDS;
}

function walkFilter(f: unknown, n: { leaves: number; complex: boolean }): void {
  if (!f || typeof f !== 'object' || Array.isArray(f)) return;
  for (const [key, v] of Object.entries(f as Record<string, unknown>)) {
    if (key === 'logic' || key === 'LOGIC') {
      n.complex = true;
      continue;
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      n.complex = true;
      walkFilter(v, n);
      continue;
    }
    n.leaves++;
    const prefix = /^[!=<>@%]*/.exec(key)?.[0] ?? '';
    if (prefix.includes('%')) n.complex = true;
  }
}

/** Whether the `start` parameter asks for a counted page (anything but a negative integer). */
export function startIsNonNegative(start: unknown): boolean {
  if (start === undefined || start === null || start === '') return true;
  const n = Number.parseInt(String(start), 10);
  return Number.isNaN(n) || n >= 0;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** A bad `--costs` spec. */
export class CostSpecError extends Error {}

const SCALARS = ['perRow', 'perCountedRow', 'complexFilter', 'minimalFixTime', 'overhead'] as const;

/**
 * Parses the emulator's `--costs` flag: comma-separated `name=seconds`, where name is a cost class
 * (`update=0.5`), a model scalar (`perRow=0.001`, `minimalFixTime=0`) or a method name with a dot
 * (`crm.deal.list=0.2`, a flat per-call override). Seconds: a number from 0 to 3600.
 */
export function parseCostSpec(spec: string): CostModelPatch {
  const p: CostModelPatch = {};
  for (const part of spec.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Za-z][\w.]*)=(\d+(?:\.\d+)?(?:e-?\d+)?)$/.exec(part);
    const v = m ? Number(m[2]) : NaN;
    if (!m || !(v >= 0 && v <= 3600)) throw new CostSpecError(`--costs: "${part}" is not name=seconds (0..3600)`);
    const name = m[1]!;
    if ((COST_CLASSES as readonly string[]).includes(name)) (p.classes ??= {})[name as CostClass] = v;
    else if ((SCALARS as readonly string[]).includes(name)) p[name as (typeof SCALARS)[number]] = v;
    else if (name.includes('.')) (p.methods ??= {})[name.toLowerCase()] = v;
    else throw new CostSpecError(`--costs: unknown name "${name}" (classes: ${COST_CLASSES.join(', ')}; ${SCALARS.join(', ')}; or a method name)`);
  }
  return p;
}
