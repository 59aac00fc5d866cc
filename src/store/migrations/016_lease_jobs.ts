/**
 * 016: process roles and failover (issue 16 items 1-2).
 *  - portal_locks.job_id: the pg-boss job the lease was taken for. A worker killed with SIGKILL
 *    leaves its job 'active' in pg-boss until the job's expiry (hours); the workers' orphan sweep
 *    (src/jobs/orphans.ts) hands such a job back as soon as no live lease names it, instead.
 */
export const name = 'lease_jobs';

export const sql = /* sql */ `
ALTER TABLE portal_locks ADD COLUMN job_id text;
`;
