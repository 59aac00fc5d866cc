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
});
