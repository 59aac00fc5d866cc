/**
 * "Remove the app's fields" (Settings, admins) and its way back.
 *
 * The portal keeps user fields of standard types when the app is uninstalled
 * (https://apidocs.bitrix24.com/api-reference/common/events/on-app-uninstall.html; ONAPPUNINSTALL
 * carries no token, so the app cannot delete them then), so an admin who wants the CRM clean
 * removes them from the Settings page first, while the app still has its tokens:
 *
 *  1. settings.fields.removed = true (src/settings/fields.ts) BEFORE anything is deleted: from now
 *     on the write-back does nothing (write.ts checks it at its start and before each field
 *     registration), so no cycle re-creates what is being removed;
 *  2. every field of ours is deleted on the portal (`crm.<entity>.userfield.delete`, the portal
 *     drops the field's values on every record): uninstallFields (fields.ts) with deleteFields;
 *  3. what our store held of those values (contacts.uf / companies.uf) is forgotten.
 *
 * `restoreAppFields` (the banner's "re-create the fields") and a reinstall clear the flag and
 * register the fields again (empty: the next write-back fills them).
 */
import type { B24Client } from '../b24/client.js';
import { loadManifest } from '../../manifest/index.js';
import type { Db } from '../store/db.js';
import { getPortal, updatePortalSettings } from '../store/portals.js';
import { readSection, settingsPatch, type FieldsState } from '../settings/index.js';
import { forgetFieldValues, registerFields, uninstallFields, type RegisterFieldsReport } from './fields.js';

/** A write-back run younger than this still 'running' counts as running (an older one crashed). */
const RUNNING_FOR_AT_MOST_HOURS = 6;

export async function fieldsRemoved(db: Db, portalId: number): Promise<boolean> {
  return readSection((await getPortal(db, portalId))?.settings, 'fields').value.removed;
}

async function storeFieldsState(db: Db, portalId: number, state: FieldsState): Promise<void> {
  const patch = settingsPatch(['fields'], { fields: state });
  if (!patch.ok) throw patch.error;
  await updatePortalSettings(db, portalId, patch.stored);
}

/** Is a write-back of this portal running now (it would re-create fields being removed)? */
export async function writeBackRunning(db: Db, portalId: number): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM writeback_runs
      WHERE portal_id = $1 AND status = 'running' AND started_at > now() - make_interval(hours => $2)`,
    [portalId, RUNNING_FOR_AT_MOST_HOURS],
  );
  return (rows[0]?.n ?? 0) > 0;
}

export interface RemoveFieldsResult {
  /** fields deleted on the portal ("UF_CRM_SEG_RFM", "company:UF_CRM_SEG_RFM") */
  deleted: string[];
  errors: string[];
}

/** Steps 1–3 of the module comment. */
export async function removeAppFields(client: B24Client, db: Db, portalId: number): Promise<RemoveFieldsResult> {
  await storeFieldsState(db, portalId, { removed: true, removedAt: new Date().toISOString() });
  const out = await uninstallFields(client, db, portalId, { deleteFields: true });
  const names = loadManifest().fields.fields.map((f) => f.name);
  for (const entity of ['contact', 'company'] as const) await forgetFieldValues(db, portalId, entity, names);
  // the campaign group field (UF_CRM_SEG_CAMPAIGN_GROUP) went with the others: its values are
  // written again (src/campaigns/write-group.ts) once the fields are re-created
  await db.query(`UPDATE campaign_members SET field_written = false WHERE portal_id = $1 AND field_written`, [portalId]);
  return out;
}

/** The write-back may write again (a reinstall, or "re-create the fields"). */
export async function markFieldsPresent(db: Db, portalId: number): Promise<void> {
  if (await fieldsRemoved(db, portalId)) await storeFieldsState(db, portalId, { removed: false, removedAt: null });
}

/** "Re-create the fields": every field of the manifest, every entity (as install does), then the write-back is on again. */
export async function restoreAppFields(client: B24Client, db: Db, portalId: number): Promise<RegisterFieldsReport> {
  const manifest = loadManifest();
  const r = await registerFields(client, db, portalId, { manifest, entities: manifest.fields.entities });
  await markFieldsPresent(db, portalId);
  return r;
}
