/**
 * Portal settings: ONE schema for every setting (schema.ts), ONE reader (read.ts: stored JSON →
 * typed settings, lenient per section) and ONE writer (write.ts: validated patch → stored JSON).
 * Old stored shapes are migrated by the schema (migrate.ts).
 *
 *   schema.ts          all sections; the settings page's part
 *   segment-filter.ts  the segment filter AST (saved segments, filter requests)
 *   saved-segments.ts  a saved segment
 *   schedule.ts        {mode, hour, cron?} and the cron expression it runs on
 *   automation.ts      automation rules
 *   writeback.ts       write-back options
 *   effectiveness.ts   the effectiveness figures' margin percentage
 *   refusal.ts         where the reason of a lost deal is read from
 *   fields.ts          the app's CRM fields removed by the admin (write-back off until re-created)
 *   migrate.ts         old stored shapes → current
 */
export * from './schema.js';
export * from './read.js';
export * from './write.js';
export * from './segment-filter.js';
export * from './saved-segments.js';
export * from './schedule.js';
export * from './automation.js';
export * from './writeback.js';
export * from './effectiveness.js';
export * from './refusal.js';
export * from './fields.js';
export { rulesFromPageList } from './migrate.js';
