/**
 * The request plumbing every UI API route shares: the authenticated request (set by auth.ts),
 * HttpError (a known answer), body parsing with zod, admin checks and the async handler wrapper.
 */
import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import type { Portal } from '../../store/index.js';
import { FILTER_TOO_LARGE } from '../../segments/index.js';
import type { UiLang } from './labels.js';
import type { UiSession } from './session.js';

export interface Authed {
  session: UiSession;
  portal: Portal;
  lang: UiLang;
}

export type AReq = Request & { ui?: Authed };

/** An answer the error handler sends as is: status, { error: code, message, ...extra }. */
export class HttpError extends Error {
  constructor(public status: number, public code: string, message: string, public extra?: Record<string, unknown>) {
    super(message);
  }
}

export function authed(req: AReq): Authed {
  if (!req.ui) throw new HttpError(401, 'NO_SESSION', 'no session');
  return req.ui;
}

export function requireAdmin(a: Authed): void {
  if (!a.session.a) throw new HttpError(403, 'ADMIN_ONLY', 'only a portal administrator can do this');
}

/** zod issues as one line, `path: message; ...` (`empty` names the root). */
export function issueText(e: z.ZodError, empty = ''): string {
  return e.issues.map((i) => `${i.path.join('.') || empty}: ${i.message}`).join('; ');
}

/** A zod issue as the UI maps it to a field and a translated text: the dotted path, the code and its numbers. */
export interface FieldIssue {
  path: string;
  code: string;
  message: string;
  minimum?: number;
  maximum?: number;
  expected?: string;
  /** what a size check was about: 'number', 'array', 'string' */
  origin?: string;
  /** a custom check's own key and numbers (e.g. {i18n: 'descending'}) */
  params?: Record<string, unknown>;
}

export function fieldIssues(e: z.ZodError, prefix: readonly (string | number)[] = []): FieldIssue[] {
  return e.issues.map((i) => {
    const x = i as { minimum?: unknown; maximum?: unknown; expected?: unknown; params?: unknown; origin?: unknown };
    return {
      path: [...prefix, ...i.path].map(String).join('.'), code: i.code, message: i.message,
      ...(typeof x.minimum === 'number' || typeof x.minimum === 'bigint' ? { minimum: Number(x.minimum) } : {}),
      ...(typeof x.maximum === 'number' || typeof x.maximum === 'bigint' ? { maximum: Number(x.maximum) } : {}),
      ...(typeof x.expected === 'string' ? { expected: x.expected } : {}),
      ...(typeof x.origin === 'string' ? { origin: x.origin } : {}),
      ...(x.params && typeof x.params === 'object' ? { params: x.params as Record<string, unknown> } : {}),
    };
  });
}

/** The request body by schema; 400 BAD_REQUEST (or FILTER_TOO_LARGE) otherwise. */
export function parse<T>(schema: z.ZodType<T>, v: unknown): T {
  const r = schema.safeParse(v);
  if (!r.success) {
    // a filter nested past MAX_FILTER_DEPTH is refused by the schema before it recurses
    const big = r.error.issues.find((i) => (i as { params?: { error?: unknown } }).params?.error === FILTER_TOO_LARGE);
    if (big) throw new HttpError(400, FILTER_TOO_LARGE, big.message);
    throw new HttpError(400, 'BAD_REQUEST', issueText(r.error, '(body)'));
  }
  return r.data;
}

/** An async handler: its resolved value is sent as JSON (unless it answered itself), its error goes to the error handler. */
export const wrap = (fn: (req: AReq, res: Response) => Promise<unknown>) => (req: Request, res: Response, next: NextFunction) => {
  fn(req as AReq, res).then((out) => {
    if (out !== undefined && !res.headersSent) res.json(out);
  }, next);
};
