import type { Db } from './db.js';

/**
 * The kinds of customer the app labels: contacts always, companies too with the B2B option
 * (issue 14). Every place that reads or writes labels picks its tables here by kind, so a new
 * kind (or a feature working over both, e.g. effectiveness per segment) names one table map.
 */
export const CUSTOMER_KINDS = ['contact', 'company'] as const;
export type CustomerKind = (typeof CUSTOMER_KINDS)[number];

export interface KindTables {
  /** the labels table of the kind (one row per customer per score run) */
  labels: 'contact_labels' | 'company_labels';
  /** its customer id column */
  id: 'contact_id' | 'company_id';
  /** the CRM mirror table */
  crm: 'contacts' | 'companies';
  /** the mirror shaped like a contact row (name, second_name, last_name, city, source_id, ...) for the filter compiler */
  customers: 'contacts' | 'company_customers';
  /** the legacy REST entity name (crm.<rest>.update) and the universal entityTypeId */
  rest: 'contact' | 'company';
  entityTypeId: 3 | 4;
}

export const KIND_TABLES: Readonly<Record<CustomerKind, KindTables>> = {
  contact: { labels: 'contact_labels', id: 'contact_id', crm: 'contacts', customers: 'contacts', rest: 'contact', entityTypeId: 3 },
  company: { labels: 'company_labels', id: 'company_id', crm: 'companies', customers: 'company_customers', rest: 'company', entityTypeId: 4 },
};

export const isCustomerKind = (v: unknown): v is CustomerKind => v === 'contact' || v === 'company';

/** Has the score run labelled companies (the B2B option was on when it ran)? */
export async function runHasCompanies(db: Db, portalId: number, runId: number): Promise<boolean> {
  const { rows } = await db.query<{ x: boolean }>(`SELECT EXISTS (SELECT 1 FROM company_labels WHERE portal_id = $1 AND run_id = $2) AS x`, [portalId, runId]);
  return rows[0]?.x === true;
}
