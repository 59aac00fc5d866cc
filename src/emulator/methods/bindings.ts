/** placement.* (https://apidocs.bitrix24.com/api-reference/widgets/index.html), event.* and event.offline.* (https://apidocs.bitrix24.com/api-reference/events/index.html). */
import { randomBytes } from 'node:crypto';
import type { OfflineEventRec, PlacementBindingRec } from '../model.js';
import type { Portal } from '../portal.js';
import { runList, type QField } from '../query.js';
import { isoDateTime, type FType } from '../serialize.js';
import { RestError, type CallContext, type Params } from '../types.js';
import { APP_CONTEXT, def, isObj, param, type Def } from './util.js';

function clientOf(ctx: CallContext): string {
  const id = ctx.auth.clientId;
  if (!id) throw APP_CONTEXT.authType();
  return id;
}

/** placement.*: app context and admin rights (placement-bind.md, placement-unbind.md, placement-get.md). */
const PLACEMENT_ADMIN = { appOnly: true, appOnlyError: APP_CONTEXT.authTypeContext, adminOnly: true } as const;

function hasScope(ctx: CallContext, s: string): boolean {
  return ctx.auth.kind === 'internal' || ctx.auth.scopes.has(s);
}

function argErr(name: string): RestError {
  return new RestError('ERROR_ARGUMENT', `Argument '${name}' is null or empty`, 400, { argument: name });
}

function validUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Placements

const CRM_ENTITIES = ['CONTACT', 'COMPANY', 'DEAL', 'LEAD'];
const CRM_SUFFIXES = ['DETAIL_TAB', 'DETAIL_TOOLBAR', 'DETAIL_ACTIVITY', 'LIST_MENU', 'LIST_TOOLBAR', 'DOCUMENTGENERATOR_BUTTON', 'ACTIVITY_TIMELINE_MENU'];
export const CRM_PLACEMENTS: string[] = CRM_ENTITIES.flatMap((e) => CRM_SUFFIXES.map((s) => `CRM_${e}_${s}`)).concat(['CRM_ANALYTICS_MENU']);
export const PLAIN_PLACEMENTS: string[] = ['LEFT_MENU', 'REST_APP_URI', 'PAGE_BACKGROUND_WORKER', 'USER_PROFILE_MENU', 'USER_PROFILE_TOOLBAR', 'TELEPHONY_ANALYTICS_MENU'];
const MAX_ONE = new Set(['REST_APP_URI', 'PAGE_BACKGROUND_WORKER']);

function available(ctx: CallContext): string[] {
  const out = [...PLAIN_PLACEMENTS];
  if (hasScope(ctx, 'crm')) out.push(...CRM_PLACEMENTS);
  return out;
}

/** Placements that take USER_ID (placement-bind.md: only PAGE_BACKGROUND_WORKER). */
const USER_MODE = new Set(['PAGE_BACKGROUND_WORKER']);

type LangAll = PlacementBindingRec['langAll'];

/** TITLE / DESCRIPTION / GROUP_NAME per language, as placement.get shows them (all three keys, '' when empty). */
function bindLangs(p: Portal, params: Params): LangAll {
  const out: LangAll = {};
  const all = param(params, 'LANG_ALL');
  const item = (v: Record<string, unknown>) => ({
    TITLE: String(v['TITLE'] ?? '').trim(), DESCRIPTION: String(v['DESCRIPTION'] ?? '').trim(), GROUP_NAME: String(v['GROUP_NAME'] ?? '').trim(),
  });
  if (isObj(all) && Object.keys(all).length) {
    for (const [lang, v] of Object.entries(all)) out[lang] = item(isObj(v) ? v : {});
    return out;
  }
  const one = item({ TITLE: param(params, 'TITLE'), DESCRIPTION: param(params, 'DESCRIPTION'), GROUP_NAME: param(params, 'GROUP_NAME') });
  if (one.TITLE || one.DESCRIPTION || one.GROUP_NAME) out[p.language] = one;
  return out;
}

/**
 * OPTIONS kept at bind time: PAGE_BACKGROUND_WORKER keeps only errorHandlerUrl
 * (widgets/universal/background-worker.md); detail tabs and list placements keep nothing
 * (widgets/crm/detail-tab.md, list-menu.md).
 */
function bindOptions(placement: string, opts: unknown): Record<string, unknown> {
  if (!isObj(opts) || /^CRM_.*_(DETAIL_TAB|LIST_MENU|LIST_TOOLBAR)$/.test(placement)) return {};
  if (placement === 'PAGE_BACKGROUND_WORKER') return { errorHandlerUrl: String(opts['errorHandlerUrl'] ?? '') };
  return opts;
}

/**
 * placement.bind (placement-bind.md; check order as in [SRC] rest/lib/api/placement.php): PLACEMENT
 * and HANDLER required (ERROR_ARGUMENT + argument), DEFAULT refused, handler URL checked, placement
 * known, USER_ID only for user-mode placements (ERROR_PLACEMENT_USER_MODE), single-instance placements
 * (ERROR_PLACEMENT_MAX_COUNT), PAGE_BACKGROUND_WORKER needs OPTIONS[errorHandlerUrl]
 * (EMPTY_ERROR_HANDLER_URL). The docs list the last three with status 200; we answer 400 (DOC-CONFLICT).
 */
function placementBind(ctx: CallContext, params: Params): { result: boolean } {
  const p = ctx.portal;
  const clientId = clientOf(ctx);
  const placement = String(param(params, 'PLACEMENT') ?? '').trim().toUpperCase();
  if (!placement) throw argErr('PLACEMENT');
  if (placement === 'DEFAULT') throw new RestError('ERROR_ARGUMENT', 'Wrong value', 400, { argument: 'PLACEMENT' });
  const handler = String(param(params, 'HANDLER') ?? '').trim();
  if (!handler) throw argErr('HANDLER');
  if (!validUrl(handler)) throw new RestError('ERROR_ARGUMENT', 'Wrong handler URL', 400, { argument: 'HANDLER' });
  if (!available(ctx).includes(placement)) throw new RestError('ERROR_PLACEMENT_NOT_FOUND', 'Placement not found', 400);
  const userId = Math.max(0, Math.trunc(Number(param(params, 'USER_ID') ?? 0)) || 0);
  if (userId > 0 && !USER_MODE.has(placement)) throw new RestError('ERROR_PLACEMENT_USER_MODE', 'User mode is not available.', 400);
  const mine = p.placements.filter((b) => b.clientId === clientId && b.placement === placement);
  if (MAX_ONE.has(placement) && mine.filter((b) => b.userId === 0 || b.userId === userId).length >= 1) {
    throw new RestError('ERROR_PLACEMENT_MAX_COUNT', 'Placement max count: 1', 400);
  }
  const opts = param(params, 'OPTIONS');
  if (placement === 'PAGE_BACKGROUND_WORKER' && (!isObj(opts) || !String(opts['errorHandlerUrl'] ?? '').trim())) {
    throw new RestError('EMPTY_ERROR_HANDLER_URL', 'OPTIONS[errorHandlerUrl] is required for PAGE_BACKGROUND_WORKER', 400); // message UNCONFIRMED
  }
  if (mine.some((b) => b.handler === handler && b.userId === userId)) {
    throw new RestError('ERROR_CORE', 'Unable to set placement handler: Handler already binded', 400);
  }
  const langAll = bindLangs(p, params);
  p.placements.push({
    id: p.nextId('placement'), clientId, placement, handler,
    title: langAll[p.language]?.TITLE ?? Object.values(langAll)[0]?.TITLE ?? '',
    description: langAll[p.language]?.DESCRIPTION ?? Object.values(langAll)[0]?.DESCRIPTION ?? '',
    groupName: langAll[p.language]?.GROUP_NAME ?? Object.values(langAll)[0]?.GROUP_NAME ?? '',
    langAll, options: bindOptions(placement, opts), userId,
  });
  return { result: true };
}

/**
 * placement.get (placement-get.md): placement, userId, handler, options, title, description,
 * langAll. PHP's empty array shows as `[]`: empty options and langAll are `[]`, not `{}`.
 */
function placementGet(ctx: CallContext): { result: unknown[] } {
  const clientId = clientOf(ctx);
  const php = (o: Record<string, unknown>): unknown => (Object.keys(o).length ? o : []);
  return {
    result: ctx.portal.placements.filter((b) => b.clientId === clientId).map((b) => ({
      placement: b.placement, userId: b.userId, handler: b.handler, options: php(b.options), title: b.title,
      description: b.description, langAll: php(b.langAll),
    })),
  };
}

// ---------------------------------------------------------------------------
// Events

/** Events an app may bind, with the scope each needs (null = any app). */
const EVENTS: Record<string, string | null> = {
  ONAPPINSTALL: null, ONAPPUNINSTALL: null, ONAPPUPDATE: null, ONAPPPAYMENT: null, ONAPPTEST: null, ONAPPMETHODCONFIRM: null,
  ONOFFLINEEVENT: null,
};
for (const e of ['DEAL', 'CONTACT', 'COMPANY', 'LEAD']) for (const a of ['ADD', 'UPDATE', 'DELETE']) EVENTS[`ONCRM${e}${a}`] = 'crm';
for (const e of ['DEAL', 'CONTACT', 'COMPANY', 'LEAD']) for (const a of ['ADD', 'UPDATE', 'DELETE', 'SETENUMVALUES']) EVENTS[`ONCRM${e}USERFIELD${a}`] = 'crm';
EVENTS['ONCRMDEALMOVETOCATEGORY'] = 'crm';
EVENTS['ONCRMPRODUCTADD'] = 'crm'; EVENTS['ONCRMPRODUCTUPDATE'] = 'crm'; EVENTS['ONCRMPRODUCTDELETE'] = 'crm';
EVENTS['ONCRMACTIVITYADD'] = 'crm'; EVENTS['ONCRMACTIVITYUPDATE'] = 'crm'; EVENTS['ONCRMACTIVITYDELETE'] = 'crm';
EVENTS['ONCRMTIMELINECOMMENTADD'] = 'crm';
EVENTS['ONUSERADD'] = 'user';

/** EVENT_TYPE: online (default) or offline, anything else ERROR_ARGUMENT ([SRC] rest/lib/api/event.php). */
function eventType(params: Params): 'online' | 'offline' {
  const raw = String(param(params, 'event_type') ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'online') return 'online';
  if (raw === 'offline') return 'offline';
  throw new RestError('ERROR_ARGUMENT', 'Value must be one of {online|offline}', 400, { argument: 'EVENT_TYPE' });
}

export function knownEvents(): string[] {
  return Object.keys(EVENTS);
}

/**
 * Puts an event into the app's offline queue, keeping only the latest record per object:
 * an unreserved record with the same messageId is replaced (https://apidocs.bitrix24.com/api-reference/events/index.html). For the HTTP
 * face's event dispatcher.
 */
export function pushOfflineEvent(p: Portal, rec: Omit<OfflineEventRec, 'id' | 'processId' | 'error'>): OfflineEventRec {
  const i = p.offlineEvents.findIndex((e) => e.clientId === rec.clientId && e.messageId === rec.messageId && e.processId === null);
  if (i >= 0) p.offlineEvents.splice(i, 1);
  const full: OfflineEventRec = { ...rec, id: p.nextId('offlineEvent'), processId: null, error: false };
  p.offlineEvents.push(full);
  return full;
}

const OFFLINE_FIELDS: Record<string, [FType, (e: OfflineEventRec) => string | number | boolean | null]> = {
  ID: ['id', (e) => e.id],
  TIMESTAMP_X: ['datetime', (e) => e.timestampX],
  EVENT_NAME: ['string', (e) => e.eventName],
  MESSAGE_ID: ['string', (e) => e.messageId],
  PROCESS_ID: ['string', (e) => e.processId],
  ERROR: ['char', (e) => e.error],
};

function offlineResolver(name: string): QField<OfflineEventRec> | undefined {
  const f = OFFLINE_FIELDS[name.toUpperCase()];
  return f ? { name, type: f[0], get: f[1], isId: name.toUpperCase() === 'ID' } : undefined;
}

function offlineOut(p: Portal, e: OfflineEventRec): Record<string, unknown> {
  return {
    ID: String(e.id), TIMESTAMP_X: isoDateTime(e.timestampX, p.timeZone), EVENT_NAME: e.eventName, EVENT_DATA: e.eventData,
    EVENT_ADDITIONAL: e.eventAdditional, MESSAGE_ID: e.messageId,
  };
}

function asList(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.map(String);
  if (isObj(v)) return Object.values(v).map(String);
  return [String(v)];
}

function offlineSelect(ctx: CallContext, params: Params, wantProcess: string | null): OfflineEventRec[] {
  const p = ctx.portal;
  const app = clientOf(ctx);
  const err = String(param(params, 'error') ?? '0') === '1';
  const pool = p.offlineEvents.filter((e) => e.clientId === app && e.error === err && (e.processId === null || (wantProcess !== null && e.processId === wantProcess)));
  const limitRaw = Number(param(params, 'limit') ?? 50);
  const limit = Math.max(1, Math.min(1000, Number.isFinite(limitRaw) ? Math.trunc(limitRaw) : 50));
  const order = param(params, 'order') ?? { TIMESTAMP_X: 'ASC', ID: 'ASC' };
  const out = runList(pool, { filter: param(params, 'filter'), order }, offlineResolver, { strict: false, allowLogic: false, tz: p.timeZone }, limit);
  return out.rows;
}

export const bindingMethods: Def[] = [
  def('placement.bind', 'placement', 'bind', placementBind, PLACEMENT_ADMIN),

  def('placement.unbind', 'placement', 'bind', (ctx, params) => {
    const p = ctx.portal;
    const clientId = clientOf(ctx);
    const placement = String(param(params, 'PLACEMENT') ?? '').trim().toUpperCase();
    if (!placement) throw argErr('PLACEMENT');
    const handler = param(params, 'HANDLER');
    const userId = param(params, 'USER_ID');
    let count = 0;
    for (let i = p.placements.length - 1; i >= 0; i--) {
      const b = p.placements[i]!;
      if (b.clientId !== clientId || b.placement !== placement) continue;
      if (handler !== undefined && handler !== '' && b.handler !== String(handler)) continue;
      if (userId !== undefined && userId !== '' && b.userId !== Number(userId)) continue;
      p.placements.splice(i, 1);
      count++;
    }
    return { result: { count } };
  }, PLACEMENT_ADMIN),

  def('placement.get', 'placement', 'get', placementGet, PLACEMENT_ADMIN),

  // placement-list.md: works only in the context of an application
  def('placement.list', 'placement', 'get', (ctx) => ({ result: available(ctx) }), { appOnly: true, appOnlyError: APP_CONTEXT.authTypeContext }),

  def('event.bind', null, 'bind', (ctx, params) => {
    const p = ctx.portal;
    const clientId = clientOf(ctx);
    const event = String(param(params, 'event') ?? '').trim().toUpperCase();
    if (!event) throw argErr('EVENT');
    const type = eventType(params);
    const need = EVENTS[event];
    if (need === undefined || (need !== null && !hasScope(ctx, need))) throw new RestError('ERROR_EVENT_NOT_FOUND', 'Event not found', 400);
    let handler = String(param(params, 'handler') ?? '').trim();
    const authRaw = param(params, 'auth_type');
    let authType = authRaw === undefined || authRaw === '' ? 0 : Number(authRaw) || 0;
    if (type === 'offline') {
      if (!ctx.auth.isAdmin && ctx.auth.kind !== 'internal') throw new RestError('ACCESS_DENIED', 'Access denied! Offline events binding requires administrator access rights', 403);
      handler = '';
    } else {
      if (!handler) throw argErr('HANDLER');
      if (!validUrl(handler)) throw new RestError('ERROR_ARGUMENT', 'Wrong handler URL', 400, { argument: 'HANDLER' });
      if (!ctx.auth.isAdmin && ctx.auth.kind !== 'internal') {
        if (authType !== 0 && authType !== ctx.auth.userId) throw new RestError('ACCESS_DENIED', 'Access denied! Event binding with AUTH_TYPE requires administrator access rights', 403);
        authType = ctx.auth.userId;
      }
    }
    if (p.eventBindings.some((b) => b.clientId === clientId && b.event === event && b.handler === handler && b.authType === authType && b.eventType === type)) {
      throw new RestError('ERROR_HANDLER_ALREADY_EXIST', 'Handler already exists!', 400);
    }
    const opts = param(params, 'options');
    p.eventBindings.push({ id: p.nextId('eventBinding'), clientId, event, handler, authType, eventType: type, options: isObj(opts) ? opts : {} });
    return { result: true };
  }, { appOnly: true }),

  def('event.unbind', null, 'bind', (ctx, params) => {
    const p = ctx.portal;
    const clientId = clientOf(ctx);
    const event = String(param(params, 'event') ?? '').trim().toUpperCase();
    if (!event) throw argErr('EVENT');
    const type = eventType(params);
    const handler = type === 'offline' ? '' : String(param(params, 'handler') ?? '').trim();
    // event-unbind.md: handler required (online); non-admins unbind only their own online handlers
    const admin = ctx.auth.isAdmin || ctx.auth.kind === 'internal';
    if (type === 'offline' && !admin) throw new RestError('ACCESS_DENIED', 'Access denied! Offline events unbinding requires administrator access rights', 403);
    if (type === 'online' && !handler) throw argErr('HANDLER');
    let authRaw = param(params, 'auth_type');
    if (!admin && type === 'online') {
      if (authRaw !== undefined && authRaw !== '' && Number(authRaw) !== ctx.auth.userId) {
        throw new RestError('ACCESS_DENIED', 'Access denied! Event unbinding with AUTH_TYPE requires administrator access rights', 403);
      }
      authRaw = ctx.auth.userId;
    }
    let count = 0;
    for (let i = p.eventBindings.length - 1; i >= 0; i--) {
      const b = p.eventBindings[i]!;
      if (b.clientId !== clientId || b.event !== event || b.eventType !== type) continue;
      if (type === 'online' && handler && b.handler !== handler) continue;
      if (authRaw !== undefined && authRaw !== '' && b.authType !== Number(authRaw)) continue;
      p.eventBindings.splice(i, 1);
      count++;
    }
    return { result: { count } };
  }, { appOnly: true }),

  def('event.get', null, 'get', (ctx) => {
    const clientId = clientOf(ctx);
    return {
      // event-get.md shows online handlers; offline ones carry connector_id instead of handler/auth_type ([SRC] api/event.php)
      result: ctx.portal.eventBindings.filter((b) => b.clientId === clientId).map((b) => (b.eventType === 'offline'
        ? { event: b.event, connector_id: '', offline: 1 }
        : {
          event: b.event, handler: b.handler, auth_type: String(b.authType), offline: 0,
          ...(Object.keys(b.options).length ? { options: b.options } : {}),
        })),
    };
  }, { appOnly: true }),

  def('events', null, 'get', () => ({ result: knownEvents() }), { appOnly: true }),

  def('event.offline.get', null, 'other', (ctx, params) => {
    const p = ctx.portal;
    const clear = String(param(params, 'clear') ?? '1') !== '0';
    const given = param(params, 'process_id');
    const processId = given !== undefined && given !== '' ? String(given) : randomBytes(16).toString('hex');
    const rows = offlineSelect(ctx, params, given !== undefined && given !== '' ? processId : null);
    const events = rows.map((e) => offlineOut(p, e));
    if (clear) {
      const ids = new Set(rows.map((e) => e.id));
      for (let i = p.offlineEvents.length - 1; i >= 0; i--) if (ids.has(p.offlineEvents[i]!.id)) p.offlineEvents.splice(i, 1);
    } else {
      for (const e of rows) e.processId = processId;
    }
    return { result: { process_id: processId, events } };
  }, { appOnly: true }),

  def('event.offline.clear', null, 'other', (ctx, params) => {
    const p = ctx.portal;
    const clientId = clientOf(ctx);
    const processId = param(params, 'process_id');
    if (processId === undefined || processId === '') throw argErr('process_id');
    const ids = new Set(asList(param(params, 'id')).map(Number));
    const mids = new Set(asList(param(params, 'message_id')));
    for (let i = p.offlineEvents.length - 1; i >= 0; i--) {
      const e = p.offlineEvents[i]!;
      if (e.clientId !== clientId || e.processId !== String(processId)) continue;
      if (ids.size && !ids.has(e.id)) continue;
      if (mids.size && !mids.has(e.messageId)) continue;
      p.offlineEvents.splice(i, 1);
    }
    return { result: true };
  }, { appOnly: true }),

  def('event.offline.error', null, 'other', (ctx, params) => {
    const clientId = clientOf(ctx);
    const processId = param(params, 'process_id');
    if (processId === undefined || processId === '') throw argErr('process_id');
    const mids = new Set(asList(param(params, 'message_id')));
    for (const e of ctx.portal.offlineEvents) {
      if (e.clientId === clientId && e.processId === String(processId) && (mids.size === 0 || mids.has(e.messageId))) {
        e.error = true;
        e.processId = null;
      }
    }
    return { result: true };
  }, { appOnly: true }),

  def('event.offline.list', null, 'list', (ctx, params) => {
    const p = ctx.portal;
    const clientId = clientOf(ctx);
    const pool = p.offlineEvents.filter((e) => e.clientId === clientId);
    const out = runList(pool, { filter: param(params, 'filter'), order: param(params, 'order') ?? { ID: 'ASC' }, start: param(params, 'start') }, offlineResolver, { strict: false, allowLogic: false, tz: p.timeZone });
    const res = { result: out.rows.map((e) => ({ ...offlineOut(p, e), PROCESS_ID: e.processId, ERROR: e.error ? 1 : 0 })), total: out.total, rows: out.rows.length } as { result: unknown; total: number; rows: number; next?: number };
    if (out.next !== undefined) res.next = out.next;
    return res;
  }, { appOnly: true }),
];
