/**
 * Workflow starts become uplift intervals: a `bizproc.workflow.start` on a contact
 * (`CONTACT_<id>`) boosts that customer, one on a company (`COMPANY_<id>`) boosts every live
 * customer of the company (its purchases are theirs). Starts are read once, in the order the
 * portal recorded them (`portal.liveStartsSeen` remembers how far).
 */
import type { LiveCustomerRec } from '../model.js';
import type { Portal } from '../portal.js';
import { addBoost } from './rate.js';

/** Turns the workflow starts recorded since the last call into uplift intervals; returns how many customers got one. */
export function ingestWorkflowStarts(portal: Portal): number {
  const starts = portal.workflowStarts;
  if (portal.liveStartsSeen >= starts.length) return 0;
  let byCompany: Map<number, LiveCustomerRec[]> | null = null;
  let boosted = 0;
  for (let i = portal.liveStartsSeen; i < starts.length; i++) {
    const ws = starts[i];
    const m = ws ? /^(CONTACT|COMPANY)_(\d+)$/.exec(ws.documentId[2]) : null;
    if (!ws || !m) continue;
    const id = Number(m[2]);
    if (m[1] === 'CONTACT') {
      const c = portal.liveCustomers.get(id);
      if (c) { addBoost(c, ws.at); boosted++; }
      continue;
    }
    byCompany ??= companyIndex(portal);
    for (const c of byCompany.get(id) ?? []) { addBoost(c, ws.at); boosted++; }
  }
  portal.liveStartsSeen = starts.length;
  return boosted;
}

function companyIndex(portal: Portal): Map<number, LiveCustomerRec[]> {
  const out = new Map<number, LiveCustomerRec[]>();
  for (const c of portal.liveCustomers.values()) {
    if (c.companyId === null) continue;
    const list = out.get(c.companyId);
    if (list) list.push(c);
    else out.set(c.companyId, [c]);
  }
  return out;
}
