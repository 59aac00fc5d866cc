/**
 * The data-quality panel's answer (docs/data-quality.md) from what the latest score run stored
 * (src/pipeline/data-quality.ts; read through a schema: stored JSON is input too), with the links
 * into the CRM:
 *  - `records`: the card of each sampled record, `/crm/<deal|contact|company>/details/<id>/`, a
 *    path BX24.openPath documents (https://apidocs.bitrix24.com/sdk/bx24-js-sdk/additional-functions/bx24-open-path.html).
 *    Admins only: a manager's CRM role may not let them read those records.
 *  - `list`: the CRM list with the grid filter that selects the same records as the count, only
 *    where such a filter exists (zero-amount won deals: STAGE_SEMANTIC_ID=S & OPPORTUNITY=0; deals
 *    without a rate: CURRENCY_ID in the currencies without a rate). The list page takes its filter
 *    from the URL (apply_filter=Y and the field names), a convention of the portal's list pages that
 *    the REST docs do not describe; `filter` says what it selects. The other checks (no customer,
 *    duplicates, revenue without a customer) have no list filter that selects exactly their
 *    records, so they get none rather than a wider one.
 */
import { z } from 'zod';

const check = z.object({
  key: z.enum(['zeroWon', 'noCustomer', 'noRate', 'duplicates', 'unlinkedRevenue']),
  records: z.enum(['deal', 'contact', 'company']),
  count: z.number().int().min(0),
  sample: z.array(z.number().int()).max(100),
  moved: z.number().int().min(0),
  groups: z.number().int().min(0).optional(),
  currencies: z.array(z.string().max(10)).max(200).optional(),
  share: z.number().min(0).max(1).nullable().optional(),
});

export const storedDataQuality = z.object({
  kind: z.enum(['contact', 'company']),
  customers: z.number().int().min(0),
  warnShare: z.number().min(0).max(1),
  checks: z.array(check).max(10),
});

type Stored = z.infer<typeof storedDataQuality>;
type Check = z.infer<typeof check>;

const listUrl = (entity: string, filter: Record<string, string | string[]>): string => {
  const q = new URLSearchParams({ apply_filter: 'Y' });
  for (const [k, v] of Object.entries(filter)) for (const x of Array.isArray(v) ? v : [v]) q.append(Array.isArray(v) ? `${k}[]` : k, x);
  return `/crm/${entity}/list/?${q.toString()}`;
};

/** The list filter selecting exactly the check's records, when there is one. */
function listOf(c: Check): { path: string; filter: Record<string, string | string[]> } | null {
  if (c.count === 0) return null;
  if (c.key === 'zeroWon') {
    const filter = { STAGE_SEMANTIC_ID: 'S', OPPORTUNITY: '0' };
    return { path: listUrl('deal', filter), filter };
  }
  if (c.key === 'noRate' && c.currencies?.length) {
    const filter = { CURRENCY_ID: c.currencies };
    return { path: listUrl('deal', filter), filter };
  }
  return null;
}

export function dataQualityView(d: Stored, admin: boolean) {
  const checks = d.checks.map((c) => {
    const movedShare = d.customers ? c.moved / d.customers : 0;
    return {
      key: c.key, records: c.records, count: c.count, moved: c.moved, movedShare, warn: movedShare > d.warnShare,
      ...(c.groups !== undefined ? { groups: c.groups } : {}),
      ...(c.currencies !== undefined ? { currencies: c.currencies } : {}),
      ...(c.share !== undefined ? { share: c.share } : {}),
      list: listOf(c),
      links: admin ? c.sample.map((id) => ({ id, path: `/crm/${c.records}/details/${id}/` })) : null,
    };
  });
  return {
    entity: d.kind, customers: d.customers, warnShare: d.warnShare,
    warnings: checks.filter((c) => c.warn).map((c) => c.key),
    checks,
  };
}
