/**
 * The parent's side of a bench child's IPC (bench/lib/emulator-child.ts, portals-child.ts): a request
 * with an id, answered by `{type:'done', id, ...}`; and the child's portal clock as a MovableClock for
 * bench/lib/wait-clock.ts.
 */
import type { ChildProcess } from 'node:child_process';
import type { MovableClock } from './wait-clock.js';

let msgId = 0;
export function ask<T = Record<string, unknown>>(child: ChildProcess, m: Record<string, unknown>): Promise<T> {
  const id = ++msgId;
  return new Promise((resolve) => {
    const on = (r: { type: string; id?: number }) => { if (r.type === 'done' && r.id === id) { child.off('message', on); resolve(r as T); } };
    child.on('message', on);
    child.send({ ...m, id });
  });
}

/** The child's portal clock, estimated as Date.now() + delta and re-read after every move (`resync` after the parent moves it otherwise). */
export async function childClock(child: ChildProcess): Promise<MovableClock & { resync(): Promise<void> }> {
  const portalNow = async () => (await ask<{ now: number }>(child, { cmd: 'now' })).now;
  let delta = (await portalNow()) - Date.now();
  return {
    timeScale: 1,
    now: () => Date.now() + delta,
    advanceTo: async (due) => {
      const r = await ask<{ moved: number; now: number }>(child, { cmd: 'advanceTo', due });
      delta = r.now - Date.now();
      return r.moved;
    },
    resync: async () => { delta = (await portalNow()) - Date.now(); },
  };
}
