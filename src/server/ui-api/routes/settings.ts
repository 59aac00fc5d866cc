/**
 * The settings page (admins): GET /settings (its sections, read leniently), PUT /settings (the
 * page's whole object, validated by the one settings schema: 400 INVALID_SETTINGS), POST
 * /settings/preview (heavy: how segments would move under draft scoring settings). Turning the
 * segment field on queues a write-back now.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { updatePortalSettings } from '../../../store/index.js';
import { PAGE_SECTIONS, pageSettingsSchema, portalSettings, readSection, settingsPatch, type PageSettings } from '../../../settings/index.js';
import { authed, fieldIssues, HttpError, issueText, parse, requireAdmin, wrap } from '../http.js';
import { previewSettings } from '../preview.js';
import { currentBounds } from '../settings-info.js';
import type { RouteDeps } from './shared.js';

/** 400 INVALID_SETTINGS: the issues as one line (message) and per field (issues: dotted paths from the settings object). */
const invalid = (e: z.ZodError, prefix: readonly string[] = []) =>
  new HttpError(400, 'INVALID_SETTINGS', issueText(e), { issues: fieldIssues(e, prefix) });

export function settingsRoutes({ ctx, db }: RouteDeps): Router {
  const r = express.Router();

  r.get('/settings', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const all = portalSettings(a.portal.settings);
    const settings = Object.fromEntries(PAGE_SECTIONS.map((k) => [k, all[k]])) as PageSettings;
    return { settings, current: await currentBounds(db, a.portal.id), fields: readSection(a.portal.settings, 'fields').value };
  }));

  r.post('/settings/preview', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const body = parse(z.object({ scoring: z.unknown(), entity: z.enum(['contact', 'company']).default('contact') }), req.body);
    const draft = pageSettingsSchema.shape.scoring.safeParse(body.scoring);
    if (!draft.success) throw invalid(draft.error, ['scoring']);
    return previewSettings(db, a.portal.id, draft.data, body.entity);
  }));

  r.put('/settings', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const patch = settingsPatch(PAGE_SECTIONS, (req.body as { settings?: unknown } | undefined)?.settings);
    if (!patch.ok) throw invalid(patch.error);
    const wasOn = readSection(a.portal.settings, 'segmentField').value.enabled;
    await updatePortalSettings(db, a.portal.id, patch.stored);
    ctx.log?.('info', 'ui settings saved', { portalId: a.portal.id, userId: a.session.u });
    // the segment field just turned on: write it now rather than at the next cycle
    const writeBack = !wasOn && patch.settings.segmentField.enabled && !!ctx.writeBackNow;
    if (writeBack) ctx.writeBackNow!(a.portal.id).catch((err: unknown) => ctx.log?.('warn', 'write-back not queued', { portalId: a.portal.id, error: (err as Error).message }));
    return { settings: patch.settings, writeBack };
  }));

  return r;
}
