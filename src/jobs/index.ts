/** Jobs: queues, workers, per-portal lock and schedules. See ./workers.ts. */
export * from './workers.js';
export * from './lock.js';
export * from './depth.js';
export * from './orphans.js';
export * from './schedules.js';
export { processInbox } from '../events/process.js';
export { pollOfflineEvents } from '../events/offline.js';
export { rescoreContacts } from '../events/rescore.js';
export { evaluateAutomation, runPendingFirings, runAutomation, listFirings } from '../automation/engine.js';
