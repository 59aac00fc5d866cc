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

export async function registerApp(client: B24Client, manifest: Manifest, publicUrl: string, fields?: FieldsRegistrar): Promise<RegisterReport> {
  const app = manifest.app;
  const read = await client.batch({ placements: ['placement.get', {}], events: ['event.get', {}] }, { halt: false });
  for (const k of ['placements', 'events']) {
    const e = read.errors[k];
    if (e) throw e;
  }
  const placements = placementGet.parse(read.results.placements ?? []);
  const events = eventGet.parse(read.results.events ?? []);

  const cmds: Record<string, BatchCommand> = {};
  const report: RegisterReport = {
    placements: { bound: [], unbound: [], kept: [] },
    events: { bound: [], unbound: [], kept: [] },
    fields: { created: [], existing: [] },
    errors: {},
  };

  // ---- placements
  const wantP = new Map(app.placements.map((p) => [`${p.placement}|${handlerUrl(publicUrl, p.handler)}`, p]));
  const haveP = new Set<string>();
  let i = 0;
  for (const b of placements) {
    const key = `${b.placement.toUpperCase()}|${b.handler}`;
    if (wantP.has(key) && !haveP.has(key)) {
      haveP.add(key);
      report.placements.kept.push(b.placement);
      continue;
    }
    cmds[`pu${i++}`] = ['placement.unbind', { PLACEMENT: b.placement, HANDLER: b.handler }];
    report.placements.unbound.push(`${b.placement} ${b.handler}`);
  }
  for (const [key, p] of wantP) {
    if (haveP.has(key)) continue;
    cmds[`pb${i++}`] = ['placement.bind', {
      PLACEMENT: p.placement,
      HANDLER: handlerUrl(publicUrl, p.handler),
      TITLE: p.title.en,
      DESCRIPTION: p.description.en,
      LANG_ALL: langAll(p.title, p.description),
    }];
    report.placements.bound.push(p.placement);
  }

  // ---- events
  const evHandler = handlerUrl(publicUrl, app.events.handler);
  const wantOnline = new Set([...app.events.online, ...app.events.lifecycle].map((e) => e.toUpperCase()));
  const wantOffline = new Set(app.events.offline.map((e) => e.toUpperCase()));
  const haveOnline = new Set<string>();
  const haveOffline = new Set<string>();
  for (const b of events) {
    const ev = b.event.toUpperCase();
    if (UNMANAGED_EVENTS.has(ev)) continue;
    const offline = Number(b.offline ?? 0) === 1;
    if (offline) {
      if (wantOffline.has(ev) && !haveOffline.has(ev)) {
        haveOffline.add(ev);
        report.events.kept.push(`${ev} offline`);
      } else {
        cmds[`eu${i++}`] = ['event.unbind', { event: ev, event_type: 'offline' }];
        report.events.unbound.push(`${ev} offline`);
      }
      continue;
    }
    const h = b.handler ?? '';
    if (wantOnline.has(ev) && h === evHandler && !haveOnline.has(ev)) {
      haveOnline.add(ev);
      report.events.kept.push(ev);
      continue;
    }
    cmds[`eu${i++}`] = ['event.unbind', { event: ev, handler: h, ...(b.auth_type !== undefined ? { auth_type: String(b.auth_type) } : {}) }];
    report.events.unbound.push(`${ev} ${h}`);
  }
  for (const ev of wantOnline) {
    if (haveOnline.has(ev)) continue;
    cmds[`eb${i++}`] = ['event.bind', { event: ev, handler: evHandler }];
    report.events.bound.push(ev);
  }
  for (const ev of wantOffline) {
    if (haveOffline.has(ev)) continue;
    cmds[`eo${i++}`] = ['event.bind', { event: ev, event_type: 'offline' }];
    report.events.bound.push(`${ev} offline`);
  }

  if (Object.keys(cmds).length > 0) {
    const r = await client.batch(cmds, { halt: false });
    for (const [k, e] of Object.entries(r.errors)) {
      if (k.startsWith('pb') || k.startsWith('eb') || k.startsWith('eo')) {
        if (ALREADY.test(e.code) || ALREADY.test(e.description)) continue; // a concurrent install bound it
      }
      report.errors[k] = `${e.code || '(no code)'}: ${e.description}`;
    }
  }
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
