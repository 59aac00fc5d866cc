/**
 * What a non-admin may see, asked with the user's own token (portal-user.ts):
 *
 * Everything about single contacts — list pages, CSV, the contact tab — and the segment numbers
 * (count, shares, quality) cover only the contacts the portal's own CRM permissions let the user
 * see: the full set of visible IDs (crm.contact.list with the user's token, all pages in batches;
 * cached briefly) when the user sees at most VISIBLE_MAX contacts, else per checked page
 * (crm.contact.list {"@ID": ids}). Numbers over exactly the visible set are exact (the user may see
 * every contact in them). Aggregates that include contacts the user cannot see (portal-wide
 * counts, the dashboard, pick lists) are shown to non-admins only for groups of at least
 * MIN_GROUP contacts; smaller groups come back as null ("fewer than 10").
 *
 * The token travels as `X-B24-Auth` (from B24Frame) and must belong to the session's user.
 *
 * Companies (B2B, `entity` 'company') follow the same rules over the companies the portal lets the
 * user read (crm.company.list with the user's token: the portal's company permissions, e.g. own
 * records by ASSIGNED_BY_ID for a manager).
 */
import type { CustomerKind } from '../../store/index.js';
import type { ListRow } from './queries.js';
import { HttpError, type AReq, type Authed } from './http.js';
import type { PortalUserVerifier } from './portal-user.js';

export const MIN_GROUP = 10;
/** Non-admins who see at most this many contacts get numbers over exactly what they see. */
export const VISIBLE_MAX = 20_000;

/** A non-admin's view: the user's token and, when enumerable, every visible contact ID. */
export interface Visibility {
  token: string;
  set: ReadonlySet<number> | null;
  /** whose ids `set` holds (default contacts) */
  entity?: CustomerKind;
}

/** n, or null for a non-admin when the group is smaller than MIN_GROUP (only for aggregates that include contacts the user cannot see). */
export const suppress = (a: Authed, n: number): number | null => (a.session.a || n >= MIN_GROUP ? n : null);

export function visibilityOf(verifier: PortalUserVerifier) {
  /** The user's own token, checked to belong to the session's user. */
  const userToken = async (req: AReq, a: Authed): Promise<string> => {
    const t = req.get('x-b24-auth');
    if (!t) throw new HttpError(401, 'NO_USER_TOKEN', 'X-B24-Auth (the user\'s current access token) is required');
    const u = await verifier.verify(a.portal, t);
    if (u.userId !== a.session.u) throw new HttpError(401, 'TOKEN_USER_MISMATCH', 'the access token belongs to another user');
    return t;
  };

  /**
   * The user's token when the request carries one (admins too: their calls to the portal, e.g.
   * names and phones, are made with it), checked like userToken; null without one.
   */
  const tokenIfAny = async (req: AReq, a: Authed): Promise<string | null> => (req.get('x-b24-auth') ? userToken(req, a) : null);

  const visibility = async (req: AReq, a: Authed, entity: CustomerKind = 'contact'): Promise<Visibility> => {
    const token = await userToken(req, a);
    return { token, set: await verifier.visibleContactSet(a.portal, token, VISIBLE_MAX, entity), entity };
  };

  /** Keeps only rows the user may see (order kept). */
  const keepVisible = async (a: Authed, v: Visibility, rows: ListRow[]): Promise<ListRow[]> => {
    if (rows.length === 0) return rows;
    const ok = v.set ?? (await verifier.visibleContactIds(a.portal, v.token, rows.map((x) => x.id), v.entity ?? 'contact'));
    return rows.filter((x) => ok.has(x.id));
  };

  /** May the user see this one contact (or company)? */
  const canSee = async (req: AReq, a: Authed, id: number, entity: CustomerKind = 'contact'): Promise<boolean> => {
    const token = await userToken(req, a);
    return (await verifier.visibleContactIds(a.portal, token, [id], entity)).has(id);
  };

  return { userToken, tokenIfAny, visibility, keepVisible, canSee };
}
export type VisibilityHelpers = ReturnType<typeof visibilityOf>;
