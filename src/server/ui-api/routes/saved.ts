/**
 * Saved segments and their CRM field:
 *   GET /saved, PUT /saved (admins: add or replace one; a name another one has is 409 NAME_TAKEN
 *   unless `replace`, compared in the user's language), DELETE /saved/:id (admins)
 *   GET / POST /saved-field/clear (admins): empty the saved-segment field on every contact
 * A change must keep every saved segment within the filter limits and free of cycles
 * (src/segments/saved.ts withSavedSegment). With the segment field on, a change queues a
 * write-back so the CRM field follows now rather than at the next cycle.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { updatePortalSettings, viewNameKey, type Portal } from '../../../store/index.js';
import { withSavedSegment } from '../../../segments/index.js';
import { readSection, savedSegmentSchema, settingsPatch, type SavedSegment } from '../../../settings/index.js';
import { authed, HttpError, parse, requireAdmin, wrap } from '../http.js';
import { checkFields, type RouteDeps } from './shared.js';

interface ClearStatus {
  running: boolean;
  cleared?: number;
  failed?: number;
  error?: string;
  at: string;
}

export function savedRoutes(deps: RouteDeps): Router {
  const { ctx, db } = deps;
  const r = express.Router();
  const savedList = (portal: Portal) => readSection(portal.settings, 'savedSegments').value;

  /** Stores the list (the settings writer) and says whether a write-back was queued. */
  const store = async (portal: Portal, list: SavedSegment[]) => {
    const patch = settingsPatch(['savedSegments'], { savedSegments: list });
    if (!patch.ok) throw patch.error;
    await updatePortalSettings(db, portal.id, patch.stored);
    return { saved: patch.settings.savedSegments, writeBack: savedChanged(portal) };
  };

  /**
   * Saved segments changed: with the segment field on, queue a write-back so the CRM field follows
   * now rather than at the next cycle (the write-back diffs, so only moved contacts are written).
   */
  function savedChanged(portal: Portal): boolean {
    if (!readSection(portal.settings, 'segmentField').value.enabled || !ctx.writeBackNow) return false;
    ctx.writeBackNow(portal.id).catch((err: unknown) => ctx.log?.('warn', 'write-back not queued', { portalId: portal.id, error: (err as Error).message }));
    return true;
  }

  r.get('/saved', wrap(async (req) => ({ saved: savedList(authed(req).portal) })));

  r.put('/saved', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const { replace, ...body } = parse(savedSegmentSchema.extend({ replace: z.boolean().default(false) }), req.body);
    await checkFields(deps, req, a, body.filter);
    const list = savedList(a.portal);
    // names are unique as compared in the user's language; another segment's name is replaced only when confirmed
    const key = viewNameKey(body.name, a.lang === 'ua' ? 'uk' : a.lang);
    const clash = list.find((s) => s.id !== body.id && viewNameKey(s.name, a.lang === 'ua' ? 'uk' : a.lang) === key);
    if (clash && !replace) throw new HttpError(409, 'NAME_TAKEN', `a saved segment named "${clash.name}" exists already`, { id: clash.id, name: clash.name });
    const seg = clash ? { ...body, id: clash.id } : body;
    return store(a.portal, withSavedSegment(list, seg));
  }));

  r.delete('/saved/:id', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    return store(a.portal, savedList(a.portal).filter((s) => s.id !== req.params.id));
  }));

  /**
   * POST /saved-field/clear (admins): empty the saved-segment field on every contact holding a
   * value, in the background. Only while the option is off (else the next write-back refills it):
   * 409. One clear per portal at a time: 409 while one runs. GET shows the last result.
   */
  const clearing = new Map<number, ClearStatus>();
  r.get('/saved-field/clear', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    return { status: clearing.get(a.portal.id) ?? null };
  }));
  r.post('/saved-field/clear', wrap(async (req, res) => {
    const a = authed(req);
    requireAdmin(a);
    if (!ctx.clearSavedField) throw new HttpError(501, 'NOT_AVAILABLE', 'clearing is not available in this server');
    if (readSection(a.portal.settings, 'segmentField').value.enabled) {
      throw new HttpError(409, 'FIELD_ENABLED', 'turn off "write the highest-priority saved segment to a contact field" and save first; otherwise the next write-back fills the field again');
    }
    if (clearing.get(a.portal.id)?.running) throw new HttpError(409, 'ALREADY_RUNNING', 'the field is being cleared already');
    const portalId = a.portal.id;
    clearing.set(portalId, { running: true, at: new Date().toISOString() });
    ctx.clearSavedField(portalId).then(
      (out) => clearing.set(portalId, { running: false, ...out, at: new Date().toISOString() }),
      (err: unknown) => {
        clearing.set(portalId, { running: false, error: (err as Error).message, at: new Date().toISOString() });
        ctx.log?.('warn', 'saved-segment field clear failed', { portalId, error: (err as Error).message });
      },
    );
    res.status(202);
    return { started: true };
  }));

  return r;
}
