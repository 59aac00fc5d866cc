/**
 * Event delivery of the emulated portal (https://apidocs.bitrix24.com/api-reference/common/events/on-app-install.html, https://apidocs.bitrix24.com/api-reference/events/index.html).
 *
 * For each CRM event the method layer emits (`portal.emit`), for each app that finished its
 * installation (`installed === true`, i.e. installFinish was called):
 * - online bindings of that event get a POST, `application/x-www-form-urlencoded` with PHP
 *   brackets: `event`, `event_handler_id`, `data[...]`, `ts`, `auth[...]` (fresh tokens issued
 *   for the acting user, or for the binding's `auth_type` user; no refresh_token);
 *   asynchronous, no retry; failures are counted and logged;
 * - offline bindings get a record in `portal.offlineEvents`, one per app × event × object
 *   (`messageId`): a newer event replaces an unreserved older record.
 * Nothing is delivered or queued for apps before installFinish.
 *
 * `flush()` waits for every delivery in flight; `log` keeps the last deliveries.
 */
import { createHash } from 'node:crypto';
import qs from 'qs';
import type { AppRec, TokenRec } from './model.js';
import type { Portal } from './portal.js';
import { issueTokens } from './tokens.js';
import type { CrmEvent } from './types.js';

export interface DeliveryRecord {
  id: number;
  /** Portal-clock ms when the POST was sent. */
  at: number;
  event: string;
  clientId: string;
  url: string;
  bindingId: number | null;
  /** HTTP status of the handler's answer; null on network failure/timeout. */
  status: number | null;
  ok: boolean;
  error: string | null;
  /** The payload as sent (before form encoding). */
  payload: Record<string, unknown>;
}

export interface DeliveryStats {
  sent: number;
  delivered: number;
  failed: number;
  offlineQueued: number;
  skippedNotInstalled: number;
}

export interface EventDeliveryOptions {
  /** Wall ms before a handler POST is abandoned (default 10000). */
  timeoutMs?: number;
  /** Entries kept in the log (default 1000). */
  logLimit?: number;
  /** Scheme used for client_endpoint/server_endpoint (default http). */
  protocol?: 'http' | 'https';
}

/** `http://<portal.domain>/rest/`: the portal's REST base. */
export function clientEndpoint(portal: Portal, protocol: 'http' | 'https' = 'http'): string {
  return `${protocol}://${portal.domain}/rest/`;
}

/** The OAuth server's REST base the portal names (`portal.serverEndpoint`, else its own REST base). */
export function serverEndpoint(portal: Portal, protocol: 'http' | 'https' = 'http'): string {
  return portal.serverEndpoint ?? clientEndpoint(portal, protocol);
}

/** The `auth[...]` block of an event POST (https://apidocs.bitrix24.com/api-reference/common/events/on-app-install.html / https://apidocs.bitrix24.com/api-reference/events/index.html). Scopes comma-separated. */
export function eventAuth(
  portal: Portal,
  app: AppRec,
  tok: TokenRec | null,
  opts: { refreshToken?: boolean; userId?: boolean; expires?: boolean; protocol?: 'http' | 'https' } = {},
): Record<string, string> {
  const ep = clientEndpoint(portal, opts.protocol);
  const auth: Record<string, string> = {};
  if (tok) {
    auth.access_token = tok.accessToken;
    if (opts.refreshToken) auth.refresh_token = tok.refreshToken;
    if (opts.expires) auth.expires = String(Math.floor(tok.expiresAt / 1000));
    auth.expires_in = String(portal.accessTokenTtl);
    auth.scope = app.scopes.join(',');
  }
  auth.domain = portal.domain;
  auth.server_endpoint = serverEndpoint(portal, opts.protocol);
  if (tok) auth.status = app.status;
  auth.client_endpoint = ep;
  auth.member_id = portal.memberId;
  if (tok && opts.userId) auth.user_id = String(tok.userId);
  auth.application_token = app.applicationToken;
  return auth;
}

export function formEncode(payload: Record<string, unknown>): string {
  return qs.stringify(payload);
}

export class EventDelivery {
  readonly log: DeliveryRecord[] = [];
  readonly stats: DeliveryStats = { sent: 0, delivered: 0, failed: 0, offlineQueued: 0, skippedNotInstalled: 0 };
  private readonly pending = new Set<Promise<DeliveryRecord>>();
  private seq = 0;
  private readonly timeoutMs: number;
  private readonly logLimit: number;
  readonly protocol: 'http' | 'https';

  constructor(private readonly portal: Portal, opts: EventDeliveryOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.logLimit = opts.logLimit ?? 1000;
    this.protocol = opts.protocol ?? 'http';
  }

  /** Makes this the portal's event sink. */
  attach(): void {
    this.portal.eventSink = (ev) => this.handle(ev);
  }

  handle(ev: CrmEvent): void {
    const portal = this.portal;
    const name = ev.event.toUpperCase();
    for (const b of portal.eventBindings) {
      if (b.event.toUpperCase() !== name) continue;
      const app = portal.apps.get(b.clientId);
      if (!app || !app.installed || app.uninstalled) {
        this.stats.skippedNotInstalled++;
        continue;
      }
      if (b.eventType === 'offline') {
        this.queueOffline(app, name, ev);
        continue;
      }
      if (!b.handler) continue;
      const userId = b.authType > 0 ? b.authType : ev.userId;
      const tok = issueTokens(portal, app.clientId, userId);
      const payload: Record<string, unknown> = {
        event: name,
        event_handler_id: String(b.id),
        data: ev.data,
        ts: String(Math.floor(portal.clock.now() / 1000)),
        auth: eventAuth(portal, app, tok, { protocol: this.protocol }),
      };
      void this.post(b.handler, payload, { event: name, clientId: app.clientId, bindingId: b.id });
    }
  }

  private queueOffline(app: AppRec, name: string, ev: CrmEvent): void {
    const portal = this.portal;
    const fields = (ev.data as { FIELDS?: { ID?: unknown } }).FIELDS;
    const objectKey = fields?.ID !== undefined ? String(fields.ID) : JSON.stringify(ev.data);
    const messageId = createHash('md5').update(`${app.clientId}|${name}|${objectKey}`).digest('hex');
    const now = portal.clock.now();
    const existing = portal.offlineEvents.find((r) => r.clientId === app.clientId && r.messageId === messageId && r.processId === null);
    if (existing) {
      existing.timestampX = now;
      existing.eventData = ev.data;
      existing.eventAdditional = { user_id: String(ev.userId) };
      existing.error = false;
    } else {
      portal.offlineEvents.push({
        id: portal.nextId('offlineEvent'),
        clientId: app.clientId,
        timestampX: now,
        eventName: name,
        eventData: ev.data,
        eventAdditional: { user_id: String(ev.userId) },
        messageId,
        processId: null,
        error: false,
      });
    }
    this.stats.offlineQueued++;
  }

  /** POSTs a form-encoded payload; never throws; the promise is tracked for flush(). */
  post(url: string, payload: Record<string, unknown>, meta: { event: string; clientId: string; bindingId: number | null }): Promise<DeliveryRecord> {
    const rec: DeliveryRecord = {
      id: ++this.seq,
      at: this.portal.clock.now(),
      event: meta.event,
      clientId: meta.clientId,
      url,
      bindingId: meta.bindingId,
      status: null,
      ok: false,
      error: null,
      payload,
    };
    this.stats.sent++;
    const p = (async () => {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'Bitrix24 Webhook Engine (emulator)' },
          body: formEncode(payload),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        rec.status = res.status;
        rec.ok = res.status >= 200 && res.status < 300;
        if (!rec.ok) rec.error = `HTTP ${res.status}`;
        await res.arrayBuffer().catch(() => undefined);
      } catch (e) {
        rec.error = e instanceof Error ? (e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message) : String(e);
      }
      if (rec.ok) this.stats.delivered++;
      else this.stats.failed++;
      this.log.push(rec);
      if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - this.logLimit);
      return rec;
    })();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /** Resolves when every delivery in flight (including ones started meanwhile) is done. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
