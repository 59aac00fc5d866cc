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
 *  5. Errors never crash the run: a contact deleted in the CRM is skipped and forgotten; a value
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
import { B24NetworkError, type B24Error } from '../b24/errors.js';
import type { BatchCommand } from '../b24/batch-encoding.js';
import type { Db } from '../store/db.js';
import { latestScoreRun, type ContactLabel } from '../store/scores.js';
import { getPortal } from '../store/portals.js';
import { readSection } from '../settings/index.js';
import { registerFields, type FieldRegistry, type RegisterFieldsReport } from './fields.js';
import { AssignmentCursor, pruneSavedItems, SAVED_FIELD, savedSegmentConfig, type SavedSegmentConfig } from './saved-segment.js';
import {
  DEFAULT_TOLERANCE, desiredValues, diffRecord, manifestFields, toStoredCrmValue, toWriteValue, ufCamel,
  type SemValues, type Tolerances,
} from './diff.js';

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

/** Writes the latest score run's labels into the CRM; see the module comment. */
export async function runWriteBack(db: Db, portalId: number, client: B24Client, opts: WriteBackOptions = {}): Promise<WriteBackResult> {
  const t0 = performance.now();
  const req0 = client.counters.requests;
  const ws = await writebackSettings(db, portalId);
  const tol: Tolerances = { ...ws.tolerance, ...opts.tolerance };
  const spreadMode = opts.spread ?? ws.spread;
  const batchSize = Math.min(50, opts.batchSize ?? 50);
  const res: WriteBackResult = {
    runId: null, scoreRunId: null, considered: 0, written: 0, fieldsWritten: {}, failed: 0, missing: 0, unresolved: 0,
    spread: false, byMethod: {}, requests: 0, passes: 0, fields: { created: [], recreated: [], itemsAdded: {}, itemsUpdated: {}, errors: [] },
    savedField: { enabled: false, segments: 0, itemsRemoved: [], itemsKept: [] }, errors: [], ms: 0,
  };
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

  try {
    const saved = await savedSegmentConfig(db, portalId);
    res.savedField.enabled = saved.enabled;
    res.savedField.segments = saved.segments.length;
    if (saved.enabled) for (const n of saved.notes) note(n);
    const interests = await interestItems(db, portalId, sr.id);
    const mergeFields = (r: RegisterFieldsReport) => {
      res.fields.created.push(...r.created);
      res.fields.recreated.push(...r.recreated);
      Object.assign(res.fields.itemsAdded, r.itemsAdded);
      Object.assign(res.fields.itemsUpdated, r.itemsUpdated);
      res.fields.errors.push(...r.errors);
    };
    let rf = await registerFields(client, db, portalId, { entities: ['contact'], interests, savedSegments: saved.segments });
    mergeFields(rf);
    let reg = rf.registries.contact!;

    let onlyFields: Set<string> | undefined;
    let retriedValueErrors = false;
    let firstPass = true;
    for (let pass = 0; pass < 3; pass++) {
      res.passes++;
      const p = await plan(db, portalId, sr.id, reg, tol, opts.pageSize ?? 5000, saved, onlyFields);
      if (firstPass) { res.considered = p.considered; res.unresolved = p.unresolved; firstPass = false; }
      let todo = p.pending;
      if (opts.maxWrites !== undefined) todo = todo.slice(0, Math.max(0, opts.maxWrites - res.written));

      // spreading: alternate methods when one method's budget would make us wait
      const observed = client.counters.byMethod['crm.contact.update'];
      const cost = opts.costPerCall ?? (observed && observed.calls > 20 ? observed.operatingSec / observed.calls : 0.05);
      const budget = (opts.operatingBudget ?? 480) * 0.8;
      const spread = spreadMode === 'always' || (spreadMode === 'auto' && todo.length * cost > budget);
      res.spread ||= spread;

      const valueErrors: Pending[] = [];
      for (let i = 0; i < todo.length; i += batchSize) {
        const part = todo.slice(i, i + batchSize);
        const cmds: Record<string, BatchCommand> = {};
        part.forEach((pp, k) => {
          const method = spread && k % 2 === 1 ? 'crm.item.update' : 'crm.contact.update';
          cmds[String(pp.id)] = command(method, pp, reg);
        });
        let r;
        for (let attempt = 0; ; attempt++) {
          try {
            r = await client.batch(cmds);
            break;
          } catch (e) {
            // Setting the same values twice is harmless, so a batch that may or may not have
            // reached the portal (network error, 5xx) is retried twice; then stop: next run resumes.
            const err = e as B24Error;
            if (attempt < 2 && (err instanceof B24NetworkError || (err.status ?? 0) >= 500)) continue;
            note(`batch failed: ${err.message}`);
            break;
          }
        }
        if (!r) { res.failed += todo.length - i; break; }
        const ok: Pending[] = [];
        const gone: number[] = [];
        for (const pp of part) {
          const e = r.errors[String(pp.id)];
          if (!e) { ok.push(pp); continue; }
          if (NOT_FOUND.test(e.description) || NOT_FOUND.test(e.code)) { gone.push(pp.id); res.missing++; continue; }
          if (VALUE_ERROR.test(e.description) || VALUE_ERROR.test(e.code)) { valueErrors.push(pp); continue; }
          res.failed++;
          note(`contact ${pp.id}: ${e.method ?? ''} ${e.code || '(no code)'} ${e.description}`);
        }
        for (const [m, n] of Object.entries(countMethods(cmds, ok))) res.byMethod[m] = (res.byMethod[m] ?? 0) + n;
        await record(db, portalId, sr.id, ok, reg);
        if (gone.length) await db.query(`DELETE FROM written_values WHERE portal_id = $1 AND entity = 'contact' AND entity_id = ANY($2::bigint[])`, [portalId, gone]);
        res.written += ok.length;
        for (const pp of ok) for (const k of Object.keys(pp.changed)) res.fieldsWritten[k] = (res.fieldsWritten[k] ?? 0) + 1;
        opts.onBatch?.({ written: res.written, planned: todo.length });
      }
      if (opts.maxWrites !== undefined && res.written >= opts.maxWrites) break;

      // fields deleted by hand during the run, or enumeration items gone: re-register and go again
      rf = await registerFields(client, db, portalId, { entities: ['contact'], interests, savedSegments: saved.segments });
      mergeFields(rf);
      const changedFields = new Set([...rf.created, ...rf.recreated]);
      const itemsMoved = !sameItems(reg, rf.registries.contact!);
      reg = rf.registries.contact!;
      if (valueErrors.length && !retriedValueErrors) {
        retriedValueErrors = true;
        for (const pp of valueErrors) for (const k of Object.keys(pp.changed)) changedFields.add(k);
      } else {
        res.failed += valueErrors.length;
        for (const pp of valueErrors) note(`contact ${pp.id}: value rejected after re-registering fields`);
      }
      if (!changedFields.size && !itemsMoved) break;
      onlyFields = itemsMoved ? undefined : changedFields;
    }
    // items of deleted saved segments, once no contact holds them
    const pruned = await pruneSavedItems(client, db, portalId, reg, saved.segments);
    res.savedField.itemsRemoved = pruned.removed;
    res.savedField.itemsKept = pruned.kept;
    res.fields.errors.push(...pruned.errors);
    res.requests = client.counters.requests - req0;
    res.ms = Math.round(performance.now() - t0);
    await db.query(
      `UPDATE writeback_runs SET status = 'done', finished_at = now(), considered = $3, written = $4, failed = $5, counts = $6::jsonb, errors = $7::jsonb
        WHERE portal_id = $1 AND id = $2`,
      [portalId, res.runId, res.considered, res.written, res.failed,
        JSON.stringify({
          fieldsWritten: res.fieldsWritten, byMethod: res.byMethod, missing: res.missing, unresolved: res.unresolved, spread: res.spread,
          requests: res.requests, passes: res.passes, fields: res.fields, savedField: res.savedField,
        }),
        JSON.stringify(res.errors)],
    );
    return res;
  } catch (err) {
    note(`write-back stopped: ${(err as Error).message}`);
    res.requests = client.counters.requests - req0;
    res.ms = Math.round(performance.now() - t0);
    await db.query(`UPDATE writeback_runs SET status = 'failed', finished_at = now(), written = $3, errors = $4::jsonb WHERE portal_id = $1 AND id = $2`,
      [portalId, res.runId, res.written, JSON.stringify(res.errors)]).catch(() => {});
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
