/**
 * Where the CDNOW data set is: `shared/data/cdnow` beside the repository (as on the developers'
 * machines and in CI), or `CDNOW_DIR`. Missing data fails the tests that need it: it is never skipped.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const CDNOW_DIR = process.env.CDNOW_DIR ?? resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'cdnow');

if (!existsSync(join(CDNOW_DIR, 'cdnow_sample_transactions.csv'))) {
  throw new Error(`CDNOW data not found in ${CDNOW_DIR}: put the workplace's shared/ beside the repository or set CDNOW_DIR`);
}
