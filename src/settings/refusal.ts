/**
 * Where the reason of a lost deal is read from (settings.refusal), the reason that makes a customer
 * "refused" (src/scoring/lifecycle.ts) and that the app writes to UF_CRM_SEG_REFUSAL_REASON.
 * Bitrix24 has no standard "loss reason" field: a portal records it either as one of several lost
 * stages of a funnel (stage semantics F: "Deal lost", "Lost: price", "Lost: competitor"…), or in a
 * deal field its admin made. So:
 *
 *   source  'stages' (default): the lost stage of the deal is the reason. Each lost stage of each
 *           funnel maps to a reason (`stages`: STATUS_ID → reason); a stage not mapped gives its own
 *           name as the portal calls it (crm.status.list NAME).
 *           'field': a deal user field (`field`, UF_CRM_*, enumeration or string). Its values map to
 *           reasons (`values`: an enumeration item's ID, or the string as typed → reason); a value not
 *           mapped gives the item's name (enumeration) or the text itself (string). A lost deal with
 *           the field empty is lost without a reason.
 *
 *   settings.refusal = { source: 'stages', stages: { 'C1:UC_PRICE': 'Price' } }
 *   settings.refusal = { source: 'field', field: 'UF_CRM_LOST_WHY', values: { '45': 'Price', '46': 'Assortment' } }
 *
 * Reasons are compared case- and space-insensitively (refusalReasonKey): "Price" and " price " are
 * one reason, one item of the CRM field, one value of the filter.
 */
import { z } from 'zod';

/** At most this many mapped stages / values (a portal has a few dozen at most). */
export const MAX_REASON_MAP = 500;

const reasonText = z.string().trim().min(1).max(200);
const stageId = z.string().regex(/^[A-Za-z0-9_:-]{1,50}$/, 'must be a stage STATUS_ID such as LOSE or C1:UC_PRICE');
const valueKey = z.string().min(1).max(200);
const ufKey = z.string().regex(/^UF_CRM_[A-Z0-9_]{1,60}$/, 'must be a UF_CRM_* deal field');

const reasonMap = (key: z.ZodString) =>
  z.record(key, reasonText).default({}).refine((m) => Object.keys(m).length <= MAX_REASON_MAP, {
    message: `at most ${MAX_REASON_MAP} entries`, params: { origin: 'object', maximum: MAX_REASON_MAP },
  });

export const refusalSettingsSchema = z
  .object({
    source: z.enum(['stages', 'field']).default('stages'),
    stages: reasonMap(stageId),
    field: ufKey.nullable().default(null),
    values: reasonMap(valueKey),
  })
  .refine((s) => s.source !== 'field' || s.field !== null, { message: 'choose the deal field that holds the reason', path: ['field'] });

export type RefusalSettings = z.infer<typeof refusalSettingsSchema>;

/** The comparison key of a reason: trimmed, spaces collapsed, NFKC, lower case. */
export function refusalReasonKey(text: string): string {
  return text.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase().slice(0, 200);
}
