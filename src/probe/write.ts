/**
 * `--write`: one contact named "b24-segments probe <timestamp>" is created, read, updated and
 * deleted on the portal (and the same on the reference); answers are compared like the read-only
 * checks. The contact is deleted even when a step in between fails.
 */
import { fieldJsonTypes } from '../emulator/shape-rules.js';
import { compareError, compareRows, outcome, type Difference, type Row } from './compare.js';
import type { Answer } from './http.js';
import type { Probe } from './run.js';

const idOf = (a: Answer): number | null => (a.status === 200 && typeof a.body?.['result'] === 'number' ? (a.body['result'] as number) : null);

function resultType(check: string, ref: Answer, seen: Answer): Difference[] {
  const r = `${outcome(ref)} ${typeof ref.body?.['result']}`;
  const s = `${outcome(seen)} ${typeof seen.body?.['result']}`;
  return r === s ? [] : [{ check, path: 'result', expected: r, seen: s }];
}

export async function writeCycle(p: Probe, name: string): Promise<void> {
  const add = await p.both('crm.contact.add', { fields: { NAME: name, LAST_NAME: 'probe' } });
  p.record('write: crm.contact.add', resultType('write: crm.contact.add', add.ref, add.seen));
  const seenId = idOf(add.seen);
  const refId = idOf(add.ref);
  if (seenId === null || refId === null) return p.skip('write: cycle', `crm.contact.add answered ${outcome(add.seen)}`);
  let deleted = false;
  try {
    const get = await p.both('crm.contact.get', { id: seenId }, { id: refId });
    const rows = (a: Answer): Row[] => [(a.body?.['result'] ?? {}) as Row];
    p.record('write: crm.contact.get', compareRows('write: crm.contact.get', rows(get.ref), rows(get.seen), fieldJsonTypes('contact', 'legacy')));
    const upd = await p.both('crm.contact.update', { id: seenId, fields: { LAST_NAME: 'probe (updated)' } }, { id: refId, fields: { LAST_NAME: 'probe (updated)' } });
    p.record('write: crm.contact.update', resultType('write: crm.contact.update', upd.ref, upd.seen));
    const del = await p.both('crm.contact.delete', { id: seenId }, { id: refId });
    deleted = del.seen.status === 200;
    p.record('write: crm.contact.delete', resultType('write: crm.contact.delete', del.ref, del.seen));
    const gone = await p.both('crm.contact.get', { id: seenId }, { id: refId });
    p.record('write: crm.contact.get after delete', compareError('write: crm.contact.get after delete', gone.ref, gone.seen));
  } finally {
    if (!deleted) await p.both('crm.contact.delete', { id: seenId }, { id: refId }).catch(() => undefined);
  }
}
