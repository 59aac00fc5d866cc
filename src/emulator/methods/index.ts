/**
 * The method registry of the emulated portal and its dispatcher `callMethod`: lookup
 * (case-insensitive), scope check, app-context check, admin check, then the handler.
 * The HTTP face (routing, auth, limits, batch, events delivery) calls `callMethod`.
 */
import { RestError, type CallContext, type MethodDef, type MethodResult, type Params } from '../types.js';
import { commonMethods } from './common.js';
import { crmMethods } from './crm.js';
import { leadMethods } from './leads.js';
import { catalogMethods } from './catalog.js';
import { userfieldMethods } from './userfields.js';
import { bindingMethods } from './bindings.js';
import { automationMethods } from './automation.js';
import { APP_CONTEXT, type Def } from './util.js';

const all: Def[] = [...commonMethods, ...crmMethods, ...leadMethods, ...catalogMethods, ...userfieldMethods, ...bindingMethods, ...automationMethods];

const registry = new Map<string, Def>();
for (const d of all) {
  if (registry.has(d.name)) throw new Error(`duplicate method ${d.name}`);
  registry.set(d.name, d);
}

/** Every emulated method by lower-case name. */
export const methods: ReadonlyMap<string, MethodDef> = registry;

/** Registers more methods (used by the other method modules of this folder). */
export function registerMethods(defs: readonly Def[]): void {
  for (const d of defs) registry.set(d.name, d);
}

/**
 * Runs one REST method for an authenticated caller. Throws RestError:
 * unknown → 404 ERROR_METHOD_NOT_FOUND; scope missing → 403 insufficient_scope;
 * app-only method with a webhook → the method's documented refusal (APP_CONTEXT, rule 4 of
 * docs/emulator-parity.md); admin-only → 403 ACCESS_DENIED unless the method says otherwise.
 */
export function callMethod(ctx: CallContext, name: string, params: Params): MethodResult {
  const d = registry.get(name.trim().toLowerCase().replace(/\.json$/, ''));
  if (!d) throw new RestError('ERROR_METHOD_NOT_FOUND', 'Method not found!', 404);
  const a = ctx.auth;
  if (a.kind !== 'internal' && d.scope !== null) {
    const ok = a.scopes.has(d.scope) || (d.altScopes ?? []).some((s) => a.scopes.has(s));
    if (!ok) throw new RestError('insufficient_scope', 'The request requires higher privileges than provided by the access token', 403);
  }
  if (d.appOnly && a.kind === 'webhook') throw (d.appOnlyError ?? APP_CONTEXT.authType)();
  if (d.adminOnly && !a.isAdmin && a.kind !== 'internal') {
    throw d.adminError ? d.adminError() : new RestError('ACCESS_DENIED', 'Access denied!', 403);
  }
  return d.handler(ctx, params);
}

export { addContact, updateContact, deleteContact, addDeal, updateDeal, deleteDeal, addCompany } from './data.js';
export { indexInsert, indexDelete, invalidateIndex, sortedIds } from '../query.js';
export { pushOfflineEvent, knownEvents } from './bindings.js';
