/** Names and one-line meanings of the filter builder's fields, and a filter in words (the CSV's file name). */
import { t, type MsgKey } from '../i18n';
import type { Filter, Kind } from '../filterModel';
import { segName, state } from '../state';

export const KIND_LABEL: Record<Kind, MsgKey> = {
  segment: 'fSegment', lifecycle: 'fLifecycle', rfm: 'fRfm', r: 'fR', f: 'fF', m: 'fM', monetary: 'fMonetary', clv: 'fClv',
  p_alive: 'fPAlive', recency_days: 'fRecency', frequency: 'fFrequency', sleeping: 'fSleeping', interests: 'fInterests',
  last_purchase: 'fLastPurchase', source: 'fSource', responsible: 'fResponsible', city: 'fCity', uf: 'fUf', has_email: 'fHasEmail',
  has_phone: 'fHasPhone', reachable: 'fReachable', saved: 'fSaved', first_purchase_days: 'fFirstPurchaseDays',
  next_purchase_days: 'fNextPurchaseDays', prev_segment: 'fPrevSegment', contact: 'fContact', refusal_reason: 'fRefusalReason',
  age: 'fAge', post: 'fPost', created: 'fCreated', company_industry: 'fCompanyIndustry', company_size: 'fCompanySize',
  company_revenue: 'fCompanyRevenue', crm: 'fCrm',
};

export const KIND_HELP: Record<Kind, MsgKey> = {
  segment: 'hSegment', lifecycle: 'hLifecycle', rfm: 'hRfm', r: 'hR', f: 'hF', m: 'hM', monetary: 'hMonetary', clv: 'hClv',
  p_alive: 'hPAlive', recency_days: 'hRecency', frequency: 'hFrequency', sleeping: 'hSleeping', interests: 'hInterests',
  last_purchase: 'hLastPurchase', source: 'hSource', responsible: 'hResponsible', city: 'hCity', uf: 'hUf', has_email: 'hHasEmail',
  has_phone: 'hHasPhone', reachable: 'hReachable', saved: 'hSaved', first_purchase_days: 'hFirstPurchaseDays',
  next_purchase_days: 'hNextPurchaseDays', prev_segment: 'hPrevSegment', contact: 'hContact', refusal_reason: 'hRefusalReason',
  age: 'hAge', post: 'hPost', created: 'hCreated', company_industry: 'hCompanyIndustry', company_size: 'hCompanySize',
  company_revenue: 'hCompanyRevenue', crm: 'hCrm',
};

/** A short name of the filter in the user's language: "Champions, Loyal · Moscow · sleeping" (at most 80 characters). */
export function filterName(f: Filter): string {
  const parts: string[] = [];
  for (const c of f.all) {
    if (c.field === 'search') parts.push(String(c.text));
    else if (c.field === 'segment') parts.push((c.values as string[]).map((v) => segName(v)).join(', '));
    else if (c.field === 'city') parts.push((c.values as string[]).join(', '));
    else if (c.field === 'sleeping') parts.push(c.value ? t('sleepingWord') : t('notSleepingWord'));
    else if (c.field === 'interests') parts.push((c.values as string[]).map((v) => state.meta?.interestNames?.[v] ?? v).join(', '));
    else if (c.field === 'crm') parts.push(state.meta?.fields?.find((x) => x.key === c.key)?.title ?? String(c.key));
    else if (c.field === 'range' || c.field === 'saved') parts.push(t(KIND_LABEL[(c.field === 'saved' ? 'saved' : c.key) as Kind]));
    else if (KIND_LABEL[c.field as Kind]) parts.push(t(KIND_LABEL[c.field as Kind]));
  }
  const s = parts.filter(Boolean).join(' · ');
  return s.length > 80 ? `${s.slice(0, 79)}…` : s || t('allContacts');
}
