/**
 * Write-back: the latest score run's labels → the contacts' UF_CRM_SEG_* fields.
 *
 *  1. registerFields: lists our fields (one call), recreates fields deleted by hand, adds
 *     enumeration items the run needs (new interest tags, cells of a new scale).
 *  2. Diff every labelled contact (diff.ts) against what the CRM holds (contacts.uf) and what
 *     we last wrote (written_values); only contacts with a changed field are written, and only
 *     their changed fields.
 *  3. Batches of 50 commands through the client's limiter. When the run's estimated operating
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
 */
import type { B24Client } from '../b24/client.js';
import type { BatchCommand } from '../b24/batch-encoding.js';
import type { Db } from '../store/db.js';
import { latestScoreRun, type ContactLabel } from '../store/scores.js';
import { getPortal } from '../store/portals.js';
import { readSection } from '../settings/index.js';
import { registerFields, type FieldRegistry, type ReasonItem, type RegisterFieldsReport } from './fields.js';
import { AssignmentCursor, pruneSavedItems, SAVED_FIELD, savedSegmentConfig, type SavedSegmentConfig } from './saved-segment.js';
import {
  DEFAULT_TOLERANCE, desiredValues, diffRecord, toStoredCrmValue, toWriteValue, ufCamel, type SemValues, type Tolerances,
} from './diff.js';
import { manifestFields } from './manifest-fields.js';

export type SpreadMode = 'auto' | 'always' | 'never';

export interface WriteBackOptions {
  tolerance?: Partial<Tolerances>;
  spread?: SpreadMode;
  /** commands per batch (≤ 50) */
  batchSize?: number;
  /** labels per store page (default 5000) */
  pageSize?: number;
  /** estimated operating seconds per update call, for the spreading decision (default: observed, else 0.05) */
  costPerCall?: number;
  /** operating budget per method per 10 min (default 480) */
  operatingBudget?: number;
  /** stop after this many contacts written (tests: simulate a crash mid-run) */
  maxWrites?: number;
  /** progress callback after each batch */
  onBatch?: (p: { written: number; planned: number }) => void;
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
  ms: number;
}

interface Pending {
  id: number;
  changed: SemValues;
}

interface LabelRow extends ContactLabel {
  uf: Record<string, unknown> | null;
  wv: SemValues | null;
}

const LABEL_SELECT = `l.contact_id AS "contactId", l.segment, l.rfm, l.r, l.f, l.m, l.recency_days AS "recencyDays", l.frequency,
  l.monetary, l.first_purchase AS "firstPurchase", l.last_purchase AS "lastPurchase", l.lifecycle, l.sleeping, l.p_alive AS "pAlive",
  l.clv, l.next_purchase AS "nextPurchase", l.interests, l.extra, c.uf,
  (SELECT w."values" FROM written_values w WHERE w.portal_id = l.portal_id AND w.entity = 'contact' AND w.entity_id = l.contact_id) AS wv`;

/** The portal's write-back options (settings.writeback, src/settings/writeback.ts) with their defaults applied. */
export async function writebackSettings(db: Db, portalId: number): Promise<{ tolerance: Tolerances; spread: SpreadMode }> {
  const wb = readSection((await getPortal(db, portalId))?.settings, 'writeback').value;
  const t = wb.tolerance ?? DEFAULT_TOLERANCE;
  return { tolerance: { clv: wb.clvTolerance ?? t, pAlive: wb.pAliveTolerance ?? t }, spread: wb.spread };
}

async function interestItems(db: Db, portalId: number, runId: number): Promise<Array<{ tag: string; name: string }>> {
  const { rows } = await db.query<{ tag: string; name: string | null }>(
    `SELECT t.tag, s.name FROM (SELECT DISTINCT unnest(interests) AS tag FROM contact_labels WHERE portal_id = $1 AND run_id = $2) t
       LEFT JOIN sections s ON s.portal_id = $1 AND t.tag = 'section:' || s.id::text`,
    [portalId, runId],
  );
  return rows.map((r) => ({ tag: r.tag, name: r.name ?? r.tag }));
}

/** The refusal reasons of the run's refused contacts: one item per key, named by its first wording. */
async function reasonItems(db: Db, portalId: number, runId: number): Promise<ReasonItem[]> {
  const { rows } = await db.query<{ key: string; name: string }>(
    `SELECT extra->>'refusalReasonKey' AS key, min(extra->>'refusalReason') AS name FROM contact_labels
      WHERE portal_id = $1 AND run_id = $2 AND lifecycle = 'refused' AND extra->>'refusalReasonKey' IS NOT NULL
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
  onlyFields?: ReadonlySet<string>,
) {
  const cursor = saved.enabled ? new AssignmentCursor(db, portalId, saved.usable, pageSize) : null;
  try {
    return await planPages(db, portalId, runId, reg, tol, pageSize, cursor, onlyFields);
  } finally {
    await cursor?.close();
  }
}

async function planPages(
  db: Db, portalId: number, runId: number, reg: FieldRegistry, tol: Tolerances, pageSize: number, cursor: AssignmentCursor | null,
  onlyFields?: ReadonlySet<string>,
) {
  const pending: Pending[] = [];
  let considered = 0;
  let unresolved = 0;
  let after = -1;
  for (;;) {
    const { rows } = await db.query<LabelRow>(
      `SELECT ${LABEL_SELECT} FROM contact_labels l
         JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        WHERE l.portal_id = $1 AND l.run_id = $2 AND l.contact_id > $3 ORDER BY l.contact_id LIMIT $4`,
      [portalId, runId, after, pageSize],
    );
    if (!rows.length) break;
    after = rows[rows.length - 1]!.contactId;
    const assigned = cursor ? await cursor.upTo(after) : null;
    for (const r of rows) {
      considered++;
      let desired = desiredValues(r);
      // the saved-segment field: its value when the option is on, left out entirely when off
      if (assigned) desired[SAVED_FIELD] = assigned.get(r.contactId) ?? null;
      else delete desired[SAVED_FIELD];
      if (onlyFields) desired = Object.fromEntries(Object.entries(desired).filter(([k]) => onlyFields.has(k)));
      const d = diffRecord(desired, r.uf, r.wv, reg, tol);
      if (d.unresolved.length) unresolved++;
      if (Object.keys(d.changed).length) pending.push({ id: r.contactId, changed: d.changed });
    }
    if (rows.length < pageSize) break;
  }
  return { pending, considered, unresolved };
}

function command(method: 'crm.contact.update' | 'crm.item.update', p: Pending, reg: FieldRegistry): BatchCommand {
  const defs = manifestFields();
  const fields: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(p.changed)) {
    const def = defs.get(name)!;
    const val = toWriteValue(def, v, reg.get(name)!);
    fields[method === 'crm.item.update' ? ufCamel(name) : name] = val;
  }
  return method === 'crm.item.update'
    ? [method, { entityTypeId: 3, id: p.id, fields }]
    : [method, { id: p.id, fields, params: { REGISTER_SONET_EVENT: 'N' } }];
}

async function record(db: Db, portalId: number, runId: number, done: Pending[], reg: FieldRegistry): Promise<void> {
  if (!done.length) return;
  const defs = manifestFields();
  const wv = done.map((p) => ({ id: p.id, v: p.changed }));
  const uf = done.map((p) => ({
    id: p.id,
    u: Object.fromEntries(Object.entries(p.changed).map(([k, v]) => [k, toStoredCrmValue(defs.get(k)!, v, reg.get(k)!)])),
  }));
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO written_values (portal_id, entity, entity_id, "values", run_id, written_at)
       SELECT $1, 'contact', x.id, x.v, $3, now() FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, v jsonb)
       ON CONFLICT (portal_id, entity, entity_id) DO UPDATE
         SET "values" = written_values."values" || EXCLUDED."values", run_id = EXCLUDED.run_id, written_at = EXCLUDED.written_at`,
      [portalId, JSON.stringify(wv), runId],
    );
    await tx.query(
      `UPDATE contacts c SET uf = c.uf || x.u FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, u jsonb)
        WHERE c.portal_id = $1 AND c.id = x.id`,
      [portalId, JSON.stringify(uf)],
    );
  });
}

const NOT_FOUND = /not found|NOT_FOUND/i;
const VALUE_ERROR = /list item|invalid value|FIELD_ERROR|VALUE_NOT_VALID/i;

/** One write-back run: its inputs and the result being filled in. */
interface Run {
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
    savedField: { enabled: false, segments: 0, itemsRemoved: [], itemsKept: [] }, errors: [], ms: 0,
  };
}

/** registerFields for the contact fields, its report merged into the run's. */
async function registerContactFields(run: Run): Promise<RegisterFieldsReport> {
  const r = await registerFields(run.client, run.db, run.portalId, {
    entities: ['contact'], interests: run.interests, savedSegments: run.saved.segments, refusalReasons: run.reasons,
  });
  const f = run.res.fields;
  f.created.push(...r.created);
  f.recreated.push(...r.recreated);
  Object.assign(f.itemsAdded, r.itemsAdded);
  Object.assign(f.itemsUpdated, r.itemsUpdated);
  f.errors.push(...r.errors);
  return r;
}

/** Spreading: alternate methods when one method's operating budget would make `count` updates wait. */
function spreadFor(run: Run, count: number): boolean {
  const observed = run.client.counters.byMethod['crm.contact.update'];
  const cost = run.opts.costPerCall ?? (observed && observed.calls > 20 ? observed.operatingSec / observed.calls : 0.05);
  const budget = (run.opts.operatingBudget ?? 480) * 0.8;
  return run.spreadMode === 'always' || (run.spreadMode === 'auto' && count * cost > budget);
}

/**
 * Writes one batch (≤ 50 contacts) and records what was written. Setting the same values twice is
 * harmless, so the client may repeat the batch after a network error or a 5xx (`idempotent`);
 * if it still fails, the pass stops (null) and the next run resumes. Value errors are returned
 * for a retry after the fields are registered again.
 */
async function writeBatch(run: Run, part: Pending[], spread: boolean, reg: FieldRegistry): Promise<Pending[] | null> {
  const { res, note } = run;
  const cmds: Record<string, BatchCommand> = {};
  part.forEach((pp, k) => {
    cmds[String(pp.id)] = command(spread && k % 2 === 1 ? 'crm.item.update' : 'crm.contact.update', pp, reg);
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
    note(`contact ${pp.id}: ${e.method ?? ''} ${e.code || '(no code)'} ${e.description}`);
  }
  for (const [m, n] of Object.entries(countMethods(cmds, ok))) res.byMethod[m] = (res.byMethod[m] ?? 0) + n;
  await record(run.db, run.portalId, run.scoreRunId, ok, reg);
  if (gone.length) await run.db.query(`DELETE FROM written_values WHERE portal_id = $1 AND entity = 'contact' AND entity_id = ANY($2::bigint[])`, [run.portalId, gone]);
  res.written += ok.length;
  for (const pp of ok) for (const k of Object.keys(pp.changed)) res.fieldsWritten[k] = (res.fieldsWritten[k] ?? 0) + 1;
  return valueErrors;
}

/** One pass: plan (diff) the contacts, write the changed ones in batches. Returns the contacts whose values were rejected. */
async function writePass(run: Run, reg: FieldRegistry, first: boolean, onlyFields?: ReadonlySet<string>): Promise<Pending[]> {
  const { res, opts } = run;
  res.passes++;
  const p = await plan(run.db, run.portalId, run.scoreRunId, reg, run.tol, opts.pageSize ?? 5000, run.saved, onlyFields);
  if (first) { res.considered = p.considered; res.unresolved = p.unresolved; }
  let todo = p.pending;
  if (opts.maxWrites !== undefined) todo = todo.slice(0, Math.max(0, opts.maxWrites - res.written));
  const spread = spreadFor(run, todo.length);
  res.spread ||= spread;
  const valueErrors: Pending[] = [];
  for (let i = 0; i < todo.length; i += run.batchSize) {
    const rejected = await writeBatch(run, todo.slice(i, i + run.batchSize), spread, reg);
    if (!rejected) { res.failed += todo.length - i; break; }
    valueErrors.push(...rejected);
    opts.onBatch?.({ written: res.written, planned: todo.length });
  }
  return valueErrors;
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
    const rf = await registerContactFields(run);
    const changedFields = new Set([...rf.created, ...rf.recreated]);
    const itemsMoved = !sameItems(reg, rf.registries.contact!);
    reg = rf.registries.contact!;
    if (valueErrors.length && !retriedValueErrors) {
      retriedValueErrors = true;
      for (const pp of valueErrors) for (const k of Object.keys(pp.changed)) changedFields.add(k);
    } else {
      run.res.failed += valueErrors.length;
      for (const pp of valueErrors) run.note(`contact ${pp.id}: value rejected after re-registering fields`);
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
        requests: res.requests, passes: res.passes, fields: res.fields, savedField: res.savedField,
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
    db, portalId, client, opts, res, note, tol: { ...ws.tolerance, ...opts.tolerance }, spreadMode: opts.spread ?? ws.spread,
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
    const reg = await writePasses(run, (await registerContactFields(run)).registries.contact!);
    // items of deleted saved segments, once no contact holds them
    const pruned = await pruneSavedItems(client, db, portalId, reg, run.saved.segments);
    res.savedField.itemsRemoved = pruned.removed;
    res.savedField.itemsKept = pruned.kept;
    res.fields.errors.push(...pruned.errors);
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
