/**
 * UF_CRM_SEG_CAMPAIGN_GROUP on each member: "<campaign code>:treatment" or ":holdout" (group.ts),
 * so a native Bitrix24 mailing or CRM filter can target exactly one group ("C12:treatment").
 * A string field holding the customer's LATEST campaign: a customer in two campaigns holds the
 * newer one's group (members are written in campaign order, so the newer write lands last).
 * The label write-back never writes nor clears this field (src/writeback/write.ts leaves it out).
 * Setting the same value twice is harmless, so these writes go in batches (the client may repeat one).
 */
import type { B24Client } from '../b24/client.js';
import type { BatchCommand } from '../b24/batch-encoding.js';
import type { Db } from '../store/index.js';
import { registerFields } from '../writeback/fields.js';
import { CAMPAIGN_GROUP_FIELD } from '../writeback/manifest-fields.js';
import { fieldsRemoved } from '../writeback/remove-fields.js';
import { groupFieldValue, type CampaignGroup } from './group.js';
import type { CampaignEntity } from './schema.js';

export { CAMPAIGN_GROUP_FIELD };

export interface GroupFieldResult {
  written: number;
  failed: number;
  errors: string[];
}

interface Pending {
  campaignId: number;
  customerId: number;
  grp: CampaignGroup;
  entity: CampaignEntity;
}

/** Writes the group of every member not written yet (at most `max`), in campaign order. */
export async function writeGroupFields(db: Db, client: B24Client, portalId: number, max = 5000): Promise<GroupFieldResult> {
  const out: GroupFieldResult = { written: 0, failed: 0, errors: [] };
  // the admin removed the app's fields (Settings): nothing is created or written until they are re-created
  if (await fieldsRemoved(db, portalId)) return out;
  const { rows } = await db.query<Pending>(
    `SELECT m.campaign_id AS "campaignId", m.customer_id AS "customerId", m.grp, c.entity
       FROM campaign_members m JOIN campaigns c ON c.portal_id = m.portal_id AND c.id = m.campaign_id
      WHERE m.portal_id = $1 AND NOT m.field_written ORDER BY m.campaign_id, m.customer_id LIMIT $2`,
    [portalId, max],
  );
  if (!rows.length) return out;
  const entities = [...new Set(rows.map((r) => r.entity))];
  const reg = await registerFields(client, db, portalId, { entities });
  if (reg.errors.length) out.errors.push(...reg.errors.slice(0, 5));
  for (let i = 0; i < rows.length; i += 50) {
    const part = rows.slice(i, i + 50);
    const cmds: Record<string, BatchCommand> = {};
    part.forEach((r, k) => {
      cmds[String(k)] = [`crm.${r.entity}.update`, { id: r.customerId, fields: { [CAMPAIGN_GROUP_FIELD]: groupFieldValue(Number(r.campaignId), r.grp) }, params: { REGISTER_SONET_EVENT: 'N' } }];
    });
    const res = await client.batch(cmds);
    const ok = part.filter((_, k) => !res.errors[String(k)]);
    for (const [k, e] of Object.entries(res.errors)) if (out.errors.length < 20) out.errors.push(`${part[Number(k)]!.entity} ${part[Number(k)]!.customerId}: ${e.message}`);
    out.failed += part.length - ok.length;
    // a failed write (e.g. the customer was deleted) is not retried forever: marked like a written one
    await db.query(
      `UPDATE campaign_members SET field_written = true
        WHERE portal_id = $1 AND (campaign_id, customer_id) IN (SELECT * FROM unnest($2::bigint[], $3::bigint[]))`,
      [portalId, part.map((r) => r.campaignId), part.map((r) => r.customerId)],
    );
    out.written += ok.length;
  }
  return out;
}
