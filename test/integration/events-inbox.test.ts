/** The CRM event inbox: coalesced per object, latest action wins, a row touched while being processed survives the ack. */
import { expect, it } from 'vitest';
import { upsertPortalOnInstall } from '../../src/store/index.js';
import { ackInbox, addToInbox, inboxSize, parseCrmEvent, readInbox } from '../../src/events/inbox.js';
import { eachDb } from '../helpers/db.js';

it('parses the CRM events we process', () => {
  expect(parseCrmEvent('ONCRMDEALUPDATE')).toEqual({ entity: 'deal', action: 'upsert' });
  expect(parseCrmEvent('onCrmContactDelete')).toEqual({ entity: 'contact', action: 'delete' });
  expect(parseCrmEvent('ONCRMDEALMOVETOCATEGORY')).toBeNull();
});

eachDb('events inbox', (getDb, { kind }) => {
  it('coalesces, keeps the latest action, and acks only what was read', async () => {
    const db = getDb();
    const p = (await upsertPortalOnInstall(db, { memberId: `inbox-${kind}`, domain: 'i.example.com', status: 'active' })).id;
    for (let i = 0; i < 50; i++) await addToInbox(db, p, [{ entity: 'deal', id: 1 + (i % 5), action: 'upsert' }]);
    await addToInbox(db, p, [{ entity: 'deal', id: 5, action: 'delete' }, { entity: 'contact', id: 9, action: 'upsert' }]);
    const rows = await readInbox(db, p);
    expect(rows.length).toBe(6);
    expect(rows.reduce((s, r) => s + r.touches, 0)).toBe(52);
    expect(rows.find((r) => r.entity === 'deal' && r.id === 5)!.action).toBe('delete');
    // deal 2 changes again while the job works on the page it read
    await addToInbox(db, p, [{ entity: 'deal', id: 2, action: 'upsert' }], 'offline');
    expect(await ackInbox(db, p, rows)).toBe(5);
    const left = await readInbox(db, p);
    expect(left.map((r) => [r.entity, r.id])).toEqual([['deal', 2]]);
    expect(await inboxSize(db, p)).toBe(1);
  });

  // Two processes' sinks, the offline poller and the event job's ack write the same portal's rows
  // at once, each in its own order: without one lock order they deadlock (CI caught it in the
  // events storm). On PGlite (one connection) the calls take turns; the counts must hold there too.
  it('concurrent adds in different orders and an ack running beside them neither deadlock nor lose a row', async () => {
    const db = getDb();
    const p = (await upsertPortalOnInstall(db, { memberId: `inbox-race-${kind}`, domain: 'r.example.com', status: 'active' })).id;
    const ids = Array.from({ length: 3000 }, (_, i) => i + 1);
    const shuffled = (seed: number) => {
      const a = [...ids];
      let s = seed;
      for (let i = a.length - 1; i > 0; i--) {
        s = (s * 1664525 + 1013904223) >>> 0;
        const j = s % (i + 1);
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a.map((id) => ({ entity: 'deal' as const, id, action: 'upsert' as const }));
    };
    const adds = (round: number) => [1, 2, 3, 4].map((k) => addToInbox(db, p, shuffled(round * 10 + k)));
    const first = await Promise.allSettled(adds(1));
    expect(first.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    const rows = await readInbox(db, p, 10_000);
    expect(rows.length).toBe(3000);
    expect(rows.every((r) => r.touches === 4)).toBe(true);
    // the ack of what was read runs while every row is touched again
    const second = await Promise.allSettled([ackInbox(db, p, [...rows].reverse()), ...adds(2)]);
    expect(second.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    const acked = (second[0] as PromiseFulfilledResult<number>).value;
    // the ack deletes a row only before the first of the four new touches (touches still 4), and the
    // four then insert it anew (4); a row touched first stays with 8. All 3,000 are there.
    const left = await readInbox(db, p, 10_000);
    expect(left.length).toBe(3000);
    expect(left.filter((r) => r.touches === 4).length).toBe(acked);
    expect(left.filter((r) => r.touches === 8).length).toBe(3000 - acked);
  });
});
