/**
 * Treatment or holdout: stable random per customer, seeded per campaign. A customer's draw is
 *   u = the first 52 bits of sha256(`${seed}:${entity}:${customerId}`) / 2^52   (uniform in [0, 1))
 * and the customer is in the holdout when u < holdoutShare. The same campaign always puts the same
 * customer in the same group; another campaign (another seed) draws again, independently.
 */
import { createHash, randomBytes } from 'node:crypto';

export type CampaignGroup = 'treatment' | 'holdout';

/** A new campaign's seed. */
export const newSeed = (): string => randomBytes(16).toString('hex');

/** The customer's uniform draw in [0, 1) (see the module comment). */
export function groupDraw(seed: string, entity: string, customerId: number): number {
  const h = createHash('sha256').update(`${seed}:${entity}:${customerId}`).digest('hex');
  return parseInt(h.slice(0, 13), 16) / 2 ** 52;
}

export function groupOf(seed: string, entity: string, customerId: number, holdoutShare: number): CampaignGroup {
  return groupDraw(seed, entity, customerId) < holdoutShare ? 'holdout' : 'treatment';
}

/** The campaign's code in the CRM field: C<id>. */
export const campaignCode = (campaignId: number): string => `C${campaignId}`;

/** The value of UF_CRM_SEG_CAMPAIGN_GROUP: "<code>:treatment" or "<code>:holdout". */
export const groupFieldValue = (campaignId: number, grp: CampaignGroup): string => `${campaignCode(campaignId)}:${grp}`;
