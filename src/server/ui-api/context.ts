/**
 * What the UI API needs (UiContext, built by src/server/app.ts uiContext or a test), and the
 * shared verifier of users' tokens per context.
 */
import path from 'node:path';
import type { AppConfig } from '../../config.js';
import { loadManifest } from '../../../manifest/index.js';
import type { B24Client } from '../../b24/client.js';
import type { Db } from '../../store/index.js';
import type { EndpointLimits, LimitedEndpoint } from '../rate-limit.js';
import type { PortalGate } from './portal-gate.js';
import { PortalUserVerifier } from './portal-user.js';

export interface RunNowResult {
  started: boolean;
  runId?: number;
  message?: string;
}

export interface UiContext {
  db: Db;
  config: Pick<AppConfig, 'sessionSecret' | 'production' | 'clientId' | 'appCode'>;
  /**
   * The portal's shared REST client (src/portal-clients.ts): users' tokens are checked with
   * clients over ITS limiter (portal-user.ts). Needed by the default verifier.
   */
  clientFor?: (portalId: number) => B24Client;
  /** defaults to a shared verifier over `clientFor` */
  verifier?: PortalUserVerifier;
  /** "Run now" on the sync page: start sync + score in the background for this portal */
  runNow?: (portalId: number) => Promise<RunNowResult>;
  /** queue a write-back now (saved segments changed while the segment field is on) */
  writeBackNow?: (portalId: number) => Promise<void>;
  /** empty UF_CRM_SEG_SAVED on every contact that holds a value (src/writeback/saved-segment.ts) */
  clearSavedField?: (portalId: number) => Promise<{ cleared: number; failed: number }>;
  /** "remove the app's fields" (src/writeback/remove-fields.ts removeAppFields) */
  removeFields?: (portalId: number) => Promise<{ deleted: string[]; errors: string[] }>;
  /** "re-create the fields" (restoreAppFields) */
  restoreFields?: (portalId: number) => Promise<{ created: string[]; existing: string[]; errors: string[] }>;
  /** where the built UI lives (default <repo>/ui/dist) */
  uiDist?: string;
  /** overrides of the rate limits (src/server/rate-limit.ts); POST /api/ui/session is limited */
  rateLimits?: Partial<Record<LimitedEndpoint, EndpointLimits>>;
  /** statement timeout of the API's database work, ms (default UI_STATEMENT_TIMEOUT_MS; PostgreSQL only, see Db.withStatementTimeout) */
  statementTimeoutMs?: number;
  /** per-portal admission of heavy requests (default: UI_PORTAL_RUNNING running, UI_PORTAL_WAITING waiting) */
  gate?: PortalGate;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

export const DEFAULT_UI_DIST = path.resolve(new URL('.', import.meta.url).pathname, '../../../ui/dist');

/** The codes `app.info` gives for this app: the client_id (local apps) and APP_CODE (default: the manifest's app code). */
export function appCodesOf(config: Pick<AppConfig, 'clientId' | 'appCode'>): string[] {
  return [config.clientId, config.appCode ?? loadManifest().app.code];
}

const verifiers = new WeakMap<UiContext, PortalUserVerifier>();

/** The context's verifier: ctx.verifier, else one per context over ctx.clientFor. */
export function verifierOf(ctx: UiContext): PortalUserVerifier {
  if (ctx.verifier) return ctx.verifier;
  let v = verifiers.get(ctx);
  if (!v) {
    const clientFor = ctx.clientFor ?? (() => {
      throw new Error('the UI API has no portal clients (UiContext.clientFor): users\' tokens cannot be checked');
    });
    verifiers.set(ctx, (v = new PortalUserVerifier(appCodesOf(ctx.config), clientFor)));
  }
  return v;
}
