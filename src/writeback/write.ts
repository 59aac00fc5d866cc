/**
 * Write-back: the latest score run's labels → the contacts' UF_CRM_SEG_* fields.
 *
 *  1. registerFields: lists our fields (one call), recreates fields deleted by hand, adds
 *     enumeration items the run needs (new interest tags, cells of a new scale).
 *  2. Diff every labelled contact (diff.ts) against what the CRM holds (contacts.uf) and what
 *     we last wrote (written_values); only contacts with a changed field are written, and only
 *     their changed fields.
 *  3. Batches of 50 commands through the client's limiter (a batch that writes the interests field
 *     first reads that field's current value, keeping a manager's hand-set tags: own-interests.ts). When the run's estimated operating
 *     time does not fit one method's free budget, commands alternate between
 *     `crm.contact.update` and `crm.item.update` (entityTypeId 3, ufCrm… keys): the portal
 *     budgets operating time per method, so two methods doing the same work halve the wait.
 *  4. After each batch the written values are recorded (written_values, contacts.uf), so a
 *     crash resumes with what is left and a repeated run writes nothing.
 *  5. Errors never crash the run: a batch that may not have reached the portal (network error,
 *     5xx) is repeated by the client's own retry policy (setting the same values twice is
 *     harmless: `batch(..., {idempotent: true})`), then the pass stops and the next run resumes;
 *     a contact deleted in the CRM is skipped and forgotten; a value
 *     error on an enumeration (item deleted by hand) re-registers the fields and retries once;
 *     a field deleted by hand during the run (a write to an unknown field is silently ignored
 *     by the portal) is caught by re-listing the fields at the end: it is recreated and the
 *     affected contacts are written again in a second pass. Anything else is counted and reported.
 *  6. The saved-segment field (saved-segment.ts): with `segmentField.enabled` each contact's
 *     desired value is its highest-priority saved segment (or empty), diffed like the others;
 *     with the option off the field is left out (neither written nor cleared). At the end,
 *     items of deleted saved segments that no contact holds any more are deleted.
 *  7. Companies (B2B option on and the run labelled them): the same steps for the company labels
 *     into the companies' fields of the same names, with `crm.company.update` (spread:
 *     `crm.item.update` entityTypeId 4), diffed against companies.uf and written_values of entity
 *     'company'. Saved segments are contact filters: the company pass leaves UF_CRM_SEG_SAVED out.
 *  8. With the app's fields removed by an admin (settings.fields.removed, remove-fields.ts) the
 *     run does nothing (result.skipped FIELDS_REMOVED), and a run under way stops before it would
 *     register (create) fields again.
 */
import type { B24Client } from '../b24/client.js';
import type { BatchCommand } from '../b24/batch-encoding.js';
import type { Db } from '../store/db.js';
import { latestScoreRun, type ContactLabel } from '../store/scores.js';
import { KIND_TABLES, runHasCompanies, type CustomerKind } from '../store/customer-kinds.js';
import { getPortal } from '../store/portals.js';
import { readSection } from '../settings/index.js';
import { portalFieldSettings, registerFields, type FieldRegistry, type ReasonItem, type RegisterFieldsReport } from './fields.js';
import { AssignmentCursor, pruneSavedItems, SAVED_FIELD, savedSegmentConfig, type SavedSegmentConfig } from './saved-segment.js';
import { writebackEta, type WriteProgress } from './eta.js';
import { byPriority, tierOf, valueOf, type Tier } from './priority.js';
import {
  baseValue, crmToSemantic, DEFAULT_TOLERANCE, desiredValues, diffRecord, sameValue, toStoredCrmValue, toWriteValue, ufCamel, type SemValues, type Tolerances,
} from './diff.js';
import { F, manifestFields } from './manifest-fields.js';
import { mergeInterests, ownTags, OWN_INTERESTS_KEY } from './own-interests.js';
import { fieldsRemoved } from './remove-fields.js';
import { pack, unpack, type Pending, type Planned } from './packed.js';

export type SpreadMode = 'auto' | 'always' | 'never';

export interface WriteBackOptions {
  tolerance?: Partial<Tolerances>;
  spread?: SpreadMode;
  /** commands per batch (≤ 50) */
  batchSize?: number;
  /** labels per store page (default 5000) */
  pageSize?: number;
  /** estimated operating seconds per update call, for the spreading decision (default: what the client's limiter has learned) */
  costPerCall?: number;
  /** operating budget per method per 10 min (default: the client's limiter's, 480) */
  operatingBudget?: number;
  /** stop after this many contacts written (tests: simulate a crash mid-run) */
  maxWrites?: number;
  /** progress callback after each batch (also stored in writeback_runs.counts.progress, eta.ts) */
  onBatch?: (p: { written: number } & WriteProgress) => void | Promise<void>;
}

export interface WriteBackResult {
  runId: number | null;
  scoreRunId: number | null;
  /** contacts considered (labelled and present in the store) */
  considered: number;
  /** contacts written successfully */
  written: number;
  /** field values written, by field */
  fieldsWritten: Record<string, number>;
  failed: number;
  /** contacts gone from the CRM */
  missing: number;
  /** contacts left out because a field/item could not be resolved */
  unresolved: number;
  spread: boolean;
  byMethod: Record<string, number>;
  requests: number;
  passes: number;
  fields: Pick<RegisterFieldsReport, 'created' | 'recreated' | 'itemsAdded' | 'itemsUpdated' | 'errors'>;
  /** the saved-segment field: written or not, items of deleted segments removed / kept (still held) */
  savedField: { enabled: boolean; segments: number; itemsRemoved: string[]; itemsKept: string[] };
  errors: string[];
  /** the companies' pass (B2B); null when companies were not written (B2B off or not labelled by the run) */
  companies: CompanyWriteResult | null;
  /** FIELDS_REMOVED: the admin removed the app's fields (remove-fields.ts); nothing was written or created */
  skipped?: 'FIELDS_REMOVED';
  ms: number;
}

/** What the companies' pass did (the same meanings as for contacts). */
export type CompanyWriteResult = Pick<WriteBackResult, 'considered' | 'written' | 'fieldsWritten' | 'failed' | 'missing' | 'unresolved' | 'spread' | 'byMethod' | 'passes' | 'errors'>;


interface LabelRow extends ContactLabel {
  uf: Record<string, unknown> | null;
  wv: SemValues | null;
}

/** The label columns, the CRM's values (c.uf) and what we last wrote, of a kind's labels l joined to its CRM rows c. */
const labelSelect = (kind: CustomerKind) => {
  const id = `l.${KIND_TABLES[kind].id}`;
  return `${id} AS "contactId", l.segment, l.rfm, l.r, l.f, l.m, l.recency_days AS "recencyDays", l.frequency,
  l.monetary, l.first_purchase AS "firstPurchase", l.last_purchase AS "lastPurchase", l.lifecycle, l.sleeping, l.p_alive AS "pAlive",
  l.clv, l.next_purchase AS "nextPurchase", l.interests, l.extra, c.uf,
  (SELECT w."values" FROM written_values w WHERE w.portal_id = l.portal_id AND w.entity = '${kind}' AND w.entity_id = ${id}) AS wv`;
};

/** The portal's write-back options (settings.writeback, src/settings/writeback.ts) with their defaults applied. */
export async function writebackSettings(db: Db, portalId: number): Promise<{ tolerance: Tolerances; spread: SpreadMode }> {
  const wb = readSection((await getPortal(db, portalId))?.settings, 'writeback').value;
  const t = wb.tolerance ?? DEFAULT_TOLERANCE;
  return { tolerance: { clv: wb.clvTolerance ?? t, pAlive: wb.pAliveTolerance ?? t, daysOverdue: t }, spread: wb.spread };
}

async function interestItems(db: Db, portalId: number, runId: number): Promise<Array<{ tag: string; name: string }>> {
  const { rows } = await db.query<{ tag: string; name: string | null }>(
    `SELECT t.tag, s.name FROM (SELECT unnest(interests) AS tag FROM contact_labels WHERE portal_id = $1 AND run_id = $2
                                UNION SELECT unnest(interests) FROM company_labels WHERE portal_id = $1 AND run_id = $2) t
       LEFT JOIN sections s ON s.portal_id = $1 AND t.tag = 'section:' || s.id::text`,
    [portalId, runId],
  );
  return rows.map((r) => ({ tag: r.tag, name: r.name ?? r.tag }));
}

/**
 * The refusal reasons of the run's refused contacts and companies (one list serves both fields):
 * one item per key, named by its first wording.
 */
async function reasonItems(db: Db, portalId: number, runId: number): Promise<ReasonItem[]> {
  const { rows } = await db.query<{ key: string; name: string }>(
    `SELECT key, min(name) AS name FROM (
       SELECT extra->>'refusalReasonKey' AS key, extra->>'refusalReason' AS name FROM contact_labels
        WHERE portal_id = $1 AND run_id = $2 AND lifecycle = 'refused' AND extra->>'refusalReasonKey' IS NOT NULL
       UNION ALL
       SELECT extra->>'refusalReasonKey', extra->>'refusalReason' FROM company_labels
        WHERE portal_id = $1 AND run_id = $2 AND lifecycle = 'refused' AND extra->>'refusalReasonKey' IS NOT NULL) r
      GROUP BY 1 ORDER BY 1`,
    [portalId, runId],
  );
  return rows.map((r) => ({ key: r.key, name: r.name }));
}

/**
 * Contacts of the run whose fields differ (diff.ts), streamed from the store.
 * written_values is read by a correlated primary-key lookup, not a LEFT JOIN: right after the
 * first write-back fills it, PostgreSQL has no statistics yet, estimated one row per side and
 * joined every label against a scan of the portal's whole written_values (measured: 20,000
 * contacts, a no-change run took 26–43 s instead of < 1 s until autovacuum analysed the table).
 */
async function plan(
  db: Db, portalId: number, runId: number, reg: FieldRegistry, tol: Tolerances, pageSize: number, saved: SavedSegmentConfig,
  onlyFields?: ReadonlySet<string>, kind: CustomerKind = 'contact',
) {
  const cursor = saved.enabled && kind === 'contact' ? new AssignmentCursor(db, portalId, saved.usable, pageSize) : null;
  try {
    return await planPages(db, portalId, runId, reg, tol, pageSize, cursor, onlyFields, kind);
  } finally {
    await cursor?.close();
  }
}

async function planPages(
  db: Db, portalId: number, runId: number, reg: FieldRegistry, tol: Tolerances, pageSize: number, cursor: AssignmentCursor | null,
  onlyFields: ReadonlySet<string> | undefined, kind: CustomerKind,
) {
  const t = KIND_TABLES[kind];
  // packed (./packed.ts): a first write-back plans every contact
  const pending: Planned[] = [];
  let considered = 0;
  let unresolved = 0;
  let after = -1;
  for (;;) {
    const { rows } = await db.query<LabelRow>(
      `SELECT ${labelSelect(kind)} FROM ${t.labels} l
         JOIN ${t.crm} c ON c.portal_id = l.portal_id AND c.id = l.${t.id}
        WHERE l.portal_id = $1 AND l.run_id = $2 AND l.${t.id} > $3 ORDER BY l.${t.id} LIMIT $4`,
      [portalId, runId, after, pageSize],
    );
    if (!rows.length) break;
    after = Number(rows[rows.length - 1]!.contactId);
    const assigned = cursor ? await cursor.upTo(after) : null;
    for (const r of rows) {
      considered++;
      let desired = desiredValues(r);
      // the saved-segment field: its value when the option is on, left out entirely when off
      if (assigned) desired[SAVED_FIELD] = assigned.get(r.contactId) ?? null;
      else delete desired[SAVED_FIELD];
      // the campaign group field belongs to src/campaigns: left out here (neither written nor cleared)
      delete desired[F.CAMPAIGN_GROUP];
      if (onlyFields) desired = Object.fromEntries(Object.entries(desired).filter(([k]) => onlyFields.has(k)));
      const own = F.INTERESTS in desired ? keepHandTags(desired, r, reg) : undefined;
      const d = diffRecord(desired, r.uf, r.wv, reg, tol);
      if (d.unresolved.length) unresolved++;
      if (Object.keys(d.changed).length) {
        pending.push(pack({ id: r.contactId, changed: d.changed, ...priorityOf(r, d.changed, reg), ...(F.INTERESTS in d.changed ? { own, owned: ownTags(r.wv, F.INTERESTS) } : {}) }));
      }
    }
    if (rows.length < pageSize) break;
  }
  // value first (priority.ts): the fields that matter reach the CRM first
  pending.sort(byPriority);
  return { pending, considered, unresolved };
}

/** A changed customer's place in the write-back order (priority.ts): its segment now in the CRM → the one written. */
function priorityOf(r: LabelRow, changed: SemValues, reg: FieldRegistry): { tier: Tier; value: number } {
  const def = manifestFields().get(F.SEGMENT)!;
  const from = baseValue(def, r.uf, r.wv, reg.get(F.SEGMENT));
  const to = F.SEGMENT in changed ? changed[F.SEGMENT] : from;
  const p = {
    segmentFrom: from === null ? null : String(from), segmentTo: to === null || to === undefined ? null : String(to),
    lifecycleChanged: F.LIFECYCLE in changed, clv: num(r.clv), monetary: num(r.monetary),
  };
  return { tier: tierOf(p), value: valueOf(p) };
}

const num = (v: unknown): number | null => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v));

/**
 * The interests field keeps a manager's own tags (own-interests.ts): `desired` gets the CRM's tags
 * minus the ones the app last wrote, plus the app's tags now. Returns the app's tags now.
 */
function keepHandTags(desired: SemValues, r: LabelRow, reg: FieldRegistry): string[] {
  const name = F.INTERESTS;
  const app = desired[name] ?? null;
  const def = manifestFields().get(name)!;
  const current = r.uf && Object.prototype.hasOwnProperty.call(r.uf, name) ? crmToSemantic(def, r.uf[name], reg.get(name)) : (r.wv?.[name] ?? null);
  desired[name] = mergeInterests(app, current, ownTags(r.wv, name));
  return Array.isArray(app) ? app : [];
}

/**
 * Right before the interests field is written, its value is read from the portal (one
 * crm.contact.list / crm.company.list for the batch's customers that get it), so a tag a manager set after the last
 * sync is kept too: the merge (own-interests.ts) is made again with that value. A contact whose
 * merged value equals the portal's loses the field, and is left out when nothing else changed.
 * If the read fails, the stored value (contacts.uf) stands.
 */
async function mergeWithPortal(run: Run, part: Pending[], reg: FieldRegistry): Promise<Pending[]> {
  const name = F.INTERESTS;
  const ids = part.filter((p) => name in p.changed).map((p) => p.id);
  if (!ids.length) return part;
  let rows: Array<Record<string, unknown>>;
  try {
    rows = await run.client.call<Array<Record<string, unknown>>>(`crm.${KIND_TABLES[run.kind].rest}.list`, { filter: { '@ID': ids }, select: ['ID', name] });
  } catch (e) {
    run.note(`reading the interests before writing failed (the stored values are used): ${(e as Error).message}`);
    return part;
  }
  const def = manifestFields().get(name)!;
  const now = new Map(rows.map((x) => [Number(x.ID), crmToSemantic(def, x[name], reg.get(name))]));
  const out: Pending[] = [];
  for (const p of part) {
    if (!(name in p.changed) || !now.has(p.id)) { out.push(p); continue; }
    const current = now.get(p.id)!;
    const want = mergeInterests(p.own ?? [], current, p.owned ?? []);
    const changed = { ...p.changed, [name]: want };
    if (sameValue(def, want, current, run.tol)) delete changed[name];
    if (Object.keys(changed).length) out.push({ ...p, changed });
  }
  return out;
}

/** The kind's update command: crm.<contact|company>.update, or crm.item.update (entityTypeId 3 / 4) when `item`. */
function command(kind: CustomerKind, item: boolean, p: Pending, reg: FieldRegistry): BatchCommand {
  const defs = manifestFields();
  const fields: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(p.changed)) {
    const def = defs.get(name)!;
    const val = toWriteValue(def, v, reg.get(name)!);
    fields[item ? ufCamel(name) : name] = val;
  }
  const t = KIND_TABLES[kind];
  return item
    ? ['crm.item.update', { entityTypeId: t.entityTypeId, id: p.id, fields }]
    : [`crm.${t.rest}.update`, { id: p.id, fields, params: { REGISTER_SONET_EVENT: 'N' } }];
}

async function record(db: Db, portalId: number, runId: number, done: Pending[], reg: FieldRegistry, kind: CustomerKind): Promise<void> {
  if (!done.length) return;
  const defs = manifestFields();
  const wv = done.map((p) => ({ id: p.id, v: p.own ? { ...p.changed, [OWN_INTERESTS_KEY]: p.own } : p.changed }));
  const uf = done.map((p) => ({
    id: p.id,
    u: Object.fromEntries(Object.entries(p.changed).map(([k, v]) => [k, toStoredCrmValue(defs.get(k)!, v, reg.get(k)!)])),
  }));
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO written_values (portal_id, entity, entity_id, "values", run_id, written_at)
       SELECT $1, $4, x.id, x.v, $3, now() FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, v jsonb)
       ON CONFLICT (portal_id, entity, entity_id) DO UPDATE
         SET "values" = written_values."values" || EXCLUDED."values", run_id = EXCLUDED.run_id, written_at = EXCLUDED.written_at`,
      [portalId, JSON.stringify(wv), runId, kind],
    );
    await tx.query(
      `UPDATE ${KIND_TABLES[kind].crm} c SET uf = c.uf || x.u FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, u jsonb)
        WHERE c.portal_id = $1 AND c.id = x.id`,
      [portalId, JSON.stringify(uf)],
    );
  });
}

const NOT_FOUND = /not found|NOT_FOUND/i;
const VALUE_ERROR = /list item|invalid value|FIELD_ERROR|VALUE_NOT_VALID/i;

/** One write-back run: its inputs and the result being filled in. */
interface Run {
  /** whose labels this run writes */
  kind: CustomerKind;
  db: Db;
  portalId: number;
  client: B24Client;
  opts: WriteBackOptions;
  tol: Tolerances;
  spreadMode: SpreadMode;
  batchSize: number;
  scoreRunId: number;
  saved: SavedSegmentConfig;
  interests: Array<{ tag: string; name: string }>;
  /** refusal reasons the run's labels hold (items of the refusal-reason field) */
  reasons: ReasonItem[];
  res: WriteBackResult;
  note: (e: string) => void;
}

function emptyResult(): WriteBackResult {
  return {
    runId: null, scoreRunId: null, considered: 0, written: 0, fieldsWritten: {}, failed: 0, missing: 0, unresolved: 0,
    spread: false, byMethod: {}, requests: 0, passes: 0, fields: { created: [], recreated: [], itemsAdded: {}, itemsUpdated: {}, errors: [] },
    savedField: { enabled: false, segments: 0, itemsRemoved: [], itemsKept: [] }, errors: [], companies: null, ms: 0,
  };
}

/** registerFields for the run's kind (contact or company fields), its report merged into the run's. */
async function registerKindFields(run: Run): Promise<RegisterFieldsReport> {
  // the admin may remove the fields while this run goes on: never create them again then
  if (await fieldsRemoved(run.db, run.portalId)) throw new Error('the app\'s fields were removed by an administrator');
  const r = await registerFields(run.client, run.db, run.portalId, {
    entities: [run.kind], interests: run.interests, savedSegments: run.saved.segments, refusalReasons: run.reasons,
  });
  const f = run.res.fields;
  f.created.push(...r.created);
  f.recreated.push(...r.recreated);
  Object.assign(f.itemsAdded, r.itemsAdded);
  Object.assign(f.itemsUpdated, r.itemsUpdated);
  f.errors.push(...r.errors);
  return r;
}

/**
 * Spreading: alternate methods when one method's operating budget would make `count` updates
 * wait. The cost per update is what the client's limiter has learned from the portal's answers
 * (`time.processing`; its prior before the first answer).
 */
function spreadFor(run: Run, count: number): boolean {
  const lim = run.client.limiter;
  const cost = run.opts.costPerCall ?? lim.costPerCall(`crm.${KIND_TABLES[run.kind].rest}.update`);
  const budget = (run.opts.operatingBudget ?? lim.opLimit) * 0.8;
  return run.spreadMode === 'always' || (run.spreadMode === 'auto' && count * cost > budget);
}

/**
 * Writes one batch (≤ 50 contacts) and records what was written. Setting the same values twice is
 * harmless, so the client may repeat the batch after a network error or a 5xx (`idempotent`);
 * if it still fails, the pass stops (null) and the next run resumes. Value errors are returned
 * for a retry after the fields are registered again.
 */
async function writeBatch(run: Run, planned: Pending[], spread: boolean, reg: FieldRegistry): Promise<Pending[] | null> {
  const { res, note } = run;
  const part = await mergeWithPortal(run, planned, reg);
  if (!part.length) return [];
  const cmds: Record<string, BatchCommand> = {};
  part.forEach((pp, k) => {
    cmds[String(pp.id)] = command(run.kind, spread && k % 2 === 1, pp, reg);
  });
  let r;
  try {
    r = await run.client.batch(cmds, { idempotent: true });
  } catch (e) {
    note(`batch failed: ${(e as Error).message}`);
    return null;
  }
  const ok: Pending[] = [];
  const gone: number[] = [];
  const valueErrors: Pending[] = [];
  for (const pp of part) {
    const e = r.errors[String(pp.id)];
    if (!e) { ok.push(pp); continue; }
    if (NOT_FOUND.test(e.description) || NOT_FOUND.test(e.code)) { gone.push(pp.id); res.missing++; continue; }
    if (VALUE_ERROR.test(e.description) || VALUE_ERROR.test(e.code)) { valueErrors.push(pp); continue; }
    res.failed++;
    note(`${run.kind} ${pp.id}: ${e.method ?? ''} ${e.code || '(no code)'} ${e.description}`);
  }
  for (const [m, n] of Object.entries(countMethods(cmds, ok))) res.byMethod[m] = (res.byMethod[m] ?? 0) + n;
  await record(run.db, run.portalId, run.scoreRunId, ok, reg, run.kind);
  if (gone.length) await run.db.query(`DELETE FROM written_values WHERE portal_id = $1 AND entity = $3 AND entity_id = ANY($2::bigint[])`, [run.portalId, gone, run.kind]);
  res.written += ok.length;
  for (const pp of ok) for (const k of Object.keys(pp.changed)) res.fieldsWritten[k] = (res.fieldsWritten[k] ?? 0) + 1;
  return valueErrors;
}

/** One pass: plan (diff) the contacts, write the changed ones in batches. Returns the contacts whose values were rejected. */
async function writePass(run: Run, reg: FieldRegistry, first: boolean, onlyFields?: ReadonlySet<string>): Promise<Pending[]> {
  const { res, opts } = run;
  res.passes++;
  const p = await plan(run.db, run.portalId, run.scoreRunId, reg, run.tol, opts.pageSize ?? 5000, run.saved, onlyFields, run.kind);
  if (first) { res.considered = p.considered; res.unresolved = p.unresolved; }
  let todo = p.pending;
  if (opts.maxWrites !== undefined) todo = todo.slice(0, Math.max(0, opts.maxWrites - res.written));
  const spread = spreadFor(run, todo.length);
  res.spread ||= spread;
  const valueErrors: Pending[] = [];
  const topPlanned = todo.filter((x) => x.tier === 1).length;
  if (todo.length) await storeProgress(run, progressOf(run, spread, todo.length, 0, topPlanned));
  for (let i = 0; i < todo.length; i += run.batchSize) {
    const rejected = await writeBatch(run, todo.slice(i, i + run.batchSize).map(unpack), spread, reg);
    if (!rejected) { res.failed += todo.length - i; break; }
    valueErrors.push(...rejected);
    const pr = progressOf(run, spread, todo.length, Math.min(todo.length, i + run.batchSize), topPlanned);
    await storeProgress(run, pr);
    await opts.onBatch?.({ written: res.written, ...pr });
  }
  return valueErrors;
}

/** The pass's progress after `done` of `planned` updates, with the ETA from the limiter's learned costs (eta.ts). */
function progressOf(run: Run, spread: boolean, planned: number, done: number, topPlanned: number): WriteProgress {
  const lim = run.client.limiter;
  const one = `crm.${KIND_TABLES[run.kind].rest}.update`;
  const now = lim.portalNow();
  const methods = (spread ? [one, 'crm.item.update'] : [one]).map((m) => ({ cost: run.opts.costPerCall ?? lim.costPerCall(m), releases: lim.releases(m, now) }));
  const etaSec = writebackEta({
    remaining: planned - done, methods, now, opLimit: run.opts.operatingBudget ?? lim.opSafe, windowSec: lim.windowSec, bucketSec: lim.bucketSec,
    padSec: lim.padSec, batchSize: run.batchSize, drainPerSec: lim.drainPerSec,
  });
  // the todo list is in priority order, so the tier-1 customers are its first topPlanned
  return { kind: run.kind, planned, done, topPlanned, topDone: Math.min(done, topPlanned), etaSec: Math.round(etaSec), at: new Date().toISOString() };
}

/** The run row's progress (the Sync page reads it: routes/sync.ts). */
async function storeProgress(run: Run, p: WriteProgress): Promise<void> {
  await run.db.query(`UPDATE writeback_runs SET counts = counts || jsonb_build_object('progress', $3::jsonb), written = $4 WHERE portal_id = $1 AND id = $2`,
    [run.portalId, run.res.runId, JSON.stringify(p), run.res.written]);
}

/**
 * Up to three passes. After each, the fields are listed again: fields deleted by hand during the
 * run (recreated now) or enumeration items gone make another pass over the affected fields;
 * values rejected once are retried once after that re-registration.
 */
async function writePasses(run: Run, reg0: FieldRegistry): Promise<FieldRegistry> {
  let reg = reg0;
  let onlyFields: Set<string> | undefined;
  let retriedValueErrors = false;
  for (let pass = 0; pass < 3; pass++) {
    const valueErrors = await writePass(run, reg, pass === 0, onlyFields);
    if (run.opts.maxWrites !== undefined && run.res.written >= run.opts.maxWrites) break;
    const rf = await registerKindFields(run);
    // registerFields reports company fields as "company:<name>"
    const changedFields = new Set([...rf.created, ...rf.recreated].map((n) => n.replace(/^company:/, '')));
    const itemsMoved = !sameItems(reg, rf.registries[run.kind]!);
    reg = rf.registries[run.kind]!;
    if (valueErrors.length && !retriedValueErrors) {
      retriedValueErrors = true;
      for (const pp of valueErrors) for (const k of Object.keys(pp.changed)) changedFields.add(k);
    } else {
      run.res.failed += valueErrors.length;
      for (const pp of valueErrors) run.note(`${run.kind} ${pp.id}: value rejected after re-registering fields`);
    }
    if (!changedFields.size && !itemsMoved) break;
    onlyFields = itemsMoved ? undefined : changedFields;
  }
  return reg;
}

async function finishRun(run: Run, status: 'done' | 'failed'): Promise<void> {
  const { res } = run;
  if (status === 'failed') {
    await run.db.query(`UPDATE writeback_runs SET status = 'failed', finished_at = now(), written = $3, errors = $4::jsonb WHERE portal_id = $1 AND id = $2`,
      [run.portalId, res.runId, res.written, JSON.stringify(res.errors)]).catch(() => {});
    return;
  }
  await run.db.query(
    `UPDATE writeback_runs SET status = 'done', finished_at = now(), considered = $3, written = $4, failed = $5, counts = $6::jsonb, errors = $7::jsonb
      WHERE portal_id = $1 AND id = $2`,
    [run.portalId, res.runId, res.considered, res.written, res.failed,
      JSON.stringify({
        fieldsWritten: res.fieldsWritten, byMethod: res.byMethod, missing: res.missing, unresolved: res.unresolved, spread: res.spread,
        requests: res.requests, passes: res.passes, fields: res.fields, savedField: res.savedField, companies: res.companies,
      }),
      JSON.stringify(res.errors)],
  );
}

/** Writes the latest score run's labels into the CRM; see the module comment. */
export async function runWriteBack(db: Db, portalId: number, client: B24Client, opts: WriteBackOptions = {}): Promise<WriteBackResult> {
  const t0 = performance.now();
  const req0 = client.counters.requests;
  const ws = await writebackSettings(db, portalId);
  const res = emptyResult();
  const sr = await latestScoreRun(db, portalId);
  if (!sr) {
    res.ms = Math.round(performance.now() - t0);
    return res;
  }
  res.scoreRunId = sr.id;
  if (await fieldsRemoved(db, portalId)) {
    res.skipped = 'FIELDS_REMOVED';
    res.ms = Math.round(performance.now() - t0);
    return res;
  }
  const { rows: [wr] } = await db.query<{ id: number }>(
    `INSERT INTO writeback_runs (portal_id, score_run_id) VALUES ($1, $2) RETURNING id`, [portalId, sr.id],
  );
  res.runId = wr!.id;
  const note = (e: string) => { if (res.errors.length < 50) res.errors.push(e); };
  const stop = () => {
    res.requests = client.counters.requests - req0;
    res.ms = Math.round(performance.now() - t0);
  };
  const run: Run = {
    kind: 'contact', db, portalId, client, opts, res, note, tol: { ...ws.tolerance, ...opts.tolerance }, spreadMode: opts.spread ?? ws.spread,
    batchSize: Math.min(50, opts.batchSize ?? 50), scoreRunId: sr.id, saved: { enabled: false, segments: [], usable: [], notes: [] }, interests: [],
    reasons: [],
  };
  try {
    run.saved = await savedSegmentConfig(db, portalId);
    res.savedField.enabled = run.saved.enabled;
    res.savedField.segments = run.saved.segments.length;
    if (run.saved.enabled) for (const n of run.saved.notes) note(n);
    run.interests = await interestItems(db, portalId, sr.id);
    run.reasons = await reasonItems(db, portalId, sr.id);
    const reg = await writePasses(run, (await registerKindFields(run)).registries.contact!);
    // items of deleted saved segments, once no contact holds them
    const pruned = await pruneSavedItems(client, db, portalId, reg, run.saved.segments);
    res.savedField.itemsRemoved = pruned.removed;
    res.savedField.itemsKept = pruned.kept;
    res.fields.errors.push(...pruned.errors);
    res.companies = await writeCompanies(run);
    stop();
    await finishRun(run, 'done');
    return res;
  } catch (err) {
    note(`write-back stopped: ${(err as Error).message}`);
    stop();
    await finishRun(run, 'failed');
    return res;
  }
}

/** The companies' pass (B2B on and the run labelled companies): the contact run's steps over company labels. */
async function writeCompanies(contactRun: Run): Promise<CompanyWriteResult | null> {
  const { db, portalId, scoreRunId } = contactRun;
  if (!(await portalFieldSettings(db, portalId)).b2b || !(await runHasCompanies(db, portalId, scoreRunId))) return null;
  const res = emptyResult();
  const note = (e: string) => { if (res.errors.length < 50) res.errors.push(e); };
  const run: Run = { ...contactRun, kind: 'company', res, note, saved: { enabled: false, segments: [], usable: [], notes: [] } };
  await writePasses(run, (await registerKindFields(run)).registries.company!);
  const f = contactRun.res.fields;
  f.created.push(...res.fields.created);
  f.recreated.push(...res.fields.recreated);
  Object.assign(f.itemsAdded, res.fields.itemsAdded);
  Object.assign(f.itemsUpdated, res.fields.itemsUpdated);
  f.errors.push(...res.fields.errors);
  const { considered, written, fieldsWritten, failed, missing, unresolved, spread, byMethod, passes, errors } = res;
  return { considered, written, fieldsWritten, failed, missing, unresolved, spread, byMethod, passes, errors };
}

function countMethods(cmds: Record<string, BatchCommand>, ok: Pending[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pp of ok) {
    const c = cmds[String(pp.id)] as unknown as [string, unknown];
    out[c[0]] = (out[c[0]] ?? 0) + 1;
  }
  return out;
}

function sameItems(a: FieldRegistry, b: FieldRegistry): boolean {
  for (const [name, f] of a) {
    const g = b.get(name);
    if (!g || g.ufId !== f.ufId) return false;
    for (const [code, id] of Object.entries(f.items)) if (g.items[code] !== undefined && g.items[code] !== id) return false;
  }
  return true;
}
