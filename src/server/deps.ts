/** What the HTTP server needs; built by src/app.ts (or a test). */
import type { AppConfig } from '../config.js';
import type { Manifest } from '../../manifest/index.js';
import type { B24Client } from '../b24/client.js';
import type { LimiterOptions } from '../b24/limiter.js';
import type { Router } from 'express';
import type { Db } from '../store/db.js';
import type { CrmEventSink } from './event-queue.js';
import type { HealthOptions } from './health.js';
import type { Logger } from './log.js';
import type { RefreshFn } from './install-proof.js';
import type { EndpointLimits, LimitedEndpoint } from './rate-limit.js';

export interface ServerDeps {
  db: Db;
  config: AppConfig;
  manifest: Manifest;
  log: Logger;
  /** Where CRM events go (ACKed at once, processed later). */
  events: CrmEventSink;
  /** The portal's shared REST client (src/portal-clients.ts). */
  clientFor(portalId: number): B24Client;
  /** Drop a cached client (uninstall). */
  forgetClient(portalId: number): void;
  /** false: install does not create the contact user fields (default: it does, via src/writeback). */
  registerFields?: boolean;
  /** Called once a portal is installed and registered: the app queues its first full cycle. */
  onInstalled?: (portalId: number) => Promise<void>;
  /** "Run now" from the UI's sync page: queue sync + score + write-back for a portal. */
  runNow?: (portalId: number) => Promise<{ started: boolean; runId?: number; message?: string }>;
  /** Queue a write-back now (saved segments changed while the segment field is on). */
  writeBackNow?: (portalId: number) => Promise<void>;
  /** Where the built UI lives (default <repo>/ui/dist); tests may point elsewhere. */
  uiDist?: string;
  /** Statement timeout of the UI API's database work, ms (default UI_STATEMENT_TIMEOUT_MS, src/server/ui-api/limits.ts). */
  uiStatementTimeoutMs?: number;
  /** Limiter options for one-off clients (install token check); the emulator's time scale. */
  limiter?: LimiterOptions;
  /** The OAuth refresh call used to prove installs (default: the real GET; tests count calls). */
  oauthRefresh?: RefreshFn;
  /** Overrides of the rate limits (src/server/rate-limit.ts DEFAULT_LIMITS). */
  rateLimits?: Partial<Record<LimitedEndpoint, EndpointLimits>>;
  /** Readiness of the process beyond the store (/readyz, src/server/health.ts): draining, the role's checks. */
  health?: Omit<HealthOptions, 'db'>;
  /** Further operations endpoints mounted first (the metrics: src/server/metrics.ts). */
  ops?: Router[];
}
