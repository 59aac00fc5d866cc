/**
 * How the Bitrix24 REST list methods encode values, and how the app reads them: the legacy
 * methods (crm.contact.list, crm.deal.list, crm.product.list…) send numbers and IDs as strings,
 * booleans as 'Y'/'N' (user fields of type boolean as '1'/'0'), and '' or null for an empty
 * value; crm.item.* sends typed values (numbers, 'Y'/'N'). User fields are the `UF_` keys of a row.
 * Used by the field tables of the CRM mirror (src/store/crm-fields.ts).
 */

type Row = Record<string, unknown>;

/** Text, or null for null / undefined / ''. */
export const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));

/** Integer (truncated), or null for empty or non-numeric values. */
export const int = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : null;
};

/** Number, or null for empty or non-numeric values. */
export const numOrNull = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

/** 'Y' / '1' / true (any case of y) → true; anything else, empty included → false. */
export const yn = (v: unknown): boolean => v === true || v === 'Y' || v === 'y' || v === 1 || v === '1';

/** The user-field values of a row: its `UF_` keys, as sent. */
export function ufOf(r: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (k.startsWith('UF_')) out[k] = v;
  return out;
}

/**
 * The values of one multi-field type (PHONE, EMAIL) of a row, normalised for comparison: e-mails
 * trimmed and lower-cased, phones as their digits only (a '+', spaces, brackets and dashes do not
 * make two numbers different); empty ones left out, each value once. The legacy list methods send
 * a multi-field as `[{ID, VALUE_TYPE, VALUE, TYPE_ID}]` (crm-contact-fields.md, crm_multifield).
 */
export function channelValues(v: unknown, kind: 'EMAIL' | 'PHONE'): string[] {
  if (!Array.isArray(v)) return [];
  const out = new Set<string>();
  for (const m of v) {
    const raw = m && typeof m === 'object' ? (m as Row).VALUE : null;
    if (typeof raw !== 'string') continue;
    const n = kind === 'EMAIL' ? raw.trim().toLowerCase() : raw.replace(/\D+/g, '');
    if (n) out.add(n);
  }
  return [...out];
}
