/**
 * 006: request counters of the HTTP rate limits (src/server/rate-limit.ts), shared by every app
 * process on one database. The table has the shape rate-limiter-flexible's PostgreSQL store
 * expects (key, points consumed, expiry in epoch ms); created here so the library never runs DDL.
 */
export const name = 'rate_limits';

export const sql = /* sql */ `
CREATE TABLE rate_limits (
  key     varchar(255) PRIMARY KEY,
  points  integer NOT NULL DEFAULT 0,
  expire  bigint
);
CREATE INDEX rate_limits_expire ON rate_limits (expire);
`;
