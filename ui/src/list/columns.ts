/** The columns of the contact list a user can show (and export), in the screen's order. */
import type { MsgKey } from '../i18n';

export interface ColumnDef {
  key: string;
  label: MsgKey;
  /** the server's sort column, when the list can be sorted by it */
  sort?: string;
  num?: boolean;
}

export const COLUMNS: ColumnDef[] = [
  { key: 'name', label: 'colName', sort: 'name' },
  { key: 'segment', label: 'colSegment', sort: 'segment' },
  { key: 'rfm', label: 'colRfm', sort: 'rfm' },
  { key: 'monetary', label: 'colRevenue', sort: 'monetary', num: true },
  { key: 'clv', label: 'colClv', sort: 'clv', num: true },
  { key: 'p_alive', label: 'colPAlive', sort: 'p_alive', num: true },
  { key: 'last_purchase', label: 'colLast', sort: 'last_purchase' },
  { key: 'lifecycle', label: 'colLifecycle' },
  { key: 'responsible', label: 'colResponsible' },
  { key: 'city', label: 'colCity', sort: 'city' },
  { key: 'phone', label: 'colPhone' },
  { key: 'email', label: 'colEmail' },
  { key: 'source', label: 'colSource' },
  { key: 'frequency', label: 'colFrequency', sort: 'frequency', num: true },
  { key: 'recency_days', label: 'colRecency', sort: 'recency_days', num: true },
  { key: 'next_purchase', label: 'colNext', sort: 'next_purchase' },
  { key: 'interests', label: 'colInterests' },
  { key: 'reach', label: 'colReach' },
];

export const DEFAULT_COLUMNS = ['name', 'segment', 'monetary', 'p_alive', 'last_purchase', 'responsible', 'phone', 'city'];

/** The known columns of a list, in the screen's order, always starting with the name. */
export function normalColumns(cols: readonly string[]): string[] {
  const want = new Set(cols.length ? cols : DEFAULT_COLUMNS);
  want.add('name');
  return COLUMNS.map((c) => c.key).filter((k) => want.has(k));
}
