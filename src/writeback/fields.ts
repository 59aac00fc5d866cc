/**
 * Our CRM user fields (manifest/fields.json) on a portal: find, create, extend, remember.
 *
 *  - One `crm.<entity>.userfield.list` call lists the entity's user fields. Ours are found by
 *    XML_ID (manifest prefix + field name) or, failing that, by FIELD_NAME (adopted: XML_ID set).
 *    A reinstall therefore reuses the fields and never duplicates them.
 *  - Missing fields are created in one batch with their USER_TYPE_ID, settings, labels
 *    (EDIT_FORM_LABEL / LIST_COLUMN_LABEL / LIST_FILTER_LABEL lang maps, HELP_MESSAGE),
 *    SHOW_FILTER=Y, SHOW_IN_LIST=Y, SORT, MULTIPLE, XML_ID and, for enumerations, LIST items.
 *  - Enumeration items: one VALUE per item (the name in the portal's language: en, ru, de, pl or
 *    ua, Russian for by/kz portals, else English: src/scoring/i18n.ts), XML_ID = the stable code.
 *    A portal whose language changes gets its segment and lifecycle items renamed in place. Missing items are added with
 *    `userfield.update {LIST:[{VALUE, XML_ID, SORT}]}` (items not mentioned stay), e.g. new
 *    interest tags as the catalog grows or the RFM cells of a newly chosen scale.
 *  - The saved-segment field (UF_CRM_SEG_SAVED, items from the portal's saved segments, see
 *    saved-segment.ts) is kept in step: items of new segments are added, renamed or
 *    re-prioritised segments get their item's VALUE / SORT updated (`LIST:[{ID, VALUE, SORT}]`).
 *    Items of deleted segments are removed by the write-back once no contact holds them.
 *  - Field IDs and item IDs by code are stored in field_registry. When a field comes back with
 *    a different ID (deleted by hand, recreated here) or an item's ID changed, the stored CRM
 *    values and our written values of that field are forgotten for the whole entity, so the
 *    next write-back rewrites them.
 *  - A field whose name is taken by a field of another type is reported, never touched.
 * Uninstall: see `uninstallFields` (the portal keeps user fields of standard types).
 */
import type { B24Client } from '../b24/client.js';
import type { BatchCommand } from '../b24/batch-encoding.js';
import { loadManifest, type FieldManifest, type Manifest } from '../../manifest/index.js';
import type { Db } from '../store/db.js';
import { getPortal } from '../store/portals.js';
import { getSections } from '../store/crm.js';
import {
  LIFECYCLE_CODES, SEGMENT_CODES, allCells, cellLabel, lifecycleText, localeOf, segmentText, type Locale,
  type ScoringSettings,
} from '../scoring/index.js';
import { readSettings, type SavedSegment } from '../settings/index.js';
import { savedItemDefs } from './saved-segment.js';

export type WbEntity = 'contact' | 'company';

export interface RegisteredField {
  entity: WbEntity;
  fieldName: string;
  ufId: number;
  xmlId: string | null;
  userTypeId: string;
  multiple: boolean;
  /** enumeration item IDs by code */
  items: Record<string, number>;
}

/** fieldName → registered field, for one entity. */
export type FieldRegistry = Map<string, RegisteredField>;

export interface InterestItem {
  tag: string;
  name: string;
}

/** A refusal reason as an item of the refusal-reason field: code = its key (refusalReasonKey), VALUE = its words. */
export interface ReasonItem {
  key: string;
  name: string;
}

/** A saved segment as an item of the saved-segment field. */
export interface SavedItem {
  id: string;
  name: string;
  priority: number;
}

export interface RegisterFieldsOptions {
  /** default: contact, plus company when portal settings say b2b */
  entities?: WbEntity[];
  /** enumeration item names; default: the portal's language */
  language?: string;
  /** scoring settings (RFM scale); default: the portal's */
  settings?: ScoringSettings;
  /** interest items to make sure of (besides the catalog's sections at the configured depth) */
  interests?: readonly InterestItem[];
  /** saved segments (items of the saved-segment field); default: the portal's */
  savedSegments?: readonly SavedItem[];
  /** refusal reasons the labels hold (items of the refusal-reason field) */
  refusalReasons?: readonly ReasonItem[];
  manifest?: Manifest;
}

export interface RegisterFieldsReport {
  created: string[];
  existing: string[];
  /** fields that existed in our registry under another ID (deleted by hand) and were created again */
  recreated: string[];
  /** items added per field name */
  itemsAdded: Record<string, string[]>;
  /** items whose VALUE / SORT were updated (renamed or re-prioritised saved segments), per field name */
  itemsUpdated: Record<string, string[]>;
  /** problems that did not stop the registration (conflicting type, failed command) */
  errors: string[];
  registries: Partial<Record<WbEntity, FieldRegistry>>;
  /** REST requests / calls spent */
  requests: number;
}

// ---- item sources ------------------------------------------------------------------------

export interface ItemDef {
  code: string;
  value: string;
  sort: number;
}

/** The portal's language → the language of our enumeration items (en, ru, de, pl, ua: src/scoring/i18n.ts). */
export { localeOf };

/** Interest items of the catalog: sections at the configured depth ("section:<id>") and mapped tags. */
export async function catalogInterests(db: Db, portalId: number, settings: ScoringSettings): Promise<InterestItem[]> {
  const sections = await getSections(db, portalId);
  const byId = new Map(sections.map((s) => [s.id, s]));
  const out = new Map<string, string>();
  for (const s of sections) {
    // chain to root; the tag is the ancestor at `depth` (a shallower section stays itself)
    const chain: number[] = [];
    const seen = new Set<number>();
    let cur: number | null = s.id;
    while (cur !== null && cur !== 0 && !seen.has(cur)) {
      seen.add(cur);
      chain.push(cur);
      cur = byId.get(cur)?.parentId ?? null;
    }
    const at = chain[Math.max(0, chain.length - settings.interests.depth)]!;
    out.set(`section:${at}`, byId.get(at)?.name ?? `section ${at}`);
  }
  for (const e of settings.interests.map) {
    out.set(e.tag, e.tag);
    for (const r of e.related) out.set(r.tag, r.tag);
  }
  return [...out].map(([tag, name]) => ({ tag, name }));
}

export function itemsFor(
  source: NonNullable<FieldManifest['items']>,
  locale: Locale,
  settings: ScoringSettings,
  interests: readonly InterestItem[],
  saved: readonly SavedItem[] = [],
  reasons: readonly ReasonItem[] = [],
): ItemDef[] {
  switch (source) {
    case 'rfmLevels':
      return [1, 2, 3, 4, 5].map((l) => ({ code: String(l), value: String(l), sort: l * 10 }));
    case 'rfmCells': {
      const scale = settings.rfm.scale;
      return allCells(scale).map(([r, f, m], i) => {
        const label = cellLabel(scale, r, f, m);
        return { code: label, value: label, sort: (i + 1) * 10 };
      });
    }
    case 'segments':
      return SEGMENT_CODES.map((c, i) => ({ code: c, value: segmentText(c, locale).name, sort: (i + 1) * 10 }));
    case 'lifecycles':
      return LIFECYCLE_CODES.map((c, i) => ({ code: c, value: lifecycleText(c, locale).name, sort: (i + 1) * 10 }));
    case 'interests':
      return [...interests]
        .sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
        .map((t, i) => ({ code: t.tag, value: t.name || t.tag, sort: (i + 1) * 10 }));
    case 'savedSegments':
      return savedItemDefs(saved);
    case 'refusalReasons':
      return [...reasons]
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .map((r, i) => ({ code: r.key, value: r.name, sort: (i + 1) * 10 }));
  }
}

// ---- REST shapes -------------------------------------------------------------------------

interface UfRow {
  ID: string | number;
  FIELD_NAME: string;
  USER_TYPE_ID: string;
  XML_ID?: string | null;
  MULTIPLE?: string;
  LIST?: Array<{ ID: string | number; XML_ID?: string | null; VALUE?: string; SORT?: string | number }>;
}

const ufMethod = (entity: WbEntity, op: string) => `crm.${entity}.userfield.${op}`;

function addFields(f: FieldManifest, xmlId: string, items: ItemDef[], locale: Locale): Record<string, unknown> {
  const label = f.label as Record<string, string>;
  const fields: Record<string, unknown> = {
    FIELD_NAME: f.name,
    USER_TYPE_ID: f.type,
    XML_ID: xmlId,
    SORT: f.sort,
    MULTIPLE: f.multiple ? 'Y' : 'N',
    MANDATORY: 'N',
    SHOW_FILTER: 'Y',
    SHOW_IN_LIST: 'Y',
    EDIT_IN_LIST: 'N',
    IS_SEARCHABLE: 'N',
    LABEL: label[locale] ?? label.en,
    EDIT_FORM_LABEL: label,
    LIST_COLUMN_LABEL: label,
    LIST_FILTER_LABEL: label,
  };
  if (f.help) fields.HELP_MESSAGE = f.help;
  const settings: Record<string, unknown> = { ...f.settings };
  if (f.type === 'enumeration') {
    settings.DISPLAY ??= f.multiple ? 'UI' : 'LIST';
    fields.LIST = items.map((i) => ({ VALUE: i.value, XML_ID: i.code, SORT: i.sort, DEF: 'N' }));
  }
  if (Object.keys(settings).length) fields.SETTINGS = settings;
  return fields;
}

// ---- registry persistence ----------------------------------------------------------------

export async function loadRegistry(db: Db, portalId: number, entity: WbEntity): Promise<FieldRegistry> {
  const { rows } = await db.query<{
    field_name: string; uf_id: number; xml_id: string | null; user_type_id: string; multiple: boolean; items: Record<string, number>;
  }>(`SELECT field_name, uf_id, xml_id, user_type_id, multiple, items FROM field_registry WHERE portal_id = $1 AND entity = $2`, [portalId, entity]);
  const out: FieldRegistry = new Map();
  for (const r of rows) {
    out.set(r.field_name, { entity, fieldName: r.field_name, ufId: r.uf_id, xmlId: r.xml_id, userTypeId: r.user_type_id, multiple: r.multiple, items: r.items ?? {} });
  }
  return out;
}

async function saveRegistry(db: Db, portalId: number, entity: WbEntity, reg: FieldRegistry): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`DELETE FROM field_registry WHERE portal_id = $1 AND entity = $2`, [portalId, entity]);
    for (const f of reg.values()) {
      await tx.query(
        `INSERT INTO field_registry (portal_id, entity, field_name, uf_id, xml_id, user_type_id, multiple, items)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
        [portalId, entity, f.fieldName, f.ufId, f.xmlId, f.userTypeId, f.multiple, JSON.stringify(f.items)],
      );
    }
  });
}

/**
 * Forgets what the CRM holds and what we wrote for these fields (a recreated field is empty):
 * the next write-back writes them again for every record that should carry a value.
 */
export async function forgetFieldValues(db: Db, portalId: number, entity: WbEntity, fieldNames: readonly string[]): Promise<void> {
  if (fieldNames.length === 0) return;
  const table = entity === 'contact' ? 'contacts' : 'companies';
  const names = [...fieldNames];
  await db.query(`UPDATE ${table} SET uf = uf - $2::text[] WHERE portal_id = $1 AND uf ?| $2::text[]`, [portalId, names]);
  await db.query(
    `UPDATE written_values SET "values" = "values" - $3::text[] WHERE portal_id = $1 AND entity = $2 AND "values" ?| $3::text[]`,
    [portalId, entity, names],
  );
}

// ---- main --------------------------------------------------------------------------------

/** What registration needs of the portal: its scoring settings, language, B2B option and saved segments (read by src/settings). */
export async function portalFieldSettings(db: Db, portalId: number): Promise<{ settings: ScoringSettings; language: string; b2b: boolean; saved: SavedSegment[] }> {
  const portal = await getPortal(db, portalId);
  const { settings } = readSettings(portal?.settings);
  return { settings: settings.scoring, language: portal?.language ?? 'en', b2b: settings.b2b, saved: settings.savedSegments };
}

/**
 * Makes sure every manifest field exists on the portal for each entity, with the items the
 * current settings and catalog need; stores and returns the registries.
 */
export async function registerFields(client: B24Client, db: Db, portalId: number, opts: RegisterFieldsOptions = {}): Promise<RegisterFieldsReport> {
  const manifest = opts.manifest ?? loadManifest();
  const ps = await portalFieldSettings(db, portalId);
  const settings = opts.settings ?? ps.settings;
  const locale = localeOf(opts.language ?? ps.language);
  const entities = (opts.entities ?? (ps.b2b ? ['contact', 'company'] : ['contact'])).filter((e) => manifest.fields.entities.includes(e));
  const interests = new Map<string, string>();
  for (const i of await catalogInterests(db, portalId, settings)) interests.set(i.tag, i.name);
  for (const i of opts.interests ?? []) if (!interests.has(i.tag)) interests.set(i.tag, i.name);
  const interestList = [...interests].map(([tag, name]) => ({ tag, name }));
  const saved = opts.savedSegments ?? ps.saved;

  const report: RegisterFieldsReport = {
    created: [], existing: [], recreated: [], itemsAdded: {}, itemsUpdated: {}, errors: [], registries: {}, requests: 0,
  };
  const req0 = client.counters.requests;
  for (const entity of entities) {
    report.registries[entity] = await registerEntity({
      client, db, portalId, entity, manifest: manifestFor(manifest, entity), prefix: manifest.fields.xmlIdPrefix, locale, report,
      tag: (name) => (entity === 'contact' ? name : `${entity}:${name}`),
      wanted: wantedItems(manifest, locale, settings, interestList, saved, opts.refusalReasons ?? []),
      // fields whose item names come from our texts follow them (a renamed segment, e.g. the Russian
      // name of Hibernating, updates the item's VALUE in place: same item ID, no duplicate)
      followed: new Set(manifest.fields.fields.filter((f) => f.items === 'savedSegments' || f.items === 'segments' || f.items === 'lifecycles' || f.items === 'refusalReasons').map((f) => f.name)),
      rowsOf: new Map(),
      reg: new Map(),
    });
  }
  report.requests = client.counters.requests - req0;
  return report;
}

/** One entity's registration: its inputs and what the steps below fill in. */
interface EntityRun {
  client: B24Client;
  db: Db;
  portalId: number;
  entity: WbEntity;
  manifest: Manifest;
  /** XML_ID prefix */
  prefix: string;
  locale: Locale;
  report: RegisterFieldsReport;
  /** a field name as reported (company fields get "company:") */
  tag: (name: string) => string;
  /** the items each enumeration should have */
  wanted: Map<string, ItemDef[]>;
  /** fields whose existing items follow their source's VALUE / SORT (saved segments: renamed, re-prioritised; segments and lifecycles: renamed) */
  followed: ReadonlySet<string>;
  /** item rows as read from the portal, per followed field */
  rowsOf: Map<string, NonNullable<UfRow['LIST']>>;
  /** the registry being built */
  reg: FieldRegistry;
}

/** The manifest with only the fields registered on `entity` (a field's own `entities`, default all). */
function manifestFor(m: Manifest, entity: WbEntity): Manifest {
  return { ...m, fields: { ...m.fields, fields: m.fields.fields.filter((f) => !f.entities || f.entities.includes(entity)) } };
}

function wantedItems(
  manifest: Manifest, locale: Locale, settings: ScoringSettings, interests: InterestItem[], saved: readonly SavedItem[], reasons: readonly ReasonItem[],
): Map<string, ItemDef[]> {
  const wanted = new Map<string, ItemDef[]>();
  for (const f of manifest.fields.fields) if (f.items) wanted.set(f.name, itemsFor(f.items, locale, settings, interests, saved, reasons));
  return wanted;
}

/** Our fields among the portal's (by XML_ID, else by FIELD_NAME: adopted). */
async function findFields(run: EntityRun): Promise<Map<string, UfRow>> {
  const rows = (await run.client.call<UfRow[]>(ufMethod(run.entity, 'list'), { order: { SORT: 'ASC', ID: 'ASC' } })) ?? [];
  const found = new Map<string, UfRow>();
  for (const f of run.manifest.fields.fields) {
    const xml = run.prefix + f.name;
    const row = rows.find((r) => r.XML_ID === xml) ?? rows.find((r) => String(r.FIELD_NAME).toUpperCase() === f.name);
    if (row) found.set(f.name, row);
  }
  return found;
}

/** 1. Creates the missing fields (one batch); returns their new IDs. */
async function createMissing(run: EntityRun, found: ReadonlyMap<string, UfRow>, previous: FieldRegistry): Promise<Map<string, number>> {
  const { report, tag } = run;
  const create: Record<string, BatchCommand> = {};
  for (const f of run.manifest.fields.fields) {
    if (found.has(f.name)) continue;
    create[f.name] = [ufMethod(run.entity, 'add'), { fields: addFields(f, run.prefix + f.name, run.wanted.get(f.name) ?? [], run.locale) }];
  }
  const createdIds = new Map<string, number>();
  if (!Object.keys(create).length) return createdIds;
  const r = await run.client.batch(create);
  for (const name of Object.keys(create)) {
    const e = r.errors[name];
    if (e) { report.errors.push(`${tag(name)}: create failed: ${e.code || '(no code)'} ${e.description}`); continue; }
    createdIds.set(name, Number(r.results[name]));
    (previous.has(name) ? report.recreated : report.created).push(tag(name));
  }
  return createdIds;
}

/** 2. Adopts / checks the existing fields (XML_ID set on adopted ones), registers every usable field and reads enumeration items. */
async function adoptFields(run: EntityRun, found: ReadonlyMap<string, UfRow>, createdIds: ReadonlyMap<string, number>): Promise<void> {
  const { report, tag, reg, prefix } = run;
  const fix: Record<string, BatchCommand> = {};
  const needItems: string[] = [];
  for (const f of run.manifest.fields.fields) {
    const row = found.get(f.name);
    const id = row ? Number(row.ID) : createdIds.get(f.name);
    if (id === undefined) continue;
    if (row) {
      if (row.USER_TYPE_ID !== f.type) {
        report.errors.push(`${tag(f.name)}: exists with type ${row.USER_TYPE_ID}, expected ${f.type}; not used`);
        continue;
      }
      report.existing.push(tag(f.name));
      if (row.XML_ID !== prefix + f.name) fix[`x_${f.name}`] = [ufMethod(run.entity, 'update'), { id, fields: { XML_ID: prefix + f.name } }];
    }
    reg.set(f.name, { entity: run.entity, fieldName: f.name, ufId: id, xmlId: prefix + f.name, userTypeId: f.type, multiple: f.multiple, items: {} });
    if (f.type !== 'enumeration') continue;
    if (row?.LIST) {
      reg.get(f.name)!.items = itemMap(row.LIST);
      if (run.followed.has(f.name)) run.rowsOf.set(f.name, row.LIST);
    } else needItems.push(f.name);
  }
  if (Object.keys(fix).length) {
    const r = await run.client.batch(fix);
    for (const [k, e] of Object.entries(r.errors)) report.errors.push(`${tag(k.slice(2))}: ${e.code || '(no code)'} ${e.description}`);
  }
  await readItems(run.client, run.entity, reg, needItems, report, run.rowsOf);
}

/** 3. Adds missing enumeration items; updates the VALUE / SORT of followed fields' items. */
async function syncItems(run: EntityRun): Promise<void> {
  const { report, tag, reg } = run;
  const add: Record<string, BatchCommand> = {};
  const addedCodes = new Map<string, string[]>();
  const updatedCodes = new Map<string, string[]>();
  for (const [name, items] of run.wanted) {
    const f = reg.get(name);
    if (!f) continue;
    const missing = items.filter((i) => f.items[i.code] === undefined);
    const stale = run.followed.has(name) ? staleItems(items, f.items, run.rowsOf.get(name) ?? []) : [];
    if (!missing.length && !stale.length) continue;
    add[name] = [ufMethod(run.entity, 'update'), {
      id: f.ufId,
      fields: {
        LIST: [
          ...stale.map((i) => ({ ID: f.items[i.code], VALUE: i.value, SORT: i.sort })),
          ...missing.map((i) => ({ VALUE: i.value, XML_ID: i.code, SORT: i.sort, DEF: 'N' })),
        ],
      },
    }];
    addedCodes.set(name, missing.map((i) => i.code));
    if (stale.length) updatedCodes.set(name, stale.map((i) => i.code));
  }
  if (!Object.keys(add).length) return;
  const r = await run.client.batch(add);
  const ok: string[] = [];
  for (const name of Object.keys(add)) {
    const e = r.errors[name];
    if (e) { report.errors.push(`${tag(name)}: adding items failed: ${e.code || '(no code)'} ${e.description}`); continue; }
    ok.push(name);
    if (addedCodes.get(name)!.length) report.itemsAdded[tag(name)] = addedCodes.get(name)!;
    if (updatedCodes.has(name)) report.itemsUpdated[tag(name)] = updatedCodes.get(name)!;
  }
  await readItems(run.client, run.entity, reg, ok.filter((n) => addedCodes.get(n)!.length), report);
}

/** 4. Remembers the registry; forgets the values of fields that are new or whose item IDs moved. */
async function remember(run: EntityRun, previous: FieldRegistry, createdIds: ReadonlyMap<string, number>): Promise<void> {
  const forget: string[] = [];
  for (const f of run.reg.values()) {
    const p = previous.get(f.fieldName);
    if (createdIds.has(f.fieldName)) { forget.push(f.fieldName); continue; }
    if (!p) continue;
    if (p.ufId !== f.ufId) { forget.push(f.fieldName); continue; }
    if (Object.entries(p.items).some(([code, id]) => f.items[code] !== undefined && f.items[code] !== id)) forget.push(f.fieldName);
  }
  await forgetFieldValues(run.db, run.portalId, run.entity, forget);
  await saveRegistry(run.db, run.portalId, run.entity, run.reg);
}

async function registerEntity(run: EntityRun): Promise<FieldRegistry> {
  const previous = await loadRegistry(run.db, run.portalId, run.entity);
  const found = await findFields(run);
  const createdIds = await createMissing(run, found, previous);
  await adoptFields(run, found, createdIds);
  await syncItems(run);
  await remember(run, previous, createdIds);
  return run.reg;
}

function itemMap(list: NonNullable<UfRow['LIST']>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of list) if (i.XML_ID) out[String(i.XML_ID)] = Number(i.ID);
  return out;
}

/** Wanted items whose existing item has another VALUE or SORT. */
function staleItems(wanted: readonly ItemDef[], ids: Record<string, number>, rows: NonNullable<UfRow['LIST']>): ItemDef[] {
  const byId = new Map(rows.map((r) => [Number(r.ID), r]));
  return wanted.filter((i) => {
    const id = ids[i.code];
    const row = id === undefined ? undefined : byId.get(id);
    return row !== undefined && (String(row.VALUE ?? '') !== i.value || Number(row.SORT) !== i.sort);
  });
}

async function readItems(
  client: B24Client, entity: WbEntity, reg: FieldRegistry, names: readonly string[], report: RegisterFieldsReport,
  rowsOf?: Map<string, NonNullable<UfRow['LIST']>>,
): Promise<void> {
  if (!names.length) return;
  const cmds: Record<string, BatchCommand> = {};
  for (const n of names) cmds[n] = [ufMethod(entity, 'get'), { id: reg.get(n)!.ufId }];
  const r = await client.batch(cmds);
  for (const n of names) {
    const e = r.errors[n];
    if (e) { report.errors.push(`${n}: reading items failed: ${e.code || '(no code)'} ${e.description}`); continue; }
    const row = r.results[n] as UfRow | undefined;
    reg.get(n)!.items = itemMap(row?.LIST ?? []);
    rowsOf?.set(n, row?.LIST ?? []);
  }
}

/**
 * Uninstall clean-up (https://apidocs.bitrix24.com/api-reference/common/events/on-app-install.html, https://apidocs.bitrix24.com/api-reference/crm/contacts/userfield/index.html): the portal removes custom UF *types* of an app but
 * keeps user fields of standard types, so the app deletes its own fields itself — only while it
 * still has a token, i.e. from the settings page ("remove the app's fields", remove-fields.ts)
 * before uninstalling; ONAPPUNINSTALL carries no token. `deleteFields` false keeps the fields
 * (the admin's data). Ours are the registry's fields and any field of the portal whose XML_ID is
 * ours (a registry lost or out of date still finds them: one list call per entity).
 * Always forgets our registry and written values for the portal.
 */
export async function uninstallFields(client: B24Client | null, db: Db, portalId: number, opts: { deleteFields: boolean }): Promise<{ deleted: string[]; errors: string[] }> {
  const out = { deleted: [] as string[], errors: [] as string[] };
  if (client && opts.deleteFields) {
    const m = loadManifest();
    const ours = new Map(m.fields.fields.map((f) => [m.fields.xmlIdPrefix + f.name, f.name]));
    for (const entity of m.fields.entities) {
      const ids = new Map<string, number>();
      for (const f of (await loadRegistry(db, portalId, entity)).values()) ids.set(f.fieldName, f.ufId);
      const rows = (await client.call<UfRow[]>(ufMethod(entity, 'list'), { order: { ID: 'ASC' } })) ?? [];
      for (const r of rows) {
        const name = r.XML_ID ? ours.get(r.XML_ID) : undefined;
        if (name && String(r.FIELD_NAME).toUpperCase() === name) ids.set(name, Number(r.ID));
      }
      if (!ids.size) continue;
      const cmds: Record<string, BatchCommand> = {};
      for (const [name, id] of ids) cmds[name] = [ufMethod(entity, 'delete'), { id }];
      const r = await client.batch(cmds);
      for (const n of Object.keys(cmds)) {
        const e = r.errors[n];
        if (e) out.errors.push(`${entity}:${n}: ${e.code || '(no code)'} ${e.description}`);
        else out.deleted.push(entity === 'contact' ? n : `${entity}:${n}`);
      }
    }
  }
  await db.query(`DELETE FROM field_registry WHERE portal_id = $1`, [portalId]);
  await db.query(`DELETE FROM written_values WHERE portal_id = $1`, [portalId]);
  return out;
}
