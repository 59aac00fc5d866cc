/** What the route factories share: their dependencies and the helpers about a request's portal. */
import { z } from 'zod';
import { latestScoreRun, runHasCompanies, type CustomerKind, type Db, type Portal } from '../../../store/index.js';
import { checkFilterBounds, savedFilters, searchKey, type CompileOptions, type SegmentFilter } from '../../../segments/index.js';
import { readSection } from '../../../settings/index.js';
import { channelOf, contactsByChannel } from '../channels.js';
import { checkCrmFields } from '../customer-fields.js';
import type { UiContext } from '../context.js';
import { HttpError, type AReq, type Authed } from '../http.js';
import type { PortalDirectory } from '../directory.js';
import type { PortalUserVerifier } from '../portal-user.js';
import type { VisibilityHelpers } from '../visibility.js';

export interface RouteDeps {
  ctx: UiContext;
  /** the context's db, every statement bounded by the UI API's statement timeout */
  db: Db;
  vis: VisibilityHelpers;
  /** users' tokens: verified, and a client per (portal, token) over the portal's limiter (verifier.asUser) */
  verifier: PortalUserVerifier;
  /** the portal's users and lead sources by name */
  dir: PortalDirectory;
}

/** The portal's saved segments by id (what `saved` conditions refer to). */
export const savedOf = (portal: Portal): Map<string, SegmentFilter> => savedFilters(readSection(portal.settings, 'savedSegments').value);

export const compileOpts = (a: Authed): CompileOptions => ({ saved: savedOf(a.portal) });

/** The filter's expansion is within the limits (src/segments/limits.ts); checked before any other work. */
export function bounded(a: Authed, filter: SegmentFilter): SegmentFilter {
  checkFilterBounds(filter, savedOf(a.portal));
  return filter;
}

/** The portal's latest score run; 409 NOT_SCORED before the first. */
export async function runOr404(db: Db, a: Authed) {
  const run = await latestScoreRun(db, a.portal.id);
  if (!run) throw new HttpError(409, 'NOT_SCORED', 'no scoring run yet: run the sync first');
  return run;
}

/**
 * Whose labels a request reads (B2B): `entity` "contact" (default) or "company"; anything else is a
 * 400 (parse). The UI's contacts/companies switch.
 */
export const entitySchema = z.enum(['contact', 'company']).default('contact');

/** The portal's latest score run, for companies only when it labelled them (409 NO_COMPANIES: B2B off). */
export async function runFor(db: Db, a: Authed, entity: CustomerKind) {
  const run = await runOr404(db, a);
  if (entity === 'contact') return run;
  if (!(await runHasCompanies(db, a.portal.id, run.id))) throw new HttpError(409, 'NO_COMPANIES', 'companies are not scored: turn on "B2B: score companies too" in the settings and run the sync');
  return run;
}

/**
 * Compile options of a request's filter for a kind of customer: contacts as optsFor; companies
 * with their `crm` conditions checked against the company fields, without the phone / e-mail
 * lookup (it finds contacts).
 */
export async function optsForEntity(deps: RouteDeps, req: AReq, a: Authed, filter: SegmentFilter, entity: CustomerKind): Promise<CompileOptions> {
  if (entity === 'company') {
    await checkFields(deps, req, a, filter, 'company');
    return { ...compileOpts(a), entity };
  }
  return optsFor(deps, req, a, filter);
}

/** The filter of every contact. */
export const ALL: SegmentFilter = { all: [] };

/** The search texts of a filter, exclusions included (saved segments hold none: src/segments/saved.ts). */
export function searchTexts(f: SegmentFilter, out = new Set<string>()): Set<string> {
  for (const c of [...f.all, ...(f.any ?? [])]) if (c.field === 'search') out.add(c.text);
  if (f.exclude) searchTexts(f.exclude, out);
  return out;
}

/**
 * The filter's `crm` conditions name fields of the portal (of its contacts, or of its companies
 * for `entity` 'company'), with operators of their types (customer-fields.ts; the portal's field
 * list read with the user's token): else 400.
 */
export async function checkFields(deps: RouteDeps, req: AReq, a: Authed, filter: SegmentFilter, entity: CustomerKind = 'contact'): Promise<void> {
  await checkCrmFields(deps.db, a.portal.id, filter, async () => {
    const token = await deps.vis.tokenIfAny(req, a).catch(() => null);
    const dir = await deps.dir.get(a.portal, token);
    const fields = entity === 'company' ? dir.companyFields : dir.fields;
    return dir.known && fields.length ? fields : null;
  }, entity);
}

/**
 * Compile options of a request's filter: the saved segments, and the contacts each search text
 * that is a phone or an e-mail finds, asked with the user's own token (so only contacts the user
 * may read). Without a token, or when the portal cannot be asked, a search matches names and IDs.
 */
export async function optsFor(deps: RouteDeps, req: AReq, a: Authed, filter: SegmentFilter): Promise<CompileOptions> {
  const opts = compileOpts(a);
  await checkFields(deps, req, a, filter);
  const texts = [...searchTexts(filter)].filter((t) => channelOf(t) !== null);
  if (!texts.length) return opts;
  const token = await deps.vis.tokenIfAny(req, a);
  if (!token) return opts;
  const client = deps.verifier.asUser(a.portal, token);
  const found = await Promise.all(texts.map((t) => contactsByChannel(client, t).catch((err: unknown) => {
    deps.ctx.log?.('warn', 'search by phone / e-mail failed', { portalId: a.portal.id, error: (err as Error).message });
    return [] as number[];
  })));
  return { ...opts, searchIds: new Map(texts.map((t, i) => [searchKey(t), found[i]!])) };
}
