/**
 * The one path from "a member_id and a user's token" to a signed UI session, shared by the app
 * page (renderAppPage, AUTH_ID posted by Bitrix24) and the renewal endpoint (POST /api/ui/session,
 * the frame's current token): find the portal in the store, verify the token with THAT portal's
 * stored REST endpoint (profile + app.info, cached 60 s), sign a session for the token's own user.
 * Callers turn the outcome into their own answer (an HTML page or JSON).
 */
import type { Portal } from '../../store/index.js';
import { getPortalByMemberId } from '../../store/index.js';
import { uiLang, type UiLang } from './labels.js';
import type { PortalUser } from './portal-user.js';
import { verifierOf, type UiContext } from './context.js';
import { resolveSessionSecret, signSession } from './session.js';

export type OpenedSession =
  | { kind: 'not_installed' }
  | { kind: 'refused'; portal: Portal; error: unknown }
  | { kind: 'ok'; portal: Portal; user: PortalUser; lang: UiLang; session: string };

/** `lang`: the language asked for (LANG), else the portal's own. */
export async function openPortalSession(ctx: UiContext, memberId: string, authId: string, lang: string | null | undefined): Promise<OpenedSession> {
  const portal = await getPortalByMemberId(ctx.db, memberId);
  if (!portal || portal.status === 'uninstalled') return { kind: 'not_installed' };
  let user: PortalUser;
  try {
    user = await verifierOf(ctx).verify(portal, authId);
  } catch (error) {
    return { kind: 'refused', portal, error };
  }
  const l = uiLang(lang ?? portal.language);
  const secret = resolveSessionSecret(ctx.config.sessionSecret, ctx.config.production);
  const session = signSession(secret, { p: portal.id, m: portal.memberId, u: user.userId, a: user.isAdmin, l });
  return { kind: 'ok', portal, user, lang: l, session };
}
