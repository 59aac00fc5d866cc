/**
 * Step: when each simulated deal was created (won/lost deals a lead time before they close, open
 * deals at their event moment) and the order of creation, ties by event index: deal IDs grow with
 * time as on a real portal.
 */
import type { GenContext } from './context.js';
import { DAY, EV_OPEN } from './constants.js';

export function orderDeals(ctx: GenContext): void {
  const ev = ctx.events;
  const evCount = ev.count;
  const evCreate = new Float64Array(evCount);
  for (let e = 0; e < evCount; e++) {
    const t = ev.time[e] ?? 0;
    if (ev.kind[e] === EV_OPEN) { evCreate[e] = t; continue; }
    const lead = -Math.log(1 - (ev.lead[e] ?? 0) * 0.999) * (ev.funnel[e] ? 9 : 3) * DAY;
    evCreate[e] = Math.max(ctx.contacts.created[ev.contact[e] ?? 0] ?? ctx.start, t - lead);
  }
  ev.create = evCreate;
  ev.order = creationOrder(evCreate, ctx.start);
}

/** Event indexes sorted by creation moment (ties by index). */
function creationOrder(evCreate: Float64Array, start: number): Uint32Array {
  const evCount = evCreate.length;
  let order: Uint32Array;
  if (evCount < 2 ** 21) {
    // one numeric sort: second of creation in the high part, event index in the low 21 bits
    const keys = new Float64Array(evCount);
    for (let e = 0; e < evCount; e++) keys[e] = Math.floor(((evCreate[e] ?? 0) - start + 40 * DAY) / 1000) * 2 ** 21 + e;
    keys.sort();
    order = new Uint32Array(evCount);
    for (let e = 0; e < evCount; e++) order[e] = (keys[e] ?? 0) % 2 ** 21;
  } else {
    order = new Uint32Array(evCount);
    for (let e = 0; e < evCount; e++) order[e] = e;
    order.sort((a, b) => (evCreate[a] ?? 0) - (evCreate[b] ?? 0) || a - b);
  }
  return order;
}
