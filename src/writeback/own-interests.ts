/**
 * The interests field is shared: the app writes the tags it computes from purchases, and a manager
 * may add tags of their own by hand (any item of the field's list, the app's or one they added).
 * The rule: **the app owns only the tags it wrote itself.** Each time the field is written, the
 * app's own tags are recorded beside the written value (written_values, key OWN_INTERESTS_KEY).
 * The next desired value is
 *     (what the CRM holds − the app's tags last written) ∪ the app's tags now
 * so a hand-set tag stays, and an app tag whose window has passed is removed. A manager's tag that
 * equals one the app computes is kept after the app stops computing it only if the app never wrote it.
 * The CRM's value is contacts.uf (read by sync, refreshed by CRM events and by our own writes),
 * else what we last wrote. An unchanged customer causes no write: the desired value then equals
 * what the CRM holds (its hand tags plus the same app tags).
 * Before the app tracked its tags (no key yet), everything it had written counts as its own.
 */
import type { SemValue, SemValues } from './diff.js';

/** written_values key holding the tags the app itself last wrote into the interests field */
export const OWN_INTERESTS_KEY = 'UF_CRM_SEG_INTERESTS:app';

const codes = (v: SemValue | undefined): string[] => (Array.isArray(v) ? v : v === null || v === undefined || v === '' ? [] : [String(v)]);

/** The tags the app owns on one contact (see the module comment). */
export function ownTags(written: SemValues | null | undefined, field: string): string[] {
  if (!written) return [];
  if (Object.prototype.hasOwnProperty.call(written, OWN_INTERESTS_KEY)) return codes(written[OWN_INTERESTS_KEY]);
  return codes(written[field]);
}

/** The field's desired value: the manager's tags (current − owned) plus the app's tags now; null when none. */
export function mergeInterests(appTags: SemValue, current: SemValue, owned: readonly string[]): string[] | null {
  const mine = new Set(owned);
  const out = new Set(codes(current).filter((t) => !mine.has(t)));
  for (const t of codes(appTags)) out.add(t);
  return out.size ? [...out].sort() : null;
}
