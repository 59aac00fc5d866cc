/**
 * A campaign member's won deals, per kind of customer (as the scoring counts purchases): a
 * contact's through the deals' contact links (deal_contacts), a company's by the deals' COMPANY_ID.
 * `m` is a campaign_members row; `$1` the portal id.
 */
import { dealDaySql } from '../store/index.js';
import type { CampaignEntity } from './schema.js';

/** The day of a deal `d`. */
export const dayOf = dealDaySql;

/** FROM … WHERE (no trailing condition) of the won deals `d` of the member `m`. */
export function memberWonDeals(entity: CampaignEntity): string {
  return entity === 'contact'
    ? `deal_contacts dc JOIN deals d ON d.portal_id = dc.portal_id AND d.id = dc.deal_id
        WHERE dc.portal_id = m.portal_id AND dc.contact_id = m.customer_id AND d.stage_semantic = 'S'`
    : `deals d WHERE d.portal_id = m.portal_id AND d.company_id = m.customer_id AND d.stage_semantic = 'S'`;
}

/** The CRM mirror of a kind: its table, and a customer's name in it (alias c). */
export const CUSTOMER_TABLE: Record<CampaignEntity, { table: string; name: string }> = {
  contact: { table: 'contacts', name: `trim(concat_ws(' ', c.name, c.last_name))` },
  company: { table: 'companies', name: `COALESCE(c.title, '')` },
};
