/**
 * The contract between the emulator's data/method layer (`methods/`) and its HTTP face
 * (`http/`): a method is a function of (context, params) that returns the `result`
 * (plus `total`/`next` for lists) or throws a RestError, exactly as the portal's
 * REST server wraps a method's return value (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/general-principles.html).
 */
import type { Portal } from './portal.js';

/** A REST error: `{"error": code, "error_description": description}` with an HTTP status. */
export class RestError extends Error {
  constructor(
    public readonly code: string,
    public readonly description: string,
    public readonly status = 400,
    public readonly extra: Record<string, unknown> = {},
  ) {
    super(`${code}: ${description}`);
  }
}

export type Params = Record<string, unknown>;

export interface CallAuth {
  kind: 'oauth' | 'webhook' | 'internal';
  userId: number;
  isAdmin: boolean;
  /** The app's client_id for OAuth calls; null for webhooks and internal calls. */
  clientId: string | null;
  /** Granted scopes; internal calls get every scope. */
  scopes: ReadonlySet<string>;
}

export interface CallContext {
  portal: Portal;
  auth: CallAuth;
  /** Portal-clock time of the call, epoch ms. */
  now: number;
}

export interface MethodResult {
  result: unknown;
  /** Lists only: the full count (0 when start=-1). */
  total?: number;
  /** Lists only: offset of the next page, present only when more rows remain. */
  next?: number;
  /** Rows returned, for the list cost model (costs.ts). */
  rows?: number;
}

/** Declared kind of a method; costs.ts maps names and kinds to the cost model's classes. */
export type CostKind = 'list' | 'get' | 'write' | 'bind' | 'other';

export interface MethodDef {
  /** Lower-case method name, e.g. `crm.contact.list`. */
  name: string;
  /** Required scope, or null for global methods (batch, profile, app.info, event.*, ...). */
  scope: string | null;
  cost: CostKind;
  /** Only callable with an app's OAuth token (webhooks get 403 WRONG_AUTH_TYPE). */
  appOnly?: boolean;
  /** Only callable by a portal administrator (403 ACCESS_DENIED). */
  adminOnly?: boolean;
  handler: (ctx: CallContext, params: Params) => MethodResult;
}

/** What a data change means for event delivery (ONCRMDEALUPDATE etc.). */
export interface CrmEvent {
  event: string; // upper case, e.g. ONCRMDEALUPDATE
  data: Record<string, unknown>; // e.g. { FIELDS: { ID: 12 } }
  /** User whose action caused it (tokens in the payload are issued for them). */
  userId: number;
}
