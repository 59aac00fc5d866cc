/** What every host page route shares: the portal, the open frame sessions, and small request helpers. */
import express, { type Request, type Response } from 'express';
import type { AppRec, UserRec } from '../model.js';
import type { Portal } from '../portal.js';

/** One rendered app frame: what the parent page answers for it. */
export interface FrameSession {
  appSid: string;
  clientId: string;
  userId: number;
  placement: string;
  placementOptions: Record<string, unknown>;
  install: boolean;
  createdAt: number;
}

export interface HostContext {
  portal: Portal;
  /** Frame sessions by APP_SID (the oldest dropped beyond 5000). */
  sessions: Map<string, FrameSession>;
}

export type AppWithFlag = AppRec & { uninstalled?: boolean };

/** JSON bodies of the host endpoints. */
export const hostJson = express.json({ limit: '256kb' });

/** The acting user: `?user=<id>`, default 1 (the admin); null when there is no such user. */
export function actingUser(portal: Portal, req: Request): UserRec | null {
  const q = req.query.user;
  const id = typeof q === 'string' && /^\d+$/.test(q) ? Number(q) : 1;
  return portal.users.get(id) ?? null;
}

/** Query suffix that keeps the acting user in links. */
export const uqOf = (u: UserRec): string => (u.id === 1 ? '' : `?user=${u.id}`);
export const hostOf = (portal: Portal, req: Request): string => req.get('host') ?? portal.domain;
export const protoOf = (req: Request): 0 | 1 => (req.protocol === 'https' ? 1 : 0);
/** A page opened inside a slider (IFRAME=Y): no portal chrome. */
export const bare = (req: Request): boolean => req.query.IFRAME === 'Y';

export function noUser(res: Response): void {
  res.status(404).type('html').send('<!doctype html><p>No such user on this portal. <a href="/">Home</a></p>');
}

/** An app that is on the portal and not uninstalled. */
export function liveApp(portal: Portal, clientId: string): AppWithFlag | null {
  const a = portal.apps.get(clientId) as AppWithFlag | undefined;
  return a && !a.uninstalled ? a : null;
}

/** The frame session named by the body's `appSid`; answers 404 and returns null when unknown. */
export function sessionOf(h: HostContext, req: Request, res: Response): FrameSession | null {
  const sid = (req.body as { appSid?: unknown } | undefined)?.appSid;
  const s = typeof sid === 'string' ? h.sessions.get(sid) : undefined;
  if (!s) {
    res.status(404).json({ error: 'APP_SID_NOT_FOUND', error_description: 'Unknown APP_SID' });
    return null;
  }
  return s;
}
