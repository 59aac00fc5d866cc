/**
 * Write-back: the latest score run's labels → the contacts' UF_CRM_SEG_* fields.
 *
 *  1. registerFields: lists our fields (one call), recreates fields deleted by hand, adds
 *     enumeration items the run needs (new interest tags, cells of a new scale).
 *  2. Diff every labelled contact (diff.ts) against what the CRM holds (contacts.uf) and what
 *     we last wrote (written_values); only contacts with a changed field are written, and only
 *     their changed fields, in value-first order (priority.ts), a page at a time (plan.ts).
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
import { latestScoreRun } from '../store/scores.js';
import { KIND_TABLES, runHasCompanies, type CustomerKind } from '../store/customer-kinds.js';
import { getPortal } from '../store/portals.js';
import { readSection } from '../settings/index.js';
import { portalFieldSettings, registerFields, type FieldRegistry, type ReasonItem, type RegisterFieldsReport } from './fields.js';
import { pruneSavedItems, savedSegmentConfig, type SavedSegmentConfig } from './saved-segment.js';
import { writebackEta, type WriteProgress } from './eta.js';
import {
  crmToSemantic, DEFAULT_TOLERANCE, sameValue, toStoredCrmValue, toWriteValue, ufCamel, type Tolerances,
} from './diff.js';
import { F, manifestFields } from './manifest-fields.js';
import { mergeInterests, OWN_INTERESTS_KEY } from './own-interests.js';
import { fieldsRemoved } from './remove-fields.js';
import { planOrder, pendingPage, type PlanScope } from './plan.js';
import type { Pending } from './plan-order.js';

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

/** One pass: plan (diff) the customers, write the changed ones in batches, a page of the order at a time (plan.ts). Returns the customers whose values were rejected. */
async function writePass(run: Run, reg: FieldRegistry, first: boolean, onlyFields?: ReadonlySet<string>): Promise<Pending[]> {
  const { res, opts } = run;
  res.passes++;
  const scope: PlanScope = {
    db: run.db, portalId: run.portalId, runId: run.scoreRunId, kind: run.kind, reg, tol: run.tol, saved: run.saved, pageSize: opts.pageSize ?? 5000,
    ...(onlyFields ? { onlyFields } : {}),
  };
  const { order, considered, unresolved } = await planOrder(scope);
  if (first) { res.considered = considered; res.unresolved = unresolved; }
  const total = opts.maxWrites === undefined ? order.length : Math.min(order.length, Math.max(0, opts.maxWrites - res.written));
  const spread = spreadFor(run, total);
  res.spread ||= spread;
  const valueErrors: Pending[] = [];
  // the order puts tier 1 first, so the tier-1 customers are its first topPlanned
  const topPlanned = Math.min(total, order.count(1));
  if (total) await storeProgress(run, progressOf(run, spread, total, 0, topPlanned));
  for (let from = 0; from < total; from += scope.pageSize) {
    const to = Math.min(total, from + scope.pageSize);
    const page = await pendingPage(scope, order, from, to);
    for (let i = 0; i < page.pending.length; i += run.batchSize) {
      const rejected = await writeBatch(run, page.pending.slice(i, i + run.batchSize), spread, reg);
      if (!rejected) { res.failed += total - page.pos[i]!; return valueErrors; }
      valueErrors.push(...rejected);
      const last = Math.min(page.pending.length, i + run.batchSize) - 1;
      const done = last === page.pending.length - 1 ? to : page.pos[last]! + 1;
      const pr = progressOf(run, spread, total, done, topPlanned);
      await storeProgress(run, pr);
      await opts.onBatch?.({ written: res.written, ...pr });
    }
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
