/**
 * The reference the probe compares a portal with: an in-process emulator with a small generated
 * portal (fixed seed), reached over HTTP through its own incoming webhook, so every answer passes
 * the same REST face (envelopes, errors, batch, time blocks) a real client sees.
 */
import { PortalClock } from '../emulator/clock.js';
import { generatePortal } from '../emulator/generator.js';
import { callMethod } from '../emulator/methods/index.js';
import { AllScopes } from '../emulator/http/runtime.js';
import { Portal } from '../emulator/portal.js';
import { startEmulator } from '../emulator/server.js';
import { webhookCaller, type Caller } from './http.js';

export interface Reference {
  call: Caller;
  close(): Promise<void>;
}

export const REFERENCE_SEED = 20240815;

export async function startReference(): Promise<Reference> {
  const portal = new Portal({ clock: new PortalClock(Date.now(), 1) });
  generatePortal(portal, { contacts: 150, seed: REFERENCE_SEED });
  // one contact user field, so crm.contact.userfield.list has a row to compare
  const auth = { kind: 'internal' as const, userId: 1, isAdmin: true, clientId: null, scopes: new AllScopes() };
  callMethod({ portal, auth, now: portal.clock.now() }, 'crm.contact.userfield.add', { fields: { FIELD_NAME: 'PROBE_NOTE', USER_TYPE_ID: 'string', LABEL: 'Probe note' } });
  const emu = await startEmulator({ portal, hostPage: false, limits: { noRateLimit: true }, log: () => undefined });
  return { call: webhookCaller(emu.webhookUrl), close: () => emu.close() };
}
