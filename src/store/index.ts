/** Storage layer: import everything from here. */
export * from './db.js';
export * from './migrate.js';
export * from './crypto.js';
export * from './portals.js';
export * from './crm.js';
export * from './syncRuns.js';
export * from './ops-stats.js';
export * from './scores.js';
export * from './writeback-runs.js';
export * from './customer-kinds.js';
export { dealCostSql, dealDaySql, dealMarginSql } from './deal-margin.js';
export type { Timestamp } from './bulk.js';
export { migrations, type Migration } from './migrations/index.js';

import { openDb, type Db, type OpenDbOptions } from './db.js';
import { migrate } from './migrate.js';

/** openDb() + migrate(): what the app calls at startup. */
export async function openStore(opts: OpenDbOptions = {}): Promise<Db> {
  const db = await openDb(opts);
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
export * from './views.js';
export * from './data-quality.js';
export * from './server-settings.js';
