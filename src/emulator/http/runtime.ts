/**
 * What the HTTP face needs besides the portal: the method table, limits, faults, event
 * delivery and a few switches. One runtime per emulated portal.
 */
import type { EventDelivery } from '../events.js';
import type { Faults } from '../faults.js';
import type { Limits } from '../limits.js';
import type { Portal } from '../portal.js';
import type { CallContext, MethodDef, MethodResult, Params } from '../types.js';

/** The method layer's surface (`src/emulator/methods/index.ts`). */
export interface Dispatcher {
  methods: ReadonlyMap<string, MethodDef>;
  callMethod(ctx: CallContext, name: string, params: Params): MethodResult;
}

export interface Runtime {
  portal: Portal;
  dispatcher: Dispatcher;
  limits: Limits;
  faults: Faults;
  delivery: EventDelivery;
  /** Answer after cost / timeScale wall ms (off by default). */
  simulateLatency: boolean;
  /** `domain` reported by the OAuth server (https://apidocs.bitrix24.com/settings/oauth/index.html: the auth server, "oauth.bitrix.info"). */
  oauthDomain: string;
  /** Where `POST /_emulator/state/save` writes by default (null: a path must be given). */
  statePath: string | null;
  /** Sockets held open by `timeout` faults; destroyed on close. */
  heldSockets: Set<import('node:net').Socket>;
  /** Diagnostics (unexpected method errors). */
  log: (line: string) => void;
}

/** A scope set that contains every scope (internal calls). */
export class AllScopes extends Set<string> {
  override has(_s: string): boolean {
    return true;
  }
}
