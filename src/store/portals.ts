/**
 * Tenants. A portal row is created on ONAPPINSTALL (keyed by member_id) and carries the
 * OAuth tokens (encrypted), the application_token (HMAC) and per-portal settings.
 * Portal objects never contain tokens; use getPortalAuth() when you need to call the API.
 */
import type { Db } from './db.js';
import { getTokenCipher, type TokenCipher } from './crypto.js';

export type PortalPlan = 'standard' | 'enterprise';
export type PortalStatus = 'installing' | 'active' | 'needs_reauth' | 'uninstalled';

export interface Portal {
  id: number;
  memberId: string;
  domain: string;
  clientEndpoint: string | null;
  serverEndpoint: string | null;
  tokenExpiresAt: Date | null;
  tokenVersion: number;
  scope: string | null;
  plan: PortalPlan;
  status: PortalStatus;
  settings: Record<string, unknown>;
  language: string | null;
  timeZone: string | null;
  baseCurrency: string | null;
  installedAt: Date;
  updatedAt: Date;
}

export interface PortalAuth {
  portalId: number;
  memberId: string;
  domain: string;
  clientEndpoint: string | null;
  serverEndpoint: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: Date | null;
  tokenVersion: number;
}

export interface InstallInput {
  memberId: string;
  domain: string;
  clientEndpoint?: string | null;
  serverEndpoint?: string | null;
  accessToken?: string | null;
  refreshToken?: string | null;
  expiresAt?: Date | null;
  applicationToken?: string | null;
  scope?: string | null;
  plan?: PortalPlan;
  /** Default 'installing'; pass 'active' once the install handshake is complete. */
  status?: PortalStatus;
  language?: string | null;
  timeZone?: string | null;
  baseCurrency?: string | null;
}

const PORTAL_COLS = `id, member_id, domain, client_endpoint, server_endpoint, token_expires_at, token_version,
  scope, plan, status, settings, language, time_zone, base_currency, installed_at, updated_at`;

interface PortalDbRow {
  id: number;
  member_id: string;
  domain: string;
  client_endpoint: string | null;
  server_endpoint: string | null;
  token_expires_at: Date | null;
  token_version: number;
  scope: string | null;
  plan: PortalPlan;
  status: PortalStatus;
  settings: Record<string, unknown>;
  language: string | null;
  time_zone: string | null;
  base_currency: string | null;
  installed_at: Date;
  updated_at: Date;
}

function toPortal(r: PortalDbRow): Portal {
  return {
    id: r.id,
    memberId: r.member_id,
    domain: r.domain,
    clientEndpoint: r.client_endpoint,
    serverEndpoint: r.server_endpoint,
    tokenExpiresAt: r.token_expires_at,
    tokenVersion: r.token_version,
    scope: r.scope,
    plan: r.plan,
    status: r.status,
    settings: r.settings ?? {},
    language: r.language,
    timeZone: r.time_zone,
    baseCurrency: r.base_currency,
    installedAt: r.installed_at,
    updatedAt: r.updated_at,
  };
}

const enc = (c: TokenCipher, v: string | null | undefined) => (v == null ? null : c.encrypt(v));

/**
 * ONAPPINSTALL / install page: creates the portal or refreshes it on reinstall (same
 * member_id). Reinstall keeps id, settings and CRM data; tokens, endpoints, status are replaced.
 */
export async function upsertPortalOnInstall(db: Db, input: InstallInput, cipher: TokenCipher = getTokenCipher()): Promise<Portal> {
  const { rows } = await db.query<PortalDbRow>(
    `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, access_token_enc, refresh_token_enc,
       token_expires_at, application_token_hash, scope, plan, status, language, time_zone, base_currency)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, COALESCE($10, 'standard'), COALESCE($11, 'installing'), $12, $13, $14)
     ON CONFLICT (member_id) DO UPDATE SET
       domain = EXCLUDED.domain,
       client_endpoint = COALESCE(EXCLUDED.client_endpoint, portals.client_endpoint),
       server_endpoint = COALESCE(EXCLUDED.server_endpoint, portals.server_endpoint),
       access_token_enc = COALESCE(EXCLUDED.access_token_enc, portals.access_token_enc),
       refresh_token_enc = COALESCE(EXCLUDED.refresh_token_enc, portals.refresh_token_enc),
       token_expires_at = COALESCE(EXCLUDED.token_expires_at, portals.token_expires_at),
       token_version = portals.token_version + 1,
       application_token_hash = COALESCE(EXCLUDED.application_token_hash, portals.application_token_hash),
       scope = COALESCE(EXCLUDED.scope, portals.scope),
       plan = COALESCE($10, portals.plan),
       status = EXCLUDED.status,
       language = COALESCE(EXCLUDED.language, portals.language),
       time_zone = COALESCE(EXCLUDED.time_zone, portals.time_zone),
       base_currency = COALESCE(EXCLUDED.base_currency, portals.base_currency),
       installed_at = CASE WHEN portals.status = 'uninstalled' THEN now() ELSE portals.installed_at END,
       updated_at = now()
     RETURNING ${PORTAL_COLS}`,
    [
      input.memberId,
      input.domain,
      input.clientEndpoint ?? null,
      input.serverEndpoint ?? null,
      enc(cipher, input.accessToken),
      enc(cipher, input.refreshToken),
      input.expiresAt ?? null,
      input.applicationToken == null ? null : cipher.hash(input.applicationToken),
      input.scope ?? null,
      input.plan ?? null,
      input.status ?? null,
      input.language ?? null,
      input.timeZone ?? null,
      input.baseCurrency ?? null,
    ],
  );
  return toPortal(rows[0]!);
}

export async function getPortal(db: Db, portalId: number): Promise<Portal | null> {
  const { rows } = await db.query<PortalDbRow>(`SELECT ${PORTAL_COLS} FROM portals WHERE id = $1`, [portalId]);
  return rows[0] ? toPortal(rows[0]) : null;
}

export async function getPortalByMemberId(db: Db, memberId: string): Promise<Portal | null> {
  const { rows } = await db.query<PortalDbRow>(`SELECT ${PORTAL_COLS} FROM portals WHERE member_id = $1`, [memberId]);
  return rows[0] ? toPortal(rows[0]) : null;
}

/** Portals in a status (e.g. 'active' for the scheduler). System-wide by design. */
export async function listPortals(db: Db, opts: { status?: PortalStatus } = {}): Promise<Portal[]> {
  const { rows } = await db.query<PortalDbRow>(
    `SELECT ${PORTAL_COLS} FROM portals WHERE ($1::text IS NULL OR status = $1) ORDER BY id`,
    [opts.status ?? null],
  );
  return rows.map(toPortal);
}

/** Decrypted tokens + endpoints for calling the portal's REST API. */
export async function getPortalAuth(db: Db, portalId: number, cipher: TokenCipher = getTokenCipher()): Promise<PortalAuth | null> {
  const { rows } = await db.query<{
    id: number;
    member_id: string;
    domain: string;
    client_endpoint: string | null;
    server_endpoint: string | null;
    access_token_enc: string | null;
    refresh_token_enc: string | null;
    token_expires_at: Date | null;
    token_version: number;
  }>(
    `SELECT id, member_id, domain, client_endpoint, server_endpoint, access_token_enc, refresh_token_enc,
            token_expires_at, token_version FROM portals WHERE id = $1`,
    [portalId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    portalId: r.id,
    memberId: r.member_id,
    domain: r.domain,
    clientEndpoint: r.client_endpoint,
    serverEndpoint: r.server_endpoint,
    accessToken: r.access_token_enc == null ? null : cipher.decrypt(r.access_token_enc),
    refreshToken: r.refresh_token_enc == null ? null : cipher.decrypt(r.refresh_token_enc),
    expiresAt: r.token_expires_at,
    tokenVersion: r.token_version,
  };
}

export interface TokenUpdate {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  clientEndpoint?: string | null;
  serverEndpoint?: string | null;
  scope?: string | null;
  /**
   * Compare-and-swap: only write if the stored token_version still equals this (the one
   * read with getPortalAuth before refreshing). Returns false when another refresher won.
   */
  ifTokenVersion?: number;
}

/** Stores refreshed tokens; sets status 'active' if it was 'needs_reauth'. */
export async function updatePortalTokens(
  db: Db,
  portalId: number,
  t: TokenUpdate,
  cipher: TokenCipher = getTokenCipher(),
): Promise<boolean> {
  const r = await db.query(
    `UPDATE portals SET access_token_enc = $2, refresh_token_enc = $3, token_expires_at = $4,
       client_endpoint = COALESCE($5, client_endpoint), server_endpoint = COALESCE($6, server_endpoint),
       scope = COALESCE($7, scope), token_version = token_version + 1,
       status = CASE WHEN status = 'needs_reauth' THEN 'active' ELSE status END, updated_at = now()
     WHERE id = $1 AND ($8::integer IS NULL OR token_version = $8)`,
    [
      portalId,
      cipher.encrypt(t.accessToken),
      cipher.encrypt(t.refreshToken),
      t.expiresAt,
      t.clientEndpoint ?? null,
      t.serverEndpoint ?? null,
      t.scope ?? null,
      t.ifTokenVersion ?? null,
    ],
  );
  return r.rowCount === 1;
}

/** Constant-time check of an event's auth[application_token] against the stored HMAC. */
export async function verifyApplicationToken(
  db: Db,
  memberId: string,
  applicationToken: string,
  cipher: TokenCipher = getTokenCipher(),
): Promise<Portal | null> {
  const { rows } = await db.query<PortalDbRow & { application_token_hash: string | null }>(
    `SELECT ${PORTAL_COLS}, application_token_hash FROM portals WHERE member_id = $1`,
    [memberId],
  );
  const r = rows[0];
  if (!r || !cipher.verifyHash(applicationToken, r.application_token_hash)) return null;
  return toPortal(r);
}

export async function setPortalStatus(db: Db, portalId: number, status: PortalStatus): Promise<void> {
  await db.query(`UPDATE portals SET status = $2, updated_at = now() WHERE id = $1`, [portalId, status]);
}

export async function setPortalPlan(db: Db, portalId: number, plan: PortalPlan): Promise<void> {
  await db.query(`UPDATE portals SET plan = $2, updated_at = now() WHERE id = $1`, [portalId, plan]);
}

/** Shallow-merges `patch` into settings (top-level keys); returns the new settings. */
export async function updatePortalSettings(
  db: Db,
  portalId: number,
  patch: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ settings: Record<string, unknown> }>(
    `UPDATE portals SET settings = settings || $2::jsonb, updated_at = now() WHERE id = $1 RETURNING settings`,
    [portalId, JSON.stringify(patch)],
  );
  return rows[0]?.settings ?? {};
}

/** Portal facts read from the portal after install (profile / currency / user option calls). */
export async function updatePortalInfo(
  db: Db,
  portalId: number,
  info: { language?: string | null; timeZone?: string | null; baseCurrency?: string | null; domain?: string },
): Promise<void> {
  await db.query(
    `UPDATE portals SET language = COALESCE($2, language), time_zone = COALESCE($3, time_zone),
       base_currency = COALESCE($4, base_currency), domain = COALESCE($5, domain), updated_at = now() WHERE id = $1`,
    [portalId, info.language ?? null, info.timeZone ?? null, info.baseCurrency ?? null, info.domain ?? null],
  );
}

/** Tables holding a portal's data (everything but the portals row), children first. */
export const PORTAL_DATA_TABLES = [
  'writeback_runs',
  'written_values',
  'field_registry',
  'contact_labels',
  'score_runs',
  'sync_runs',
  'deal_contacts',
  'product_rows',
  'deals',
  'contacts',
  'companies',
  'products',
  'sections',
  'stages',
  'funnels',
  'currencies',
] as const;

/** Deletes every CRM / sync / scoring row of one portal; keeps the portal row. */
export async function deletePortalData(db: Db, portalId: number): Promise<void> {
  await db.transaction(async (tx) => {
    for (const t of PORTAL_DATA_TABLES) await tx.query(`DELETE FROM ${t} WHERE portal_id = $1`, [portalId]);
  });
}

/**
 * ONAPPUNINSTALL. Tokens are always wiped and status becomes 'uninstalled'.
 * clean = data[CLEAN]=1 (the admin chose to delete the app's data): the portal row and all
 * its data are deleted (FK cascade). Without clean, data stays for a later reinstall.
 */
export async function uninstallPortal(db: Db, portalId: number, opts: { clean: boolean }): Promise<void> {
  if (opts.clean) {
    await db.transaction(async (tx) => {
      for (const t of PORTAL_DATA_TABLES) await tx.query(`DELETE FROM ${t} WHERE portal_id = $1`, [portalId]);
      await tx.query(`DELETE FROM portals WHERE id = $1`, [portalId]);
    });
    return;
  }
  await db.query(
    `UPDATE portals SET status = 'uninstalled', access_token_enc = NULL, refresh_token_enc = NULL,
       token_expires_at = NULL, application_token_hash = NULL, token_version = token_version + 1, updated_at = now()
     WHERE id = $1`,
    [portalId],
  );
}

/**
 * Does a job hold this portal's lease now (src/jobs/lock.ts writes portal_locks)? Work started from
 * an HTTP request that would write to the portal (campaign steps "now") waits for it instead.
 */
export async function portalLeaseHeld(db: Db, portalId: number): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM portal_locks WHERE portal_id = $1 AND expires_at > now()`, [portalId]);
  return rows.length > 0;
}
