/**
 * Our CRM fields as the write-back code names them, derived from manifest/fields.json (the one
 * source of the field names): `F.<KEY>` is the manifest field UF_CRM_SEG_<KEY>, e.g.
 * F.P_ALIVE = 'UF_CRM_SEG_P_ALIVE'. The keys are the fields the code gives values to
 * (diff.ts desiredValues, saved-segment.ts); a key the manifest lacks fails at load, naming it.
 */
import { loadManifest, type FieldManifest } from '../../manifest/index.js';

/** The write-back's field names start with this; the rest of the name is the field's key in F. */
const PREFIX = 'UF_CRM_SEG_';

const KEYS = [
  'FREQUENCY', 'MONETARY', 'LAST_PURCHASE', 'R', 'F', 'M', 'RFM', 'SEGMENT', 'LIFECYCLE', 'SLEEPING', 'INTERESTS',
  'NEXT_PURCHASE', 'CLV', 'P_ALIVE', 'PREV_SEGMENT', 'CHANGED_AT',
  /** the 80 % predictive intervals of CLV and of purchase days over the horizon */
  'CLV_LOW', 'CLV_HIGH', 'PURCHASES_LOW', 'PURCHASES_HIGH',
  /** why a refused customer refused (an item per reason, code = refusalReasonKey: src/settings/refusal.ts) */
  'REFUSAL_REASON',
  /** the highest-priority saved segment: not set from the labels (null); write.ts fills it in or leaves it out (saved-segment.ts) */
  'SAVED',
  /** a sleeping repeat buyer's days since the last purchase minus their own cycle (diff.ts; tolerance like CLV) */
  'DAYS_OVERDUE',
  /** a campaign member's group (src/campaigns/write-group.ts): never written nor cleared by the label write-back */
  'CAMPAIGN_GROUP',
] as const;
export type FieldKey = (typeof KEYS)[number];

let fieldDefs: Map<string, FieldManifest> | undefined;
/** The manifest's fields by name. */
export function manifestFields(): Map<string, FieldManifest> {
  fieldDefs ??= new Map(loadManifest().fields.fields.map((f) => [f.name, f]));
  return fieldDefs;
}

function fieldNames(): Readonly<Record<FieldKey, string>> {
  const defs = manifestFields();
  const out = {} as Record<FieldKey, string>;
  for (const k of KEYS) {
    const name = `${PREFIX}${k}`;
    if (!defs.has(name)) throw new Error(`manifest/fields.json has no field ${name}, which the write-back writes`);
    out[k] = name;
  }
  return Object.freeze(out);
}

/** The manifest's field names by key (see the module comment). */
export const F = fieldNames();

/** The campaign group field, written by src/campaigns only. */
export const CAMPAIGN_GROUP_FIELD = F.CAMPAIGN_GROUP;
