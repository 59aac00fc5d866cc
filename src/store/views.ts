/**
 * Saved views of the segment list (migration 007): per portal and user, personal or shared. Every
 * function takes the portal id (and the acting user) from the caller's session: a view is only
 * ever read, changed or deleted within its own portal, and a personal view only by its owner.
 */
import type { Db } from './db.js';

export interface UiView {
  id: number;
  userId: number;
  shared: boolean;
  name: string;
  /** {filter, sort, dir, columns} as the UI API validated it */
  view: Record<string, unknown>;
  updatedAt: Date;
}

const COLS = `id, user_id AS "userId", shared, name, view, updated_at AS "updatedAt"`;

const row = (r: UiView): UiView => ({ ...r, id: Number(r.id), userId: Number(r.userId) });

/** The name as compared for uniqueness: NFKC, trimmed, spaces collapsed, lower-cased with the language's rules. */
export function viewNameKey(name: string, locale: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLocaleLowerCase(locale);
}

/** The user's own views and every shared one of the portal, shared first, then by name. */
export async function listViews(db: Db, portalId: number, userId: number): Promise<UiView[]> {
  const { rows } = await db.query<UiView>(
    `SELECT ${COLS} FROM ui_views WHERE portal_id = $1 AND (user_id = $2 OR shared) ORDER BY shared DESC, name_key, id`,
    [portalId, userId],
  );
  return rows.map(row);
}

/** A view the user may see (own or shared), or null. */
export async function getView(db: Db, portalId: number, userId: number, id: number): Promise<UiView | null> {
  const { rows } = await db.query<UiView>(
    `SELECT ${COLS} FROM ui_views WHERE portal_id = $1 AND id = $2 AND (user_id = $3 OR shared)`,
    [portalId, id, userId],
  );
  return rows[0] ? row(rows[0]) : null;
}

/**
 * The view whose name clashes with `nameKey` for this owner: one of the owner's own views, or (for
 * a shared view) any shared view of the portal. `exceptId` is the view being renamed.
 */
export async function viewNamed(db: Db, portalId: number, userId: number, nameKey: string, shared: boolean, exceptId?: number): Promise<UiView | null> {
  const { rows } = await db.query<UiView>(
    `SELECT ${COLS} FROM ui_views WHERE portal_id = $1 AND name_key = $3 AND (user_id = $2 OR ($4 AND shared)) AND id <> $5
      ORDER BY (user_id = $2) DESC LIMIT 1`,
    [portalId, userId, nameKey, shared, exceptId ?? -1],
  );
  return rows[0] ? row(rows[0]) : null;
}

/** How many views the user owns, and how many the portal shares. */
export async function countViews(db: Db, portalId: number, userId: number): Promise<{ own: number; shared: number }> {
  const { rows } = await db.query<{ own: number; shared: number }>(
    `SELECT count(*) FILTER (WHERE user_id = $2)::int AS own, count(*) FILTER (WHERE shared)::int AS shared FROM ui_views WHERE portal_id = $1`,
    [portalId, userId],
  );
  return rows[0] ?? { own: 0, shared: 0 };
}

export async function insertView(
  db: Db, portalId: number, userId: number, v: { name: string; nameKey: string; shared: boolean; view: object },
): Promise<UiView> {
  const { rows } = await db.query<UiView>(
    `INSERT INTO ui_views (portal_id, user_id, shared, name, name_key, view) VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING ${COLS}`,
    [portalId, userId, v.shared, v.name, v.nameKey, JSON.stringify(v.view)],
  );
  return row(rows[0]!);
}

/** Replaces a view's name, sharing and content; only its owner's (or, `admin`, any shared one). null when none matched. */
export async function updateView(
  db: Db, portalId: number, userId: number, admin: boolean, id: number, v: { name: string; nameKey: string; shared: boolean; view: object },
): Promise<UiView | null> {
  const { rows } = await db.query<UiView>(
    `UPDATE ui_views SET shared = $5, name = $6, name_key = $7, view = $8::jsonb, updated_at = now()
      WHERE portal_id = $1 AND id = $2 AND (user_id = $3 OR ($4 AND shared)) RETURNING ${COLS}`,
    [portalId, id, userId, admin, v.shared, v.name, v.nameKey, JSON.stringify(v.view)],
  );
  return rows[0] ? row(rows[0]) : null;
}

/** Deletes the owner's view (or, `admin`, any shared one); false when none matched. */
export async function deleteView(db: Db, portalId: number, userId: number, admin: boolean, id: number): Promise<boolean> {
  const r = await db.query(`DELETE FROM ui_views WHERE portal_id = $1 AND id = $2 AND (user_id = $3 OR ($4 AND shared))`, [portalId, id, userId, admin]);
  return r.rowCount > 0;
}
