/**
 * Where a portal's CRM events (ONCRMDEAL*, ONCRMCONTACT*) go once the HTTP server has ACKed them:
 * the server (src/server/events.ts) hands each to a sink; the job workers (src/jobs) provide the
 * durable one, src/server/event-queue.ts an in-memory one. The port lives here, at the door to the
 * portal, so both sides name it without importing each other.
 */
export interface CrmEventSink {
  enqueueCrmEvent(portalId: number, event: string, id: number): void | Promise<void>;
}
