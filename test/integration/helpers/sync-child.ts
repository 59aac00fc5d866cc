/**
 * Child process of the crash-resume test: one runSync of a portal over the emulator's
 * webhook into a PostgreSQL database. argv: <databaseUrl> <portalId> <webhookUrl> <timeScale>.
 * Prints the summary as one JSON line. The test SIGKILLs it mid-run.
 */
import { B24Client } from '../../../src/b24/client.js';
import { WebhookTokenSource } from '../../../src/b24/auth.js';
import { openDb } from '../../../src/store/db.js';
import { runSync } from '../../../src/sync/index.js';

const [databaseUrl, portalId, webhookUrl, timeScale] = process.argv.slice(2);
const db = await openDb({ databaseUrl: databaseUrl!, poolMax: 3 });
const client = new B24Client({ tokens: new WebhookTokenSource(webhookUrl!), limiter: { plan: 'standard', timeScale: Number(timeScale) }, retryBaseMs: 20 });
try {
  const s = await runSync({ db, portalId: Number(portalId), client }, { kind: 'full', productRowBlock: 1000 });
  process.stdout.write(`${JSON.stringify({ runId: s.runId, resumed: s.resumed, requests: s.requests, calls: s.calls, counts: s.counts, totals: s.totals })}\n`);
} finally {
  await db.close();
}
