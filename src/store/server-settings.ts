/**
 * What the app asks of its PostgreSQL server's settings, checked at start (src/main.ts logs each
 * warning): autovacuum on. The app ANALYZEs and VACUUMs the shared tables itself only after a large
 * scoring run (`sharedMaintenanceDue`, docs/storage.md); everything else, the statistics that plan
 * the counts and the triggers, and the dead rows every sync and write-back leaves, is autovacuum's.
 * PGlite has no autovacuum and needs none (one process, small tables, maintained after every run).
 */
import type { Db } from './db.js';

/** The settings autovacuum needs on (track_counts feeds it), in the order the warnings are given. */
const AUTOVACUUM_NEEDS = ['autovacuum', 'track_counts'];

export interface ServerWarning { setting: string; value: string; why: string }

export async function serverWarnings(db: Pick<Db, 'kind' | 'query'>): Promise<ServerWarning[]> {
  if (db.kind !== 'postgres') return [];
  const { rows } = await db.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])`, [AUTOVACUUM_NEEDS],
  );
  const v = new Map(rows.map((r) => [r.name, r.setting]));
  const out: ServerWarning[] = [];
  for (const name of AUTOVACUUM_NEEDS) {
    if (v.get(name) === 'off') {
      out.push({ setting: name, value: 'off', why: 'autovacuum keeps the statistics and removes dead rows of the tables all portals share; without it counts, syncs and write-backs slow down as the tables change (docs/deploy.md)' });
    }
  }
  return out;
}
