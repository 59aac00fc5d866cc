/**
 * What install registers on a portal, derived from `manifest/` (the single source):
 *  - placements: `placement.bind {PLACEMENT, HANDLER: PUBLIC_URL + handler, TITLE, DESCRIPTION, LANG_ALL}`;
 *  - online events: `event.bind {event, handler: PUBLIC_URL + events.handler}` for events.online
 *    and events.lifecycle (ONAPPUNINSTALL);
 *  - offline events: `event.bind {event, event_type: 'offline'}` for events.offline;
 *  - contact user fields: `registerFields` (hook; the write-back issue fills it in).
 *
 * Idempotent: reads `placement.get` and `event.get` first (one batch), binds only what is
 * missing and unbinds our stale bindings (a handler URL that is not the current one, e.g.
 * after PUBLIC_URL changed, or a placement/event no longer in the manifest). A second install
 * on a portal that already has everything sends one read batch and nothing else.
 */
import { z } from 'zod';
import type { B24Client } from '../b24/client.js';
import type { BatchCommand } from '../b24/batch-encoding.js';
import type { Manifest } from '../../manifest/index.js';

export interface RegisterReport {
  placements: { bound: string[]; unbound: string[]; kept: string[] };
  events: { bound: string[]; unbound: string[]; kept: string[] };
  fields: FieldsReport;
  /** Bind/unbind commands that failed (code per key); empty on success. */
  errors: Record<string, string>;
}

export interface FieldsReport {
  created: string[];
  existing: string[];
  skipped?: string;
  /** Problems that did not stop the install (field creation is retried by the next install / write-back). */
  errors?: string[];
}

/** Creates the manifest's contact fields on the portal (write-back's registerFields, bound to db/portal). */
export type FieldsRegistrar = (client: B24Client) => Promise<FieldsReport>;

const placementGet = z.array(z.object({ placement: z.string(), handler: z.string(), userId: z.union([z.number(), z.string()]).optional() }).passthrough());
const eventGet = z.array(z.object({
  event: z.string(),
  handler: z.string().nullish(),
  offline: z.union([z.number(), z.string()]).optional(),
  auth_type: z.union([z.number(), z.string()]).optional(),
}).passthrough());

/** Bindings the app does not manage even though they belong to it. */
const UNMANAGED_EVENTS = new Set(['ONAPPINSTALL']);
/** Errors meaning "this binding already exists" — success for an idempotent bind. */
const ALREADY = /ALREADY|already/;

export function handlerUrl(publicUrl: string, path: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${path}`;
}

function langAll(title: Record<string, string>, description: Record<string, string>): Record<string, { TITLE: string; DESCRIPTION: string }> {
  const out: Record<string, { TITLE: string; DESCRIPTION: string }> = {};
  for (const lang of new Set([...Object.keys(title), ...Object.keys(description)])) {
    out[lang] = { TITLE: title[lang] ?? title.en ?? '', DESCRIPTION: description[lang] ?? description.en ?? '' };
  }
  return out;
}

/** Commands being planned, keyed so their answers can be told apart (pb/pu placements, eb/eo/eu events). */
class Plan {
  readonly cmds: Record<string, BatchCommand> = {};
  private i = 0;
  add(prefix: string, cmd: BatchCommand): void {
    this.cmds[`${prefix}${this.i++}`] = cmd;
  }
}

type PlacementBinding = z.infer<typeof placementGet>[number];
type EventBinding = z.infer<typeof eventGet>[number];

/** Placements: keep ours that match the manifest (once each), unbind the rest, bind what is missing. */
function planPlacements(plan: Plan, manifest: Manifest, publicUrl: string, have: readonly PlacementBinding[], out: RegisterReport['placements']): void {
  const want = new Map(manifest.app.placements.map((p) => [`${p.placement}|${handlerUrl(publicUrl, p.handler)}`, p]));
  const kept = new Set<string>();
  for (const b of have) {
    const key = `${b.placement.toUpperCase()}|${b.handler}`;
    if (want.has(key) && !kept.has(key)) {
      kept.add(key);
      out.kept.push(b.placement);
      continue;
    }
    plan.add('pu', ['placement.unbind', { PLACEMENT: b.placement, HANDLER: b.handler }]);
    out.unbound.push(`${b.placement} ${b.handler}`);
  }
  for (const [key, p] of want) {
    if (kept.has(key)) continue;
    plan.add('pb', ['placement.bind', {
      PLACEMENT: p.placement,
      HANDLER: handlerUrl(publicUrl, p.handler),
      TITLE: p.title.en,
      DESCRIPTION: p.description.en,
      LANG_ALL: langAll(p.title, p.description),
    }]);
    out.bound.push(p.placement);
  }
}

/** Events: online ones (and lifecycle) to the events handler, offline ones as offline; unbind stale bindings. */
function planEvents(plan: Plan, manifest: Manifest, publicUrl: string, have: readonly EventBinding[], out: RegisterReport['events']): void {
  const app = manifest.app;
  const evHandler = handlerUrl(publicUrl, app.events.handler);
  const wantOnline = new Set([...app.events.online, ...app.events.lifecycle].map((e) => e.toUpperCase()));
  const wantOffline = new Set(app.events.offline.map((e) => e.toUpperCase()));
  const haveOnline = new Set<string>();
  const haveOffline = new Set<string>();
  for (const b of have) {
    const ev = b.event.toUpperCase();
    if (UNMANAGED_EVENTS.has(ev)) continue;
    if (Number(b.offline ?? 0) === 1) {
      if (wantOffline.has(ev) && !haveOffline.has(ev)) {
        haveOffline.add(ev);
        out.kept.push(`${ev} offline`);
      } else {
        plan.add('eu', ['event.unbind', { event: ev, event_type: 'offline' }]);
        out.unbound.push(`${ev} offline`);
      }
      continue;
    }
    const h = b.handler ?? '';
    if (wantOnline.has(ev) && h === evHandler && !haveOnline.has(ev)) {
      haveOnline.add(ev);
      out.kept.push(ev);
      continue;
    }
    plan.add('eu', ['event.unbind', { event: ev, handler: h, ...(b.auth_type !== undefined ? { auth_type: String(b.auth_type) } : {}) }]);
    out.unbound.push(`${ev} ${h}`);
  }
  for (const ev of wantOnline) {
    if (haveOnline.has(ev)) continue;
    plan.add('eb', ['event.bind', { event: ev, handler: evHandler }]);
    out.bound.push(ev);
  }
  for (const ev of wantOffline) {
    if (haveOffline.has(ev)) continue;
    plan.add('eo', ['event.bind', { event: ev, event_type: 'offline' }]);
    out.bound.push(`${ev} offline`);
  }
}

/** Sends the planned commands (one batch); a bind that already exists counts as done. */
async function applyPlan(client: B24Client, plan: Plan, errors: Record<string, string>): Promise<void> {
  if (Object.keys(plan.cmds).length === 0) return;
  const r = await client.batch(plan.cmds, { halt: false });
  for (const [k, e] of Object.entries(r.errors)) {
    if (k.startsWith('pb') || k.startsWith('eb') || k.startsWith('eo')) {
      if (ALREADY.test(e.code) || ALREADY.test(e.description)) continue; // a concurrent install bound it
    }
    errors[k] = `${e.code || '(no code)'}: ${e.description}`;
  }
}

export async function registerApp(client: B24Client, manifest: Manifest, publicUrl: string, fields?: FieldsRegistrar): Promise<RegisterReport> {
  const read = await client.batch({ placements: ['placement.get', {}], events: ['event.get', {}] }, { halt: false });
  for (const k of ['placements', 'events']) {
    const e = read.errors[k];
    if (e) throw e;
  }
  const report: RegisterReport = {
    placements: { bound: [], unbound: [], kept: [] },
    events: { bound: [], unbound: [], kept: [] },
    fields: { created: [], existing: [] },
    errors: {},
  };
  const plan = new Plan();
  planPlacements(plan, manifest, publicUrl, placementGet.parse(read.results.placements ?? []), report.placements);
  planEvents(plan, manifest, publicUrl, eventGet.parse(read.results.events ?? []), report.events);
  await applyPlan(client, plan, report.errors);
  report.fields = fields ? await registerFieldsSafely(fields, client) : { created: [], existing: [], skipped: 'no field registrar given' };
  return report;
}

/**
 * Contact user fields from `manifest/fields.json`, found again by XML_ID (prefix + name), via
 * the write-back's `registerFields` (src/writeback/fields.ts). Never fails the install: the
 * placements and events are what make the app usable; a field problem is reported and the
 * next install / write-back cycle (which calls registerFields itself) repairs it.
 */
async function registerFieldsSafely(fields: FieldsRegistrar, client: B24Client): Promise<FieldsReport> {
  try {
    return await fields(client);
  } catch (e) {
    return { created: [], existing: [], errors: [e instanceof Error ? e.message : String(e)] };
  }
}
